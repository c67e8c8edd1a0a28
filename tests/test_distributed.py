"""Data-parallel training: `accelerate launch` with two CPU workers (gloo), replicated (ddp) or sharded (fsdp),
ends where one process ends — also when the sharded run is killed and resumed from its sharded checkpoint."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from compress_distill.config.settings import TrainingSettings, TrainJob
from compress_distill.infra import io
from compress_distill.models import student
from compress_distill.training import launch
from conftest import EXAMPLES, TINY_ARCH

HP = {"max_length": 512, "examples_per_step": 4, "epochs": 2, "lr": 1e-2, "weight_decay": 0.01, "warmup_ratio": 0.1,
      "max_tokens_per_microbatch": 4096, "max_grad_norm": 1.0, "packing": True}


@pytest.fixture(scope="module")
def job(tmp_path_factory, tiny_tokenizer):
    root = tmp_path_factory.mktemp("dp")
    base = root / "base"
    student.build_model({"architecture": TINY_ARCH}, tiny_tokenizer, seed=0).save_pretrained(base)
    tiny_tokenizer.save_pretrained(base)
    io.write_jsonl(root / "examples.jsonl", EXAMPLES * 5)  # 15 examples: 3 steps of 4 per epoch, uneven splits

    def spec(name, **hp):
        out = root / name
        out.mkdir()
        return TrainJob(base=str(base), examples=str(root / "examples.jsonl"), hp=TrainingSettings.of({**HP, **hp}),
                        seed=0, model=str(out / "model"), metrics=str(out / "metrics.json"),
                        curve=str(out / "loss.csv"), meta={"run": name})
    return spec


def _weights(folder):
    from transformers import AutoModelForCausalLM

    return dict(AutoModelForCausalLM.from_pretrained(folder).named_parameters())


@pytest.fixture(scope="module")
def single(job):
    one = job("one")
    launch.run_job(one, log=lambda *_: None)
    return one


@pytest.mark.parametrize("distributed", ["ddp", "fsdp"])
def test_two_gloo_workers_give_the_single_process_result(job, single, tmp_path, distributed):
    one, two = single, job(f"two-{distributed}", distributed=distributed)
    launch.launch(two, processes=2, threads=2, log_path=tmp_path / "launch.log")
    log = (tmp_path / "launch.log").read_text()
    assert "accelerate" in log and "--num_processes 2" in log
    single, parallel = (json.loads(open(s.metrics).read()) for s in (one, two))
    assert (single["workers"], parallel["workers"]) == (1, 2)
    assert single["train_tokens"] == parallel["train_tokens"] and single["steps"] == parallel["steps"]
    for name, value in _weights(one.model).items():
        torch.testing.assert_close(_weights(two.model)[name], value, rtol=1e-4, atol=1e-6, msg=name)
    losses = [open(s.curve).read().splitlines()[1:] for s in (one, two)]
    assert [float(r.split(",")[1]) for r in losses[0]] == pytest.approx([float(r.split(",")[1]) for r in losses[1]],
                                                                       abs=1e-5)
    # the control: training moved the weights, so agreeing is not trivially true
    from transformers import AutoModelForCausalLM

    base = dict(AutoModelForCausalLM.from_pretrained(one.base).named_parameters())
    assert any(not torch.allclose(base[n], w) for n, w in _weights(one.model).items())


def test_a_job_that_sees_fewer_gpus_than_it_asked_for_stops(job):
    spec = dataclasses.replace(job("short"), gpus=2)
    with pytest.raises(RuntimeError, match="asked for 2 GPU"):
        launch.run_job(spec, log=lambda *_: None)


def _descendants(pid: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


SHARDED = {"distributed": "fsdp", "epochs": 30}


@pytest.fixture(scope="module")
def sharded_clean(job, tmp_path_factory):
    """Two FSDP workers, never interrupted."""
    clean = job("fsdp-clean", **SHARDED)
    launch.launch(clean, processes=2, threads=2, log_path=tmp_path_factory.mktemp("clean") / "clean.log")
    return clean


def _start(spec, tmp_path):
    """The two-worker launch of ``spec`` with a checkpoint folder, in a session of its own: (spec, process, log)."""
    import subprocess

    from compress_distill.engines.server import free_port

    spec = dataclasses.replace(spec, checkpoint=spec.model + ".ckpt")
    spec_path = tmp_path / f"{spec.meta['run']}.json"
    spec_path.write_text(json.dumps(spec.to_dict()))
    log_path = tmp_path / f"{spec.meta['run']}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(launch.launch_command(spec_path, 2, 1, free_port()), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return spec, proc, log_path


def _wait_for(done, proc, log_path):
    import time

    deadline = time.monotonic() + 120
    while not done() and time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text()[-3000:]
        time.sleep(0.05)


def _signal_all(proc, signum):
    """``signum`` to the launcher and every worker, as SLURM signals every process of a job step (torchrun starts
    its workers in sessions of their own)."""
    import os

    for pid in [proc.pid, *_descendants(proc.pid)]:
        os.kill(pid, signum)
    proc.wait(timeout=120)


def _assert_same_result(clean, resumed, resumed_log):
    assert "resumed from" in resumed_log.read_text()
    for name, value in _weights(clean.model).items():
        torch.testing.assert_close(_weights(resumed.model)[name], value, rtol=1e-5, atol=1e-7, msg=name)
    assert json.loads(open(clean.metrics).read())["train_tokens"] == json.loads(
        open(resumed.metrics).read())["train_tokens"]


def test_a_killed_sharded_run_resumes_to_the_uninterrupted_result(job, sharded_clean, tmp_path):
    """Two FSDP workers write a sharded checkpoint every 2 steps; the run is SIGKILLed once one exists and is then
    launched again: it resumes and ends with the weights of a run that was never interrupted."""
    import os
    import signal

    killed, proc, log = _start(job("fsdp-killed", **SHARDED, checkpoint_every=2), tmp_path)
    _wait_for(lambda: os.path.exists(os.path.join(killed.checkpoint, "latest")), proc, log)
    _signal_all(proc, signal.SIGKILL)
    assert not os.path.exists(killed.metrics)  # killed before the end
    launch.launch(killed, processes=2, threads=2, log_path=tmp_path / "resumed.log")
    _assert_same_result(sharded_clean, killed, tmp_path / "resumed.log")


def test_sigterm_stops_both_sharded_workers_at_one_step_and_the_rerun_resumes_there(job, sharded_clean, tmp_path):
    """SIGTERM (what SLURM sends ahead of a time limit or to preempt) reaches the workers: they agree on a step, save
    it (no periodic checkpoint is due) and stop; the rerun resumes from that step to the uninterrupted result."""
    import re
    import signal

    from compress_distill.training import checkpoints

    stopped, proc, log = _start(job("fsdp-sigterm", **SHARDED), tmp_path)
    _wait_for(lambda: re.search(r"step \d+/90", log.read_text()), proc, log)
    _signal_all(proc, signal.SIGTERM)
    steps = {int(s) for s in re.findall(r"stopped by SIGTERM after step (\d+)/90", log.read_text())}
    assert len(steps) == 1, log.read_text()[-3000:]
    step = steps.pop()
    assert checkpoints.latest_checkpoint(Path(stopped.checkpoint)).name == checkpoints.checkpoint_name(step)
    launch.launch(stopped, processes=2, threads=2, log_path=tmp_path / "resumed.log")
    assert f"at step {step}/90" in (tmp_path / "resumed.log").read_text()
    _assert_same_result(sharded_clean, stopped, tmp_path / "resumed.log")
