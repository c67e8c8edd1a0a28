"""The preload server (compress_distill.infra.preload): a job handed to it runs in a fork with the job's argv, folder,
environment and streams, exits with the job's status, and dies with its job; without preloading a job runs in its
own process. Each test has its own server (its own TMPDIR), which exits by itself when idle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compress_distill.infra import preload
from conftest import ROOT

JOB = """
import json, os, sys, time
from compress_distill.infra import preload
preload.hand_off(sys.argv[0])
Path = __import__("pathlib").Path
Path(sys.argv[1]).write_text(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
    "argv": sys.argv[1:], "mark": os.environ.get("JOB_MARK"), "forked": os.environ.get(preload.CHILD)}))
print("to stdout", flush=True)
print("to stderr", file=sys.stderr, flush=True)
if sys.argv[2] == "sleep":
    time.sleep(120)
if sys.argv[2] == "raise":
    raise RuntimeError("job failed on purpose")
sys.exit(int(sys.argv[2]))
"""


@pytest.fixture
def job(tmp_path) -> Path:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    return script


def start(job: Path, tmp_path: Path, *args: str, enable: str = "1", tmpdir: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, preload.ENABLE: enable, "TMPDIR": str(tmpdir or tmp_path), "JOB_MARK": "m1",
           "PYTHONPATH": str(ROOT)}
    env.pop(preload.CHILD, None)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, str(job), str(tmp_path / "seen.json"), *args], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def seen(tmp_path: Path, timeout: float = 120) -> dict:
    path = tmp_path / "seen.json"
    deadline = time.time() + timeout
    while not path.exists() or not path.read_text():
        assert time.time() < deadline, "the job never started"
        time.sleep(0.05)
    return json.loads(path.read_text())


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_handed_off_job_runs_forked_as_itself_and_exits_with_its_status(job, tmp_path):
    proc = start(job, tmp_path, "3")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 3
    assert out == "to stdout\n" and "to stderr" in err
    first = seen(tmp_path)
    assert first["forked"] == "1" and first["ppid"] != proc.pid and first["pid"] != proc.pid
    assert first["cwd"] == str(tmp_path / "work") and first["mark"] == "m1"
    assert first["argv"] == [str(tmp_path / "seen.json"), "3"]

    (tmp_path / "seen.json").unlink()
    proc = start(job, tmp_path, "raise")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "RuntimeError: job failed on purpose" in err
    assert seen(tmp_path)["ppid"] == first["ppid"], "the second job did not fork from the same server"


def test_without_preloading_the_job_runs_in_its_own_process(job, tmp_path):
    proc = start(job, tmp_path, "0", enable="0")
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    got = seen(tmp_path)
    assert got["pid"] == proc.pid and got["forked"] is None


@pytest.mark.parametrize("how", ["killed", "terminated"])
def test_a_forked_job_dies_with_its_job(job, tmp_path, how):
    """SIGKILL leaves the server to notice the job's connection closing; SIGTERM is forwarded by the job."""
    proc = start(job, tmp_path, "sleep")
    child = seen(tmp_path)["pid"]
    assert child != proc.pid
    proc.send_signal(signal.SIGKILL if how == "killed" else signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == (-signal.SIGKILL if how == "killed" else 128 + signal.SIGTERM)
    assert gone(child), f"the forked job {child} outlived its job"


NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"  # one another user may run (this venv's may sit in root's home)
as_root = pytest.mark.skipif(os.getuid() != 0 or not os.access(SYSTEM_PYTHON, os.X_OK),
                             reason="acting as another user needs root (CI runs as root) and a system python3")


@pytest.mark.parametrize("squat", ["other-owner", "open-mode", "link"])
def test_a_socket_folder_not_this_users_alone_is_refused(job, tmp_path, shared, squat):
    """Someone who creates the socket folder first (its name is easy to guess) gets nothing: the job runs itself."""
    short = shared  # pytest's temporary folder is too long a path for a socket: /tmp would be used
    folder = short / f"compress-distill-preload-{os.getuid()}"
    if squat == "link":
        (short / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(short / "elsewhere")
    else:
        folder.mkdir(mode=0o700)
    if squat == "other-owner":
        if os.getuid() != 0:
            pytest.skip("giving a folder to another user needs root (CI runs as root)")
        os.chown(folder, NOBODY, NOBODY)
    if squat == "open-mode":
        folder.chmod(0o777)
    proc = start(job, tmp_path, "0", tmpdir=short)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and seen(tmp_path)["forked"] is None
    assert f"preload: refused: {folder}" in err
    assert not list(folder.glob("*.sock"))


@pytest.fixture
def shared():
    """A short folder another user can reach (pytest's own temporary folders are private), removed afterwards."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="preload-test-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@as_root
def test_the_server_runs_no_job_for_another_user(job, tmp_path, shared):
    folder = shared
    path = str(folder / "server.sock")
    server = subprocess.Popen([sys.executable, "-m", "compress_distill.infra.preload", path], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        while not os.path.exists(path):
            assert server.poll() is None, "the server did not start"
            time.sleep(0.05)
        os.chmod(path, 0o777)
        marker = folder / "ran"
        request = {"script": str(job), "argv": [str(job), str(marker), "0"], "cwd": str(folder), "env": {},
                   "path": sys.path}
        client = ("import socket, sys; c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])\n"
                  "try:\n    socket.send_fds(c, [sys.argv[2].encode() + b'\\n'], [0, 1, 2]); print(repr(c.recv(64)))\n"
                  "except OSError as err:\n    print(type(err).__name__)")
        reply = subprocess.run([SYSTEM_PYTHON, "-c", client, path, json.dumps(request)], user=NOBODY,
                               capture_output=True, text=True, timeout=60)
        assert reply.stdout.strip() in ("b''", "BrokenPipeError", "ConnectionResetError"), reply.stderr
        assert not marker.exists()  # closed unanswered, nothing ran
        assert preload._connect(path) is not None  # while this user's own connection is served
    finally:
        server.kill()


@as_root
def test_a_job_sends_nothing_to_a_server_of_another_user(shared):
    folder = shared
    path = str(folder / "other.sock")
    squatter = subprocess.Popen([SYSTEM_PYTHON, "-c", "import socket, sys, time; s = socket.socket(socket.AF_UNIX); "
                                 "s.bind(sys.argv[1]); s.listen(1); __import__('os').chmod(sys.argv[1], 0o777); "
                                 "time.sleep(60)", path], user=NOBODY)
    try:
        while not os.path.exists(path):
            time.sleep(0.05)
        time.sleep(0.2)
        assert preload._connect(path) is None
    finally:
        squatter.kill()
