"""The single-GPU preset's problems through the real hub-loading code (``datasets.load_dataset``), pointed at a local
dataset in the hub's layout (a README with ``configs``, Parquet files per split) that the test writes: the GSM8K
fields, the ``#### answer`` pattern, and a row it cannot use, counted."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import yaml

from conftest import ROOT, copy_workflow, snakemake, write_hub_dataset


def gsm8k_like(folder, n_train: int, n_test: int) -> None:
    rows = [{"question": f"Tom has {i} apples and buys {i + 2} more. How many apples does he have now?",
             "answer": f"He has {i} + {i + 2} = {2 * i + 2}.\n#### {2 * i + 2}"} for i in range(n_train + n_test)]
    rows[0]["answer"] = "no final answer line"  # dropped: the answer pattern does not match
    write_hub_dataset(folder, rows[:n_train], rows[n_train:], "A GSM8K-shaped dataset written by the test.")


def test_single_gpu_problems_load_a_hub_layout_dataset(tmp_path):
    cwd = copy_workflow(tmp_path / "wf")
    gsm8k_like(tmp_path / "gsm8k", 24, 6)
    cfg = yaml.safe_load((ROOT / "presets/single-gpu.yaml").read_text())
    cfg["problems"]["pool"]["path"] = str(tmp_path / "gsm8k")
    cfg["problems"]["benchmarks"]["gsm8k"]["path"] = str(tmp_path / "gsm8k")
    cfg["problems"]["decontamination"] = {"ngram": None}  # one sentence template: every pair shares 8-grams
    (cwd / "local.yaml").write_text(yaml.safe_dump(cfg))
    run = cwd / "results" / cfg["run"]
    # every job of the preset that needs no GPU: the problems and their row counts
    targets = [str((run / p).relative_to(cwd)) for p in ("problems/summary.json", "tables/dataset_rows.csv")]
    cache = {"HF_DATASETS_CACHE": str(tmp_path / "cache")}
    snakemake(cwd, "--configfile", "local.yaml", "--cores", "1", *targets, env=cache)
    summary = json.loads((run / "problems/summary.json").read_text())
    assert summary["rows"]["pool"]["rows"] == 24 and summary["rows"]["pool"]["answer_pattern_mismatch"] == 1
    assert summary["rows"]["pool"]["used"] == 23 and summary["rows"]["gsm8k"]["used"] == 6
    bench = [json.loads(line) for line in (run / "problems/benchmarks/gsm8k.jsonl").read_text().splitlines()]
    assert [b["answer"] for b in bench] == [str(2 * i + 2) for i in range(24, 30)]
    shards = sorted((run / "problems/shards").glob("*.jsonl"))
    assert len(shards) == cfg["problems"]["shards"]
    assert sum(len(s.read_text().splitlines()) for s in shards) == 23
    rows = pd.read_csv(run / "tables/dataset_rows.csv").set_index("source")
    assert rows.loc["pool", "dropped_answer_pattern_mismatch"] == 1

    # the folder is an input by content, and is read afresh (the datasets cache keys it by path)
    shutil.rmtree(tmp_path / "gsm8k")
    gsm8k_like(tmp_path / "gsm8k", 30, 6)
    snakemake(cwd, "--configfile", "local.yaml", "--cores", "1", *targets, env=cache)
    assert json.loads((run / "problems/summary.json").read_text())["rows"]["pool"]["rows"] == 30
