"""Failures end in one line that names the stage, the file and what to do; bad dataset rows are counted by reason
in a table."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import yaml

from compress_distill.stages import problems
from conftest import BAD_ROWS, REDUCED, ROOT, copy_workflow, snakemake

FULL_DISK = """
import os, sys
from types import SimpleNamespace
from compress_distill.infra import io
from compress_distill.infra import jobstart
smk = SimpleNamespace(log=[sys.argv[1] + "/tables.log"], resources={}, threads=1)
jobstart.start(smk, "tables")
out = sys.argv[1] + "/main_grid.json"
os.symlink("/dev/full", sys.argv[1] + f"/.main_grid.json.tmp{os.getpid()}")  # the disk fills under this write
io.write_json(out, {"rows": list(range(100000))})
"""


def test_a_full_disk_is_one_line_naming_the_file(tmp_path):
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        f"tables failed: no space left on the device writing {tmp_path}/main_grid.json; free space there and rerun "
        f"snakemake (finished jobs are kept, resumable ones resume) (log: {tmp_path}/tables.log)"]
    assert not (tmp_path / "main_grid.json").exists()


def _dataset_workflow(tmp_path, rows):
    cwd = copy_workflow(tmp_path / "wf")
    (cwd / "pool.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = yaml.safe_load((ROOT / REDUCED).read_text())
    cfg["run"] = "rows"
    cfg["problems"]["pool"] = {"kind": "jsonl", "path": "pool.jsonl", "verifier": "numeric", "max_question_chars": 100}
    (cwd / "rows.yaml").write_text(yaml.safe_dump(cfg))
    return cwd


def test_each_dropped_dataset_row_is_counted_by_reason_in_a_table(tmp_path):
    good = [{"question": f"Compute {a} + {b}.", "answer": str(a + b)} for a in range(10, 20) for b in range(10, 14)]
    cwd = _dataset_workflow(tmp_path, [row for row, _ in BAD_ROWS] + good)
    snakemake(cwd, "--configfile", "rows.yaml", "--cores", "1", "results/rows/tables/dataset_rows.csv")
    table = pd.read_csv(cwd / "results/rows/tables/dataset_rows.csv").set_index("source")
    pool = table.loc["pool"]
    for reason in problems.DROP_REASONS:
        assert pool[f"dropped_{reason}"] == sum(why == reason for _, why in BAD_ROWS), reason
    assert pool["rows"] == len(BAD_ROWS) + len(good) == pool["usable"] + sum(
        pool[f"dropped_{r}"] for r in problems.DROP_REASONS)


def test_an_unusable_dataset_stops_its_stage_in_one_line(tmp_path):
    cwd = _dataset_workflow(tmp_path, [{"problem": "Compute 1 + 1.", "answer": "2"}] * 3)
    proc = snakemake(cwd, "--configfile", "rows.yaml", "--cores", "1", "results/rows/problems/summary.json",
                     check=False)
    assert proc.returncode != 0
    assert ("problems failed: ValueError: problems: none of the 3 rows of pool.jsonl (config key 'problems.pool') "
            "is usable; most were dropped as 'missing_field' (3)") in proc.stderr
