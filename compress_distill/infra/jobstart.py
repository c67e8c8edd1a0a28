"""What every rule script does first: send output to the rule's log and pin thread counts."""

from __future__ import annotations

import atexit
import errno
import logging
import os
import sys
import traceback

from compress_distill.infra import preload


def job_threads(smk) -> int:
    """The threads the rule asked for. Snakemake lowers ``threads`` to ``--cores`` when that is smaller; the
    rule's own count (resource ``fixed_threads``) is used instead, because CPU results may depend on it."""
    return max(1, int(smk.resources.get("fixed_threads", smk.threads)))


def fingerprint(smk, inputs: list) -> str:
    """The job's fingerprint (:func:`compress_distill.infra.identity.job_fingerprint`) over its params and ``inputs`` (each
    a path, or a list of paths as Snakemake gives a named input of several — or no — files)."""
    from compress_distill.infra.identity import job_fingerprint

    paths = [p for item in inputs for p in ([item] if isinstance(item, str) else item)]
    return job_fingerprint(dict(smk.params.items()), paths)


def start(smk, name: str, torch: bool = False) -> logging.Logger:
    """Log to ``smk.log[0]`` (stdout and stderr too, so library warnings and progress bars land there), and pin
    thread counts (OpenMP, MKL) to the rule's threads so results do not depend on where the job ran. Jobs that
    compute with torch say so (``torch``): where the run preloads, the job runs in a fork of the preload server
    (:mod:`compress_distill.infra.preload`); they also call :func:`compress_distill.numerics.pins.pin_torch`."""
    if torch:
        preload.hand_off(sys.argv[0])  # Snakemake runs the job's script as ``python <script>``
    log_path = smk.log[0]
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    open(log_path, "w").close()
    # append mode: a served model's output goes to the same log without overwriting each other
    stream = open(log_path, "a", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    threads = job_threads(smk)
    os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false")
    sys.excepthook = _report_failure(name, log_path)
    record_software(smk, name, log_path)
    log = logging.getLogger(name)
    if os.environ.get(preload.CHILD):
        log.info(preload.FORKED, os.getppid())
    atexit.register(_log_peak_memory, log)
    return log


PEAK_MEMORY = "peak memory {:.0f} MB (max RSS)"


def _log_peak_memory(log: logging.Logger) -> None:
    """The job's exact peak memory, last in its log: Snakemake's benchmark samples it and misses short peaks."""
    import resource

    log.info(PEAK_MEMORY.format(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


SOFTWARE_SUFFIX = ".software.json"


def record_software(smk, stage: str, log_path: str) -> None:
    """Beside the job's log: the versions of the distributions its code imports (its identity names them), as
    installed where the job runs — its own conda env, container or venv. The manifest collects them per stage."""
    import importlib.metadata
    import platform

    from compress_distill.infra.io import write_json

    found = {}
    identity = getattr(getattr(smk, "params", None), "identity", {})  # every rule has one; a bare caller none
    for dist in sorted(identity.get("software", {})):
        if dist == "python":
            continue
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "not installed"
    write_json(log_path + SOFTWARE_SUFFIX, {"stage": stage, "python": platform.python_version(), "versions": found},
               record=False)


def failure_line(stage: str, err: BaseException, log_path: str) -> str:
    """What a failed job says on the terminal, in one line: the stage, what failed (the file, when one is known)
    and what to do; the traceback stays in the log."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {err.filename}" if err.filename else ""
        what = (f"no space left on the device{where}; free space there and rerun snakemake (finished jobs are "
                f"kept, resumable ones resume)")
    else:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        what = f"{type(err).__name__}: {first}" if first else type(err).__name__
    return f"{stage} failed: {what} (log: {log_path})"


def _report_failure(stage: str, log_path: str):
    def hook(kind, err, tb):
        try:  # the traceback to the log; on a full disk that write fails too
            traceback.print_exception(kind, err, tb)
            sys.stderr.flush()
        except OSError:
            pass
        sys.__stderr__.write(failure_line(stage, err, log_path) + "\n")
        sys.__stderr__.flush()

    return hook
