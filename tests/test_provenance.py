"""The record of each output travels with it (compress_distill.infra.provenance): results copied without Snakemake's
metadata plan exactly what the original plans after the same change; a model copied in from another run and a file
whose sidecar was deleted are rebuilt, to a clean run's manifest; `why` names what changed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from compress_distill.infra import ledger
from compress_distill.planning.why import params_changes
from conftest import REDUCED, own_copy, planned, snakemake

LR = "mine.yaml"
CELL = "results/reduced/runs/verbose/tiny/full"


def _without_metadata(copy, dest):
    """``copy`` as a user copies results into a fresh clone: file times kept, no ``.snakemake/``."""
    subprocess.run(["cp", "-a", str(copy), str(dest)], check=True)
    shutil.rmtree(dest / ".snakemake")
    return dest


def _lr_change(cwd):
    (cwd / LR).write_text(f"base: {REDUCED}\ntraining: {{lr: 0.005}}\n")
    return ["--configfile", LR]


def _prompt_edit(cwd):
    prompt = cwd / "prompts/compressor.txt"
    prompt.write_text(prompt.read_text() + "\nKeep every equation.\n")
    return ["--configfile", REDUCED]


def _code_edit(cwd):
    code = cwd / "compress_distill/stages/truncation.py"
    code.write_text(code.read_text() + "\n_EDIT = 1\n")
    return ["--configfile", REDUCED]


def _why(cwd, *args) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "compress_distill.planning.why", *args], cwd=cwd,
                          capture_output=True, text=True, check=True)
    return proc.stdout.splitlines()


@pytest.fixture
def copies(finished, workdir, tmp_path):
    """(a copy of the finished run with Snakemake's metadata, the same results in a clone without it)."""
    original, _ = own_copy(finished, workdir, tmp_path / "a")
    return original, _without_metadata(original, tmp_path / "clone")


def test_results_copied_without_metadata_plan_nothing_unchanged(copies):
    _, clone = copies
    assert planned(clone, "--configfile", REDUCED) == []
    assert (clone / ".snakemake/metadata").is_dir()  # restored from the sidecars


@pytest.mark.parametrize("change, named", [
    (_lr_change, "settings.lr 0.001 → 0.005"),
    (_prompt_edit, "prompt "),
    (_code_edit, "code: compress_distill/stages/truncation.py"),
])
def test_results_copied_without_metadata_plan_what_the_original_plans(copies, change, named):
    original, clone = copies
    expected = sorted(map(str, planned(original, *change(original))))
    args = change(clone)
    assert expected and sorted(map(str, planned(clone, *args))) == expected
    lines = _why(clone, *args)
    assert any(named in line for line in lines), lines[:20]
    assert lines[-1] == f"why: {len(lines) - 1} existing output(s) would be rebuilt"


def test_a_model_copied_in_from_another_run_is_rebuilt_to_a_clean_runs_manifest(finished, workdir, tmp_path):
    cwd, _ = own_copy(finished, workdir, tmp_path)
    raw, other = cwd / CELL / "raw/seed0", cwd / CELL / "compressed-lean/seed0"
    for name in ("model", "metrics.json", "loss.csv"):
        shutil.rmtree(raw / name) if name == "model" else (raw / name).unlink()
        subprocess.run(["cp", "-a", str(other / name), str(ledger.sidecar(other / name)), str(raw)], check=True)
    bad = dict(ledger.verify(cwd / "results/reduced"))
    assert "copied in" in bad[raw / "model"]
    lines = _why(cwd, "--configfile", REDUCED)
    assert f"{CELL}/raw/seed0/model: untrusted output: made as {CELL}/compressed-lean/seed0/model" in "\n".join(lines)
    proc = snakemake(cwd, "--configfile", REDUCED, "--cores", "2")
    assert "untrusted" in proc.stderr
    assert (cwd / "results/reduced/manifest.json").read_bytes() == (cwd / "first-manifest.json").read_bytes()
    assert planned(cwd, "--configfile", REDUCED) == []


def test_a_file_whose_sidecar_was_deleted_is_rebuilt_by_make_verify(finished, workdir, tmp_path):
    cwd, _ = own_copy(finished, workdir, tmp_path)
    answers = cwd / CELL / "raw/seed0/eval/arith.jsonl"
    ledger.sidecar(answers).unlink()
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    answers.write_text("".join(json.dumps({**r, "text": "\\boxed{0}"}) + "\n" for r in rows))
    # a plain run plans its evaluation again (and what reads it), as make verify does below
    assert ("evaluate", {"teacher": "verbose", "student": "tiny", "regime": "full", "target": "raw", "seed": "0",
                         "benchmark": "arith"}) in planned(cwd, "--configfile", REDUCED)
    proc = subprocess.run([sys.executable, "-m", "compress_distill.infra.ledger", "rebuild", "results/reduced", "--",
                           "--configfile", REDUCED, "--cores", "2"], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "no ledger sidecar" in proc.stderr
    assert (cwd / "results/reduced/manifest.json").read_bytes() == (cwd / "first-manifest.json").read_bytes()
    assert ledger.problem(answers) is None


def test_changed_params_are_named_by_key_though_snakemake_records_them_unnamed():
    now = {"settings": {"lr": 0.005, "epochs": 1}, "identity": {"code": {"a.py": "1", "b.py": "2"},
                                                                   "software": {"torch": "2.13.0"}}, "prompt": "x"}
    recorded = sorted([repr({"lr": 0.001, "epochs": 1}), repr("x"),
                       repr({"code": {"a.py": "1", "b.py": "0"}, "software": {"torch": "2.12.0"}})])
    assert params_changes(recorded, now) == ["settings.lr 0.001 → 0.005", "code: b.py",
                                             "software: torch 2.12.0 → 2.13.0"]
    assert params_changes(sorted(repr(v) for v in now.values()), now) == []


def test_an_untrusted_record_says_why_and_no_job_matches_it():
    from compress_distill.infra import provenance

    record = provenance.untrusted_record("no ledger sidecar")
    assert provenance.untrusted_reason(record.params) == "untrusted output: no ledger sidecar"
    assert provenance.untrusted_reason([repr({"lr": 0.001})]) is None and record.incomplete is False


@pytest.mark.parametrize("start, end, size, stamped", [
    (100.0, 200.0, 3, True),        # a local job: started before its sidecar was written, ended after
    (160.0, 200.0, 3, False),       # a sidecar older than the job: not the job's
    (100.0, 140.0, 3, False),       # a sidecar newer than the job's output: replaced since
    (100.0, 140.0, 10**9, True),    # ... unless hashing the output took that long (1 GB: up to 20 s allowed)
    (230.0, 200.0, 3, True),        # a cluster job: its start is when Snakemake saw it finish, after its output's mtime
])
def test_a_sidecar_is_stamped_only_by_the_job_that_wrote_it(tmp_path, start, end, size, stamped):
    import os

    from snakemake.persistence import RECORD_FORMAT_VERSION, MetadataRecord

    from compress_distill.infra import provenance

    from compress_distill.infra import io

    out = tmp_path / "x.jsonl"
    io.write_jsonl(out, [{}])
    side = ledger.sidecar(out)
    side.write_text(json.dumps({**json.loads(side.read_text()), "bytes": size}))  # what the job hashed
    os.utime(side, (150.0, 150.0))
    record = MetadataRecord(params=["'p'"], record_format_version=RECORD_FORMAT_VERSION, incomplete=False,
                            starttime=start, endtime=end)
    want, why = provenance.judge("x.jsonl", side, record)
    assert why == (None if stamped else "no record of the job that wrote it") and (want is None) == stamped
    assert (ledger.STAMP in json.loads(side.read_text())) == stamped
