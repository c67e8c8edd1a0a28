"""Torch jobs of a local run started as forks of one process that has already imported torch and transformers.

Each torch job of the demo spends ~10 s of CPU importing torch, transformers and peft before it computes (a 2.5 GHz
cloud core; ~100 such jobs). With ``cpu.preload: true`` the first torch job starts a server that imports them once
and waits on a Unix socket; every torch job (``runtime.start(..., torch=True)``) sends it its script, argv, folder,
environment and standard streams; the server forks a child that runs the script, and the job exits with its status.

A child is the same as a fresh process: the server is keyed by the job's whole environment, interpreter and
installed packages (never a server that imported under other CPU pins or another install; a SLURM job's id is in its
environment); it imports third-party libraries only (a child reads this package from disk), builds no more than their
lookup tables, and never computes, so no thread pool exists before a fork. A job that reaches no server runs itself.
Socket and server are this user's alone (:mod:`compress_distill.infra.private_socket`).

Lifetime: the server leaves its session (a Ctrl-C to Snakemake does not reach it), kills a child's process group
when its job goes away (killed by Snakemake, a signal or a crash), forwards SIGINT/SIGTERM sent to a job, and exits
after ``IDLE_SECONDS`` without children. A forked job's Snakemake benchmark measures the waiting job: its wall time is
right; the job's peak memory is the one its log states.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import sysconfig
import time

from compress_distill.infra.private_socket import NotPrivate, same_user, socket_in_temp

ENABLE = "COMPRESS_DISTILL_PRELOAD"  # "1": torch jobs fork from the server (set by the workflow from cpu.preload)
CHILD = "COMPRESS_DISTILL_PRELOADED"  # set in a forked child: it runs the job itself
LIBRARIES = ("numpy", "torch", "safetensors.torch", "tokenizers", "transformers", "transformers.modeling_utils",
             "transformers.generation.utils", "transformers.models.qwen3.modeling_qwen3",
             "transformers.models.auto.modeling_auto", "transformers.models.auto.tokenization_auto", "peft",
             "snakemake.script", "jsonschema")  # what torch jobs import that costs seconds; absent ones skipped
FORKED = "started in a fork of the preload server (pid %d)"  # the job's log says so
IDLE_SECONDS = 30
START_SECONDS = 300  # a server still importing after this long is taken for broken
STREAMS = (0, 1, 2)


def server_key(env: dict) -> str:
    """What a server's imports depend on: the interpreter, the installed packages (their folder changes on every
    install) and the whole environment (CPU pins and thread counts are read at import)."""
    site = sysconfig.get_paths()["purelib"]
    parts = [sys.executable, site, str(os.stat(site).st_mtime_ns), json.dumps(sorted(env.items()))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def socket_path(env: dict) -> str:
    """The server's socket, in this user's private folder (NotPrivate where that folder is not this user's alone)."""
    return socket_in_temp(f"compress-distill-preload-{os.getuid()}", server_key(env))


def hand_off(script: str) -> None:
    """Run ``script`` (this job's) in a child of the preload server and exit with the child's status; return at
    once where preloading is off, in the child itself, or when no server can be reached (the job then runs here)."""
    if os.environ.get(ENABLE) != "1" or os.environ.get(CHILD):
        return
    env = dict(os.environ)
    try:
        path = socket_path(env)
    except NotPrivate as err:
        print(f"preload: refused: {err}; this job runs in its own process", file=sys.stderr)
        return
    for _ in range(3):  # a server may exit idle between our connect and its accept: start another
        conn = _connect(path) or _start_server(path, env)
        if conn is None:
            print(f"preload: no server came up (see {path}.log); this job runs in its own process", file=sys.stderr)
            return
        request = {"script": script, "argv": sys.argv, "cwd": os.getcwd(), "env": {**env, CHILD: "1"},
                   "path": sys.path}
        try:
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], list(STREAMS))
            reply = conn.makefile("rb")
            pid = int(reply.readline())  # b"" (the server closed first): ValueError
        except (OSError, ValueError):
            conn.close()
            continue
        sys.exit(_wait(reply, pid))


def _wait(reply, pid: int) -> int:
    """The child's exit status; SIGINT/SIGTERM sent to this job go to the child's process group meanwhile."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, _frame: _signal_group(pid, received))
    try:
        return int(reply.readline())
    except (OSError, ValueError):  # the server went away
        return 1


def _connect(path: str) -> socket.socket | None:
    """A connection to a server of this user's (one run by anyone else is never sent a job)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(OSError):
        conn.connect(path)
        if same_user(conn):
            return conn
    conn.close()
    return None


def _start_server(path: str, env: dict) -> socket.socket | None:
    """Start a server for ``path`` (one job at a time, under a lock) and connect once it listens; None if it
    does not come up."""
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = _connect(path)
        if conn:
            return conn
        if os.path.exists(path):  # left by a server that died
            os.unlink(path)
        with open(path + ".log", "w") as log:
            server = subprocess.Popen([sys.executable, "-m", __name__, path], env=env, start_new_session=True,
                                      stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and server.poll() is None:
            conn = _connect(path)
            if conn:
                return conn
            time.sleep(0.05)
        return None


def preload() -> None:
    import importlib
    for name in LIBRARIES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # transformers' checkpoint-renaming table (~1,000 regexes, ~0.5 s), built on first use: here once, for every child
    with contextlib.suppress(ImportError, AttributeError):
        importlib.import_module("transformers.conversion_mapping").get_checkpoint_conversion_mapping("qwen3")


def serve(path: str) -> None:
    """Import the libraries, listen on ``path``, fork a child per request; exit when idle."""
    preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}.tmp"
    listener.bind(tmp)
    listener.listen(16)
    os.rename(tmp, path)  # clients connect only once the imports are done
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    idle_since = time.monotonic()
    while children or time.monotonic() - idle_since < IDLE_SECONDS:
        for key, _ in selector.select(timeout=0.2):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                if not same_user(conn):  # only this user's jobs are run
                    conn.close()
                    continue
                pid = _fork_child(conn, [listener, selector, *children.values()])
                if pid:
                    children[pid] = conn
                    selector.register(conn, selectors.EVENT_READ, pid)
            elif not key.fileobj.recv(1):  # the job went away: so does its child
                _signal_group(key.data, signal.SIGKILL)
        for pid, status in [os.waitpid(pid, os.WNOHANG) for pid in list(children)]:
            if not pid:
                continue
            conn = children.pop(pid)
            selector.unregister(conn)
            try:
                code = os.waitstatus_to_exitcode(status)
                conn.sendall(f"{code if code >= 0 else 128 - code}\n".encode())  # a shell's code for a signal
            except OSError:
                pass
            conn.close()
            idle_since = time.monotonic()
    os.unlink(path)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _fork_child(conn: socket.socket, server_files: list) -> int | None:
    """Fork a child for the request on ``conn``; return its pid (told to the job), or None for a bad request.
    The child closes the server's own files (its socket, selector, other jobs' connections)."""
    try:
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, len(STREAMS))
        request = json.loads(message)
    except (OSError, ValueError):
        conn.close()
        return None
    pid = os.fork()
    if pid == 0:
        for f in [conn, *server_files]:
            f.close()
        _run_child(request, fds)
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    return pid


def _run_child(request: dict, fds: list[int]) -> None:
    """Become the job: its streams, folder, environment, argv and import path; run its script; exit with its code."""
    code = 1
    try:
        os.setpgid(0, 0)
        for target, fd in zip(STREAMS, fds):
            os.dup2(fd, target)
            os.close(fd)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv, sys.path[:] = request["argv"], request["path"]
        for name in [m for m in sys.modules if m.split(".")[0] == __package__]:
            del sys.modules[name]  # this package's code is read from disk by the child, never from the server
        code = _run_script(request["script"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run_script(script: str) -> int:
    import runpy

    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    atexit._run_exitfuncs()
    return code


if __name__ == "__main__":
    serve(sys.argv[1])
