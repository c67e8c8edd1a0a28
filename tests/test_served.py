"""Served models: a real ``transformers serve`` (standing in for ``vllm serve``: same OpenAI protocol) is started,
health-checked, used and always stopped — on success, on an error and on cancellation (SIGTERM)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from compress_distill.config.settings import TrainingSettings
from compress_distill.core.trace import split_trace
from compress_distill.core.verifier import extract_answer
from compress_distill.engines import registry
from compress_distill.engines.interface import Request
from compress_distill.engines.server import served
from conftest import process_group_gone

SERVE = {"kind": "transformers", "device": "cpu", "startup_timeout_s": 120}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_tokenizer):
    """A tiny student that has memorised answers to the test questions, so its outputs are not blank."""
    from compress_distill.models import student
    from compress_distill.training import trainer
    from conftest import TINY_ARCH

    folder = tmp_path_factory.mktemp("served-model")
    model = student.build_model({"architecture": TINY_ARCH}, tiny_tokenizer, seed=0)
    examples = [{"question": r.messages[0]["content"], "completion": f"<think>\n</think>\n\\boxed{{{2 * i + 2}}}"}
                for i, r in enumerate(REQS)]
    hp = {"max_length": 128, "examples_per_step": 3, "epochs": 60, "lr": 1e-2, "weight_decay": 0.0,
          "warmup_ratio": 0.0, "max_tokens_per_microbatch": 4096, "max_grad_norm": 1.0}
    model, _, _ = trainer.train(model, tiny_tokenizer, examples, TrainingSettings.of(hp), seed=0, log=lambda *_: None)
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return str(folder)


def _server_pid(log) -> int:
    return int(re.search(r"served model: pid (\d+)", log.read_text()).group(1))


REQS = [Request(f"r{i}", [{"role": "user", "content": f"Compute ({i} + 1) * 2."}], seed=i) for i in range(3)]


def test_served_model_answers_like_the_local_engine_and_is_stopped(model_dir, tmp_path):
    log = tmp_path / "job.log"
    spec = {"kind": "openai", "serve": SERVE, "max_tokens": 12, "temperature": 0.0, "concurrency": 2}
    with registry.open_engine(spec, log, model_path=model_dir) as eng:
        served_out = eng.generate(REQS)
        assert not process_group_gone(_server_pid(log))
    assert process_group_gone(_server_pid(log))
    local = registry.make_engine({"kind": "hf", "max_new_tokens": 12, "batch_size": 1}, model_path=model_dir)
    # the server hands reasoning back in a separate field; folded back, reasoning and answer are the local ones
    local_out = local.generate(REQS)
    assert [split_trace(c.text) for c in served_out] == [split_trace(c.text) for c in local_out]
    assert all(extract_answer(c.text) for c in served_out)  # a real answer, not a blank


def test_a_served_model_refuses_requests_without_the_jobs_key(model_dir, tmp_path):
    """The server answers its health check to anyone, and generation only to a client with the job's key."""
    import requests

    with served(SERVE, model_dir, tmp_path / "job.log") as (base_url, key):
        root = base_url.removesuffix("/v1")
        body = {"model": model_dir, "messages": REQS[0].messages, "max_tokens": 4}
        assert requests.get(root + "/health", timeout=10).status_code == 200
        assert requests.post(base_url + "/chat/completions", json=body, timeout=30).status_code == 401
        wrong = {"Authorization": "Bearer not-the-key"}
        assert requests.post(base_url + "/chat/completions", json=body, headers=wrong, timeout=30).status_code == 401
        right = {"Authorization": f"Bearer {key}"}
        assert requests.post(base_url + "/chat/completions", json=body, headers=right, timeout=60).status_code == 200
    assert key not in (tmp_path / "job.log").read_text()  # not on the logged command line


def test_server_is_stopped_when_the_job_fails(model_dir, tmp_path):
    log = tmp_path / "job.log"
    with pytest.raises(RuntimeError, match="boom"):
        with served(SERVE, model_dir, log):
            raise RuntimeError("boom")
    assert process_group_gone(_server_pid(log))


def test_server_is_stopped_when_the_job_is_cancelled(model_dir, tmp_path):
    log = tmp_path / "job.log"
    script = ("import sys, time; from compress_distill.engines.server import served\n"
              f"with served({SERVE!r}, {model_dir!r}, {str(log)!r}):\n    time.sleep(600)\n")
    job = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd())
    deadline = time.time() + 120
    while "healthy" not in (log.read_text() if log.exists() else "") and time.time() < deadline:
        time.sleep(0.2)
    assert "healthy" in log.read_text()
    pid = _server_pid(log)
    job.send_signal(signal.SIGTERM)  # what scancel does first
    assert job.wait(timeout=60) != 0
    assert process_group_gone(pid)


def test_a_server_that_never_gets_healthy_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="exited with code"):
        with served(SERVE, str(tmp_path / "no-such-model"), tmp_path / "job.log"):
            pass


def test_a_multi_node_vllm_job_starts_ray_on_every_node_and_serves_through_it(monkeypatch):
    """The 2-node recipe (not runnable here: no vLLM, no Ray, one node): a Ray head on this node, one Ray worker on
    each other node of the job via srun, and vllm serve on the Ray backend; one node needs none of it."""
    from compress_distill.engines import server

    monkeypatch.setattr(server, "executable", lambda name: f"/env/bin/{name}")
    monkeypatch.setenv("SLURMD_NODENAME", "gpu017")
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "3")
    serve = {"kind": "vllm", "tensor_parallel_size": 8, "pipeline_parallel_size": 3}
    head, workers = server.ray_commands(server.job_nodes(), "10.0.0.17", 6379)
    assert head[:4] == ["/env/bin/ray", "start", "--head", "--block"] and "--port=6379" in head
    assert workers[0] == "srun" and "--nodes=2" in workers and "--ntasks-per-node=1" in workers
    assert "--exclude=gpu017" in workers and workers[-1] == "--address=10.0.0.17:6379"
    cmd = server.command(serve, "Qwen/Qwen3.5-397B-A17B", 8000, nodes=3)
    assert cmd[cmd.index("--distributed-executor-backend") + 1] == "ray"
    assert cmd[cmd.index("--pipeline-parallel-size") + 1] == "3"
    assert "--distributed-executor-backend" not in server.command(serve, "m", 8000, nodes=1)


def test_vllm_is_served_through_its_server_module_from_the_jobs_own_python():
    """Not the `vllm` console script: it looks up a distribution named "vllm", which vLLM's CPU build is not."""
    import sys

    from compress_distill.engines import server

    cmd = server.command({"kind": "vllm"}, "/models/student", 8001)
    assert cmd[:5] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", "/models/student"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "8001"


def test_a_vllm_server_gets_vllms_settings_and_the_jobs_temp_folder(tmp_path, monkeypatch):
    """The served process, not only the offline engine, keeps vLLM's caches and sockets in the job's temp folder and
    takes its CPU KV-cache size; its engine core keeps its own process (the server module is safe to spawn)."""
    import os

    from compress_distill.engines import server

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    serve = {"kind": "vllm", "dtype": "float32", "enforce_eager": True, "cpu_kv_cache_gb": 3}
    env = server.environment(serve, "k3y")
    assert env["VLLM_CACHE_ROOT"].startswith(str(tmp_path)) and env["VLLM_RPC_BASE_PATH"].startswith(str(tmp_path))
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "3"
    assert env.get("VLLM_ENABLE_V1_MULTIPROCESSING") == os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING")  # the job's
    assert env["VLLM_API_KEY"] == "k3y" and "k3y" not in server.command(serve, "/m", 8001)
    assert server.api_key() != server.api_key()
    cmd = server.command(serve, "/models/student", 8001)
    assert cmd[cmd.index("--dtype") + 1] == "float32" and "--enforce-eager" in cmd
    plain = server.environment({"kind": "transformers"}, "k3y")
    # none of vLLM's settings added (an offline vLLM engine opened earlier in this worker may have set the job's own)
    assert plain[server.SERVE_KEY] == "k3y" and plain.get("VLLM_CACHE_ROOT") == os.environ.get("VLLM_CACHE_ROOT")
