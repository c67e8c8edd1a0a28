"""Served models: a job that uses a model "served" starts an OpenAI-compatible server for itself (``vllm serve``, or
``transformers serve`` for small models and tests), waits for its health check with a timeout, and always stops it —
on success, on an error, and on cancellation (SIGTERM, as ``scancel`` sends, is turned into an exception so that
clean-up runs). The server binds to 127.0.0.1 and runs in its own process group, which is stopped as a whole.

``serve`` keys: ``kind`` (``vllm`` | ``transformers``), ``startup_timeout_s``, ``device`` (transformers),
``tensor_parallel_size``, ``pipeline_parallel_size``, ``extra_args`` (a list appended to the command).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def executable(name: str) -> str:
    """A console script from this Python's environment first (jobs may run without the venv on PATH)."""
    found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if not found:
        raise FileNotFoundError(f"served model: '{name}' is not installed in this environment")
    return found


def command(serve: dict, model: str, port: int) -> list[str]:
    common = ["--host", "127.0.0.1", "--port", str(port)]
    if serve["kind"] == "transformers":
        cmd = [executable("transformers"), "serve", model, *common, "--device", serve.get("device", "auto")]
    elif serve["kind"] == "vllm":
        cmd = [executable("vllm"), "serve", model, *common,
               "--tensor-parallel-size", str(serve.get("tensor_parallel_size", 1)),
               "--pipeline-parallel-size", str(serve.get("pipeline_parallel_size", 1))]
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


@contextlib.contextmanager
def served(serve: dict, model: str, log_path: str | os.PathLike) -> Iterator[str]:
    """Start a server for ``model``; yield its OpenAI base URL (…/v1); stop it however the block ends."""
    port = free_port()
    previous = signal.signal(signal.SIGTERM, _raise_cancelled)
    with open(log_path, "a", encoding="utf-8") as log:
        cmd = command(serve, model, port)
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        print(f"served model: pid {proc.pid}: {' '.join(cmd)}", file=log, flush=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc, serve.get("startup_timeout_s", 600))
            print(f"served model: healthy at {url}", file=log, flush=True)
            yield url + "/v1"
        finally:
            stop(proc)
            signal.signal(signal.SIGTERM, previous)
