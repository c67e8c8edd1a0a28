"""A generation job killed (SIGKILL) mid-shard and rerun ends with the same bytes as an uninterrupted run, with no
duplicate and no missing record — for the ``hf`` engine and for the ``openai`` engine — through Snakemake."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import yaml
from openai_stub import FlakyServer

from conftest import ROOT, copy_workflow

SHARD = "results/resume/teachers/t/generated/0000.jsonl"


class SlowServer(FlakyServer):
    """The test server without faults: deterministic, and a little slow per answer so a job can be killed mid-shard."""

    def plan(self, question, attempt):
        time.sleep(0.02)
        return None


def _workdir(tmp_path, engine_spec):
    copy_workflow(tmp_path)
    cfg = yaml.safe_load((ROOT / "tests/configs/reduced.yaml").read_text())
    cfg["run"] = "resume"
    cfg["problems"]["pool"]["size"] = 100  # 40 per shard, once 20 are held out for validation
    cfg["teachers"] = {"t": {"engine": engine_spec, "prompt": "prompts/teacher.txt", "chunk_size": 4}}
    cfg["grid"] = [{**cfg["grid"][0], "teachers": ["t"]}]
    (tmp_path / "resume.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path


def _snakemake(cwd, *extra):
    return [sys.executable, "-m", "snakemake", "--configfile", "resume.yaml", "--cores", "1", "--nolock",
            "--rerun-incomplete", *extra]


def _run(cwd, *extra):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run(_snakemake(cwd, *extra), cwd=cwd, env=env, check=True, capture_output=True)


def _kill_after(cwd, lines: int) -> int:
    """Start the shard's job, SIGKILL its whole process group once ``lines`` records are durable."""
    partial = cwd / (SHARD + ".partial")
    proc = subprocess.Popen(_snakemake(cwd, SHARD), cwd=cwd, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if partial.exists() and len(partial.read_text().splitlines()) >= lines:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return len(partial.read_text().splitlines())
        time.sleep(0.02)
    raise AssertionError(f"the job ended or stalled before {lines} records were written")


def _check_resumes(cwd):
    _run(cwd, "results/resume/problems/summary.json")
    _run(cwd, SHARD)
    clean = (cwd / SHARD).read_bytes()
    ids = [json.loads(line)["id"] for line in clean.decode().splitlines()]
    assert len(ids) == len(set(ids)) == 40
    for lines in (4, 28):  # after the first chunk of 4, and two thirds through the shard
        (cwd / SHARD).unlink()
        done = _kill_after(cwd, lines)
        assert done < 40 and not (cwd / SHARD).exists()
        _run(cwd, SHARD)
        assert (cwd / SHARD).read_bytes() == clean


def test_hf_engine_generation_resumes_byte_identically(tmp_path, tiny_tokenizer, tiny_model):
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    tiny_tokenizer.save_pretrained(model_dir)
    cwd = _workdir(tmp_path / "wf", {"kind": "hf", "model": str(model_dir), "max_new_tokens": 48, "batch_size": 4})
    _check_resumes(cwd)


def test_openai_engine_generation_resumes_byte_identically(tmp_path):
    server = SlowServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = {"kind": "openai", "base_url": f"http://127.0.0.1:{server.server_address[1]}/v1", "model": "m",
                "max_tokens": 16, "concurrency": 2, "timeout_s": 10, "max_retries": 2}
        _check_resumes(_workdir(tmp_path / "wf", spec))
    finally:
        server.shutdown()
        server.server_close()
