"""A user's bad day on the reduced run: intermediates damaged after their jobs finished, and the whole run killed
(SIGKILL) at random points. Each ends in the manifest of an undisturbed run."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import yaml

from conftest import REDUCED, own_copy, snakemake


def _restore_time(path, stat) -> None:
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_damaged_intermediates_are_named_and_rebuilt(finished, workdir, tmp_path):
    first = (workdir / "first-manifest.json").read_bytes()
    workdir, finished = own_copy(finished, workdir, tmp_path)
    run = finished / "runs" / "verbose"
    damaged = {
        # cut short with its time restored: Snakemake cannot see it
        "compressed": finished / "compressors/lean/terse/0000.jsonl",
        # torn mid-record
        "generated": finished / "teachers/terse/generated/0001.jsonl",
        # a model folder whose weights lost their second half
        "model": run / "small/full/raw/seed0/model",
        # an evaluation file cut short
        "eval": run / "tiny/full/compressed-lean/seed0/eval/arith.jsonl",
    }
    for name, path in damaged.items():
        target = path / "model.safetensors" if name == "model" else path
        stat, data = target.stat(), target.read_bytes()
        cut = data[: data.index(b"\n", len(data) // 2) + 1] if name == "compressed" else data[: len(data) // 2]
        target.write_bytes(cut)
        _restore_time(target, stat)
    deleted = run / "small/full/answer-only/seed0"
    shutil.rmtree(deleted)

    check = subprocess.run([sys.executable, "-m", "compress_distill.infra.ledger", "verify", str(finished)], cwd=workdir,
                           capture_output=True, text=True)
    assert check.returncode == 1
    named = {line.split(": ")[0] for line in check.stdout.splitlines()[:-1]}
    assert named == {str(p) for p in damaged.values()}, check.stdout
    assert "records" in check.stdout and "model.safetensors" in check.stdout
    # a plain Snakemake run sees neither the damage nor the deleted run (its consumers are complete)
    assert "Nothing to be done" in snakemake(workdir, "-n", "--configfile", REDUCED).stdout
    # a consumer never reads a damaged file
    selection = str((finished / "targets/terse/full/selection.json").relative_to(workdir))
    proc = snakemake(workdir, "--configfile", REDUCED, "--cores", "1", "--forcerun", "selection", "--", selection,
                     check=False)
    assert proc.returncode != 0
    assert f"selection failed: IntermediateError: {damaged['compressed'].relative_to(workdir)}: does not match" \
        in proc.stderr
    rebuilt = subprocess.run([sys.executable, "-m", "compress_distill.infra.ledger", "rebuild", str(finished), "--",
                              "--configfile", REDUCED, "--cores", "2"], cwd=workdir, capture_output=True, text=True)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    report = rebuilt.stdout
    assert all(f"{p}: " in report for p in damaged.values())
    assert f"{deleted.relative_to(workdir)}/metrics.json: missing" in report
    assert (finished / "manifest.json").read_bytes() == first


# (stage, which of its job starts to kill at): Snakemake prints "rule <stage>:" as it starts a job
KILL_STAGES = ["teacher_generate", "compress", "train", "evaluate", "tables"]


def _run_until_killed(workdir, stage: str, nth: int, delay: float) -> bool:
    """Run the reduced workflow; SIGKILL it with every job it started, ``delay`` s after its ``nth`` job of
    ``stage`` starts. Whether it was killed (rather than finishing first)."""
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--configfile", REDUCED, "--cores", "2",
                             "--rerun-incomplete"], cwd=workdir, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, start_new_session=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seen, timer = 0, None
    for line in proc.stderr:
        if line.strip() in (f"rule {stage}:", f"localrule {stage}:"):
            seen += 1
            if seen == nth and timer is None:
                timer = threading.Timer(delay, os.killpg, (proc.pid, signal.SIGKILL))
                timer.start()
    proc.wait()
    if timer:
        timer.cancel()
    return proc.returncode == -signal.SIGKILL


def test_a_run_killed_at_random_points_ends_in_the_same_manifest(finished, workdir, tmp_path):
    """From an empty results folder, the run is killed once in each of generation, compression, training,
    evaluation and tables (which job and when drawn by a seeded RNG), unlocked and resumed each time."""
    first = (workdir / "first-manifest.json").read_bytes()
    workdir, finished = own_copy(finished, workdir, tmp_path)
    shutil.rmtree(finished)
    rng = random.Random(20261126)
    kills = 0
    for stage in KILL_STAGES:
        nth, delay = (1 if stage == "tables" else rng.randint(1, 3)), rng.uniform(0.3, 2.0)
        kills += _run_until_killed(workdir, stage, nth, delay)
        snakemake(workdir, "--configfile", REDUCED, "--unlock")
    assert kills == len(KILL_STAGES), f"only {kills} of {len(KILL_STAGES)} kills landed before the run finished"
    snakemake(workdir, "--configfile", REDUCED, "--cores", "2", "--rerun-incomplete")
    assert (finished / "manifest.json").read_bytes() == first


RUN = "results/reduced/runs/verbose/small/full/raw/seed0"


def _kill_when(cwd, config: str, target: str, ready) -> None:
    """Run Snakemake for ``target``; SIGKILL it and its job as soon as ``ready()`` holds."""
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--configfile", config, "--cores", "1", "--nolock",
                             "--rerun-incomplete", target], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.01)
    raise AssertionError(f"{target}: the job ended before the state to resume from existed")


def _run_outputs(cwd) -> dict:
    run = cwd / RUN
    metrics = json.loads((run / "metrics.json").read_text())
    return {"weights": metrics["weights_sha256"], "loss": (run / "loss.csv").read_bytes(),
            "eval": (run / "eval/arith.jsonl").read_bytes()}


def test_stale_resume_state_is_discarded_and_the_result_is_a_clean_runs(finished, workdir, tmp_path):
    """A checkpoint made at lr 0.001 and an evaluation .partial of the model trained at 0.001, then lr changed to
    0.01: the rerun discards both and ends with the bytes of a clean lr=0.01 run."""
    cwd, _ = own_copy(finished, workdir, tmp_path)
    cfg = yaml.safe_load((cwd / REDUCED).read_text())
    cfg["evaluation"]["chunk_size"], cfg["training"]["checkpoint_every"] = 4, 1  # execution only: rerun nothing
    (cwd / "old.yaml").write_text(yaml.safe_dump(cfg))
    cfg["training"]["lr"] = 0.01
    (cwd / "new.yaml").write_text(yaml.safe_dump(cfg))
    run = cwd / RUN
    partial, checkpoint = run / "eval/arith.jsonl.partial", run / "model.ckpt"

    for f in ("arith.jsonl", "arith.json"):
        (run / "eval" / f).unlink()
    _kill_when(cwd, "old.yaml", f"{RUN}/eval/arith.json",
               lambda: partial.exists() and len(partial.read_text().splitlines()) >= 4)
    shutil.rmtree(run / "model")
    _kill_when(cwd, "old.yaml", f"{RUN}/model", lambda: (checkpoint / "latest").exists())
    assert partial.exists() and (checkpoint / "latest").exists()

    snakemake(cwd, "--configfile", "new.yaml", "--cores", "1", f"{RUN}/eval/arith.json")
    resumed = _run_outputs(cwd)
    assert "discarded, training from the start" in (run / "train.log").read_text()
    assert "was written for other inputs, settings or code" in (run / "eval/arith.log").read_text()
    curve = (run / "loss.csv").read_text().splitlines()
    assert max(float(row.split(",")[curve[0].split(",").index("lr")]) for row in curve[1:]) > 0.005

    shutil.rmtree(run)
    snakemake(cwd, "--configfile", "new.yaml", "--cores", "1", f"{RUN}/eval/arith.json")
    assert _run_outputs(cwd) == resumed
