"""What every rule script does first: send output to the rule's log and pin thread counts."""

from __future__ import annotations

import logging
import os
import sys


def job_threads(smk) -> int:
    """The threads the rule asked for. Snakemake lowers ``threads`` to ``--cores`` when that is smaller; the
    rule's own count (resource ``fixed_threads``) is used instead, because CPU results may depend on it."""
    return max(1, int(smk.resources.get("fixed_threads", smk.threads)))


def fingerprint(smk, inputs: list) -> str:
    """The job's fingerprint (:func:`compress_distill.identity.job_fingerprint`) over its params and ``inputs`` (each
    a path, or a list of paths as Snakemake gives a named input of several — or no — files)."""
    from .identity import job_fingerprint

    paths = [p for item in inputs for p in ([item] if isinstance(item, str) else item)]
    return job_fingerprint(dict(smk.params.items()), paths)


def start(smk, name: str) -> logging.Logger:
    """Log to ``smk.log[0]`` (stdout and stderr too, so library warnings and progress bars land there), and pin
    thread counts (OpenMP, MKL) to the rule's threads so results do not depend on where the job ran. Jobs that
    compute with torch also call :func:`compress_distill.numerics.pin_torch`."""
    log_path = smk.log[0]
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    open(log_path, "w").close()
    # append mode: a served model's output goes to the same log without overwriting each other
    stream = open(log_path, "a", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    threads = job_threads(smk)
    os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false")
    return logging.getLogger(name)
