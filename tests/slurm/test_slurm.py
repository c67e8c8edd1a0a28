"""The workflow on a real SLURM cluster (`make test-slurm` starts a single-node one with accounting): the profile
runs a reduced demo byte-identical to a local run, also when a training job is preempted (SLURM requeues it: same
job, same request, resumed from its checkpoint) and then cancelled mid-way (a Snakemake retry); a served teacher
lives and dies inside its job; and the sbatch calls for the paper preset's GPU jobs ask for what the config says."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from compress_distill.synthetic import arithmetic
from conftest import ROOT, copy_workflow, process_group_gone

pytestmark = pytest.mark.slurm

CONFIGS = ["tests/configs/reduced.yaml", "tests/configs/slurm.yaml"]
# the status check starts after 1 s instead of the profile's 20: seconds per job instead of tens on this tiny cluster
PROFILE = ["--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "1"]
# and later checks at most 2 s apart (quick_polls.py), instead of the plugin's growing waits
SNAKEMAKE = [sys.executable, str(Path(__file__).with_name("quick_polls.py"))]


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """Fail (not skip) without a cluster: these tests run only from `make test-slurm`, which starts one."""
    try:
        state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20).stdout
    except (FileNotFoundError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"no SLURM cluster ({err}); run `make test-slurm`")
    assert "idle" in state or "mix" in state or "alloc" in state, f"SLURM node not up: {state!r}"


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def snakemake(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, env=_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def start_snakemake(cwd: Path, *args: str) -> subprocess.Popen:
    log = open(cwd / "snakemake.out", "w")
    proc = subprocess.Popen([*SNAKEMAKE, *args], cwd=cwd, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    proc.workdir = cwd
    return proc


def finish(proc: subprocess.Popen, cwd: Path, timeout: float = 900) -> None:
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        raise
    assert rc == 0, (cwd / "snakemake.out").read_text()[-6000:]


def wait_for(predicate, timeout: float, what: str, poll: float = 0.1, running: subprocess.Popen | None = None):
    """Poll ``predicate`` until it is truthy; fail at ``timeout`` or as soon as the ``running`` process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if running is not None and running.poll() is not None:
            out = (running.workdir / "snakemake.out").read_text()[-4000:]
            raise AssertionError(f"snakemake exited (code {running.returncode}) before {what}:\n{out}")
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def slurm_job_of(rule: str, wildcard_value: str) -> str | None:
    """The id of the running SLURM job of ``rule`` whose comment (the plugin writes rule and wildcards there)
    names ``wildcard_value``."""
    out = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i|%k"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        job, comment = line.split("|", 1)
        # a group job's comment names its group and rules, without wildcards
        if rule in comment and (wildcard_value in comment or "_wildcards_" not in comment):
            return job
    return None


def sacct_state(job: str) -> str:
    """The job's accounting state, e.g. 'CANCELLED by 0' ('' until slurmdbd has it)."""
    out = subprocess.run(["sacct", "-n", "-X", "--parsable2", "-j", job, "-o", "State"], capture_output=True,
                         text=True).stdout
    return out.strip()


def sacct_runs(job: str, at_least: int = 1) -> list[dict] | None:
    """Each run of a job, requeued ones included (``sacct -D``): state, requested memory, time limit; None while
    accounting lists fewer than ``at_least``."""
    out = subprocess.run(["sacct", "-n", "-X", "-D", "--parsable2", "-j", job, "-o", "State,ReqMem,Timelimit"],
                         capture_output=True, text=True).stdout
    runs = [dict(zip(("State", "ReqMem", "Timelimit"), line.split("|"))) for line in out.splitlines() if line]
    return runs if len(runs) >= at_least else None


def placements(snakemake_out: str) -> dict[str, set[tuple[str, str, str]]]:
    """Per rule (or ``<group>_<rules>``) of every submitted job: {(account, partition, GPUs granted)} as accounting
    has them."""
    submitted = r"submitted with SLURM jobid (\d+) \(log: [^)]*/(?:rule|group)_(\w+?)/"
    rule_of = dict(re.findall(submitted, snakemake_out))
    out = subprocess.run(["sacct", "-n", "-X", "-D", "--parsable2", "-j", ",".join(rule_of), "-o",
                          "JobID,Account,Partition,AllocTRES"], capture_output=True, text=True, check=True).stdout
    placed: dict[str, set] = {}
    for line in out.splitlines():
        job, account, partition, tres = line.split("|")
        gpus = ",".join(t for t in tres.split(",") if t.startswith("gres/gpu"))
        placed.setdefault(rule_of[job], set()).add((account, partition, gpus))
    return placed


def deterministic(results: Path) -> dict[str, bytes]:
    manifest = json.loads((results / "manifest.json").read_text())
    return {rel: (results / rel).read_bytes() for rel in manifest["results"]["deterministic"]}


def cluster_config() -> dict:
    """The layered CONFIGS as one config, without the teachers no grid block trains on: layered files cannot drop a
    teacher, and each one's generation and compression would be SLURM jobs (each job costs seconds of Snakemake
    start-up, twice: the batch script's and the job step's)."""
    cfg: dict = {}
    for path in CONFIGS:
        _merge(cfg, yaml.safe_load((ROOT / path).read_text()))
    used = {name for block in cfg["grid"] for name in block["teachers"]}
    cfg["teachers"] = {name: spec for name, spec in cfg["teachers"].items() if name in used}
    return cfg


def _merge(into: dict, layer: dict) -> None:
    """``layer`` merged into ``into`` as Snakemake merges config files (nested mappings key by key)."""
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


# ---- the reduced demo through the profile, one training job preempted (requeued by SLURM), then cancelled
def test_profile_run_is_identical_to_a_local_run_and_a_cancelled_training_job_resumes(tmp_path_factory):
    local = copy_workflow(tmp_path_factory.mktemp("local"))
    cluster_run = copy_workflow(tmp_path_factory.mktemp("cluster"))
    for work in (local, cluster_run):
        (work / "cluster.yaml").write_text(yaml.safe_dump(cluster_config()))
    start = time.monotonic()
    proc = start_snakemake(cluster_run, *PROFILE, "--configfile", "cluster.yaml")
    raw = cluster_run / "results/slurm/runs/verbose/small/full/raw/seed0"
    checkpoint = Path(str(raw / "model") + ".ckpt") / "latest"
    wait_for(checkpoint.exists, 600, f"a training checkpoint ({checkpoint})", running=proc)
    job = wait_for(lambda: slurm_job_of("train", "raw"), 30, "the raw-trace training job in squeue")
    # preemption, as a partition with PreemptMode=REQUEUE does it: SLURM puts the running job back in the queue
    subprocess.run(["scontrol", "requeue", job], check=True)
    wait_for(lambda: checkpoint.exists() and slurm_job_of("train", "raw") == job, 300,
             "the requeued job running again", poll=0.5, running=proc)
    wait_for(lambda: (raw / "train.log").exists() and "resumed from" in (raw / "train.log").read_text(), 300,
             "the requeued job resuming from its checkpoint", poll=0.5, running=proc)
    wait_for(checkpoint.exists, 600, "a checkpoint of the resumed run", running=proc)
    subprocess.run(["scancel", job], check=True)  # then a failure: Snakemake's retry, a new submission
    finish(proc, cluster_run)
    cluster_seconds = time.monotonic() - start

    # the preempted attempt and its requeued run: one job, one submission, the same request
    runs = wait_for(lambda: sacct_runs(job, at_least=2), 30, f"sacct to list job {job}'s requeued runs", poll=1)
    assert runs[0]["State"] == "REQUEUED" and len(runs) >= 2, runs
    assert {(r["ReqMem"], r["Timelimit"]) for r in runs} == {(runs[0]["ReqMem"], runs[0]["Timelimit"])}
    out = (cluster_run / "snakemake.out").read_text()
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: [^)]*rule_train/verbose_small_full_raw_", out)
    assert submitted[0] == job and len(submitted) == 2, submitted  # requeued in place; resubmitted only to retry

    wait_for(lambda: sacct_state(job).startswith("CANCELLED"), 30, f"sacct to record job {job} as cancelled", poll=1)
    placed = placements(out)
    generation = "generation_teacher_generate_verify"  # the group job, the one that asks for a GPU
    assert placed[generation] == {("study", "gpu", "gres/gpu=1")}, placed
    assert {p for rule, runs in placed.items() if rule != generation for p in runs} == {("study", "cpu", "")}, placed
    assert {"tokenizer", "train", "evaluate", "pretrain", "target"} <= set(placed)
    kept = list((cluster_run / ".snakemake/slurm_logs/rule_evaluate").rglob("*.log"))  # successful jobs' logs kept
    assert kept and all(log.stat().st_size > 0 for log in kept), kept
    # every output is stamped with the record of the cluster job that made it: a rerun plans nothing
    again = snakemake(cluster_run, "-n", "--configfile", "cluster.yaml")
    assert "Nothing to be done" in again.stdout + again.stderr and "untrusted" not in again.stderr, again.stderr[-3000:]
    train_log = (raw / "train.log").read_text()  # the retry's log
    assert re.search(r"resumed from .*model\.ckpt at step [1-9]\d*/", train_log), train_log[-2000:]
    assert not checkpoint.parent.exists()  # removed once the run finished
    metrics = json.loads((raw / "metrics.json").read_text())

    # the local twin forks its torch jobs from the preload server (an execution setting: same results, sooner)
    (local / "preload.yaml").write_text("cpu: {preload: true}\n")
    start = time.monotonic()
    snakemake(local, "--configfile", "cluster.yaml", "preload.yaml", "--cores", "2")
    local_seconds = time.monotonic() - start
    print(f"SLURM run {cluster_seconds:.0f} s (one job requeued, then cancelled and retried), "
          f"local run {local_seconds:.0f} s")

    local_results = local / "results/slurm"
    ours = deterministic(cluster_run / "results/slurm")
    assert ours == deterministic(local_results)
    assert (cluster_run / "results/slurm/manifest.json").read_bytes() == (local_results / "manifest.json").read_bytes()
    assert metrics["train_tokens"] == json.loads((local_results / raw.relative_to(cluster_run / "results/slurm")
                                                  / "metrics.json").read_text())["train_tokens"]
    assert any(rel.endswith(".csv") for rel in ours) and any(rel.endswith(".png") for rel in ours)


# ---- a served teacher inside SLURM jobs: started, healthy, used, and stopped on success, error and cancellation
@pytest.fixture(scope="module")
def served_model(tmp_path_factory):
    from transformers import AutoTokenizer

    from compress_distill.models import student
    from conftest import ARITH, TINY_ARCH

    folder = tmp_path_factory.mktemp("served-teacher")
    student.train_tokenizer(arithmetic.pretraining_corpus(ARITH), 320, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    student.build_model({"architecture": TINY_ARCH}, tokenizer, seed=0).save_pretrained(folder)
    return str(folder)


def _served_workflow(root: Path, model: str, **engine) -> Path:
    work = copy_workflow(root)
    spec = {"kind": "openai", "model": model, "max_tokens": 48, "concurrency": 2, "max_retries": 0,
            "serve": {"kind": "transformers", "device": "cpu", "startup_timeout_s": 120}, **engine}
    # one whole config: layered config files merge key by key, which would keep the synthetic engine's own keys
    # beside the openai engine's, and an engine accepts only its kind's keys
    cfg = cluster_config()
    cfg["run"] = "served"
    cfg["teachers"]["verbose"]["engine"] = spec
    (work / "served.yaml").write_text(yaml.safe_dump(cfg))
    return work


def _server_pids(log: Path) -> list[int]:
    return [int(p) for p in re.findall(r"served model: pid (\d+)", log.read_text() if log.exists() else "")]


GENERATED = "results/served/teachers/verbose/generated/0000.jsonl"
JOB_LOG = "results/served/logs/teacher_generate/verbose/0000.log"


def test_served_teacher_is_stopped_when_its_job_is_cancelled_and_the_retry_generates(served_model, tmp_path):
    work = _served_workflow(tmp_path, served_model)
    proc = start_snakemake(work, GENERATED, *PROFILE, "--configfile", "served.yaml")
    log = work / JOB_LOG
    wait_for(lambda: "healthy" in log.read_text() if log.exists() else False, 300, "the served teacher's health",
             running=proc)
    first = _server_pids(log)[0]
    job = wait_for(lambda: slurm_job_of("teacher_generate", "verbose"), 30, "the generation job in squeue")
    subprocess.run(["scancel", job], check=True)
    wait_for(lambda: process_group_gone(first), 60, f"the cancelled job's server (pid {first}) to stop")
    finish(proc, work)
    retry = _server_pids(log)
    assert retry and first not in retry and all(process_group_gone(p) for p in retry)
    assert "healthy" in log.read_text()
    shard = (work / "results/served/problems/shards/0000.jsonl").read_text().splitlines()
    generated = [json.loads(line) for line in (work / GENERATED).read_text().splitlines()]
    assert sorted(g["id"] for g in generated) == sorted(json.loads(line)["id"] for line in shard)


def test_served_teacher_is_stopped_when_generation_fails(served_model, tmp_path):
    # a negative token budget (sent past the config's validation) makes the server answer 500; with no retries the
    # job fails at its first request
    work = _served_workflow(tmp_path, served_model, extra_body={"max_tokens": -5})
    proc = snakemake(work, GENERATED, *PROFILE, "--retries", "0", "--configfile", "served.yaml",
                     check=False)
    assert proc.returncode != 0
    log = (work / JOB_LOG).read_text()
    assert "healthy" in log and "HTTP 500" in log, log[-3000:]
    assert all(process_group_gone(p) for p in _server_pids(work / JOB_LOG))
    assert not (work / GENERATED).exists()


# ---- the sbatch calls the plugin makes for the paper preset's GPU jobs
STAND_IN_SBATCH = """#!/bin/sh
# records its arguments (one file per call: the plugin submits in parallel), then refuses the job
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" > "{record}/$$.json"
echo "stand-in sbatch: recorded" >&2
exit 1
"""


def stand_in_sbatch(tmp_path: Path) -> tuple[dict, Path]:
    """(an environment whose ``sbatch`` is the stand-in, the folder its calls are recorded in)."""
    bin_dir, record = tmp_path / "bin", tmp_path / "sbatch-calls"
    bin_dir.mkdir(), record.mkdir()
    (bin_dir / "sbatch").write_text(STAND_IN_SBATCH.format(record=record))
    (bin_dir / "sbatch").chmod(0o755)
    return {**_env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, record


def test_sbatch_calls_for_paper_gpu_jobs_follow_the_config(tmp_path):
    """Each model's request, and the site's account, GPU partition and GPU model (set in one place: `site:`; the
    plugin checks that the account exists: the test cluster's)."""
    work = copy_workflow(tmp_path / "paper")
    env, record = stand_in_sbatch(tmp_path)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    site = {"base": "config.yaml", "site": {"account": "study", "cpu_partition": "short", "gpu_partition": "a100q",
                                            "gpu_model": "a100"}}
    (work / "site.yaml").write_text(yaml.safe_dump(site))
    # the jobs' inputs exist, so exactly these two jobs are submitted
    train = "results/paper/runs/qwen3.5_397b/qwen3.5_9b/full/compressed-qwen3_30b/seed0/metrics.json"
    generate = "results/paper/teachers/qwen3.5_397b/generated/0000.jsonl"
    for rel in ["results/paper/targets/qwen3.5_397b/full/compressed-qwen3_30b.jsonl",
                "results/paper/problems/shards/0000.jsonl"]:
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text("")
    proc = subprocess.run([*SNAKEMAKE, *PROFILE, "--configfile", "site.yaml", "--retries", "0", train, generate,
                           "--allowed-rules", "train", "teacher_generate"], cwd=work, env=env, capture_output=True,
                          text=True)
    calls = [json.loads(f.read_text()) for f in sorted(record.glob("*.json"))]
    assert calls, proc.stdout[-3000:] + proc.stderr[-3000:]
    # a job's comment names its rule (rule_train_wildcards_…), a group job's its group and rules
    # (rule_generation_teacher_generate)
    by_rule = {re.match(r"rule_(?:generation_)?(.+?)(?:_wildcards_.*)?$", parse_sbatch(c)["--comment"]).group(1):
               parse_sbatch(c) for c in calls}
    assert set(by_rule) == {"train", "teacher_generate"}
    for rule, model in [("train", cfg["students"]["qwen3.5_9b"]), ("teacher_generate",
                                                                  cfg["teachers"]["qwen3.5_397b"])]:
        res, opts = model["resources"], by_rule[rule]
        nodes = res.get("nodes", 1)
        assert opts["--gpus"] == f"a100:{res['gpus'] * nodes}", (rule, opts)
        assert (opts["-A"], opts["-p"]) == ("study", "a100q"), opts
        assert opts["--cpus-per-gpu"] == str(res["cpus_per_gpu"])
        assert opts["--mem"] == str(res["mem_mb"])
        assert opts["-t"] == str(res["runtime"])
        assert opts["--nodes"] == str(nodes)
        assert not any(k.startswith("--ntasks") for k in opts), opts  # accelerate / vLLM start their own workers
    assert by_rule["teacher_generate"]["--nodes"] == "2"  # the 397B teacher spans two nodes


def test_retries_grow_within_the_site_limits_and_preemption_is_left_to_slurm(tmp_path):
    """A training job that fails (here: refused) is retried twice: attempts 1-3 ask for memory and time × the attempt
    number but never beyond the config's site limits; every submission lets SLURM requeue the job unchanged on
    preemption or node failure (it then resumes from its checkpoint), so a preempted job never asks for more."""
    work = copy_workflow(tmp_path / "paper")
    env, record = stand_in_sbatch(tmp_path)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    train = "results/paper/runs/qwen3.5_397b/qwen3.5_9b/full/compressed-qwen3_30b/seed0/metrics.json"
    examples = work / "results/paper/targets/qwen3.5_397b/full/compressed-qwen3_30b.jsonl"
    examples.parent.mkdir(parents=True)
    examples.write_text("")
    proc = subprocess.run([*SNAKEMAKE, *PROFILE, "--retries", "2", train, "--allowed-rules", "train"], cwd=work,
                          env=env, capture_output=True, text=True)
    calls = [parse_sbatch(json.loads(f.read_text())) for f in record.glob("*.json")]
    assert len(calls) == 3, proc.stdout[-3000:] + proc.stderr[-3000:]
    first, site = cfg["students"]["qwen3.5_9b"]["resources"], cfg["site"]
    asked = sorted((int(c["--mem"]), int(c["-t"])) for c in calls)
    assert asked == [(min(first["mem_mb"] * n, site["max_mem_mb"]), min(first["runtime"] * n, site["max_runtime"]))
                     for n in (1, 2, 3)]
    assert asked[0] == (first["mem_mb"], first["runtime"]) and asked[-1] == (site["max_mem_mb"], site["max_runtime"])
    assert all("--requeue" in c for c in calls)


def parse_sbatch(argv: list[str]) -> dict[str, str]:
    """``--key=value``, ``--key value`` and ``-k value`` options of one sbatch call (as the shell split it)."""
    opts, i, words = {}, 0, argv
    while i < len(words):
        word = words[i]
        if word.startswith("-") and "=" in word:
            key, value = word.split("=", 1)
            opts[key] = value
        elif word.startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            opts[word] = words[i + 1]
            i += 1
        elif word.startswith("-"):
            opts[word] = ""
        i += 1
    return opts
