"""Preemption: SLURM sends SIGTERM before it kills a job (at its time limit — the profile asks for the signal ahead of
it — or to preempt it). A single-process training run then saves its checkpoint at the next step boundary and stops,
so its rerun resumes from that step instead of from the last periodic checkpoint. (Workers of a distributed run
would have to agree on the step: there SIGTERM keeps its default, and the run resumes from its last checkpoint.)"""

from __future__ import annotations

import signal
import threading
from pathlib import Path


class Preempted(RuntimeError):
    pass


class StopOnSigterm:
    def __init__(self, install: bool):
        self.requested = False
        self.previous = signal.signal(signal.SIGTERM, self._received) if install else None

    def _received(self, signum, frame) -> None:
        self.requested = True

    def __enter__(self) -> StopOnSigterm:
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)

    def check(self, step: int, total: int, folder: Path | None) -> None:
        """At a step boundary, after any checkpoint was written: stop if SIGTERM came."""
        if self.requested and step < total:
            saved = f"its state at step {step} is saved in {folder}" if folder else "no checkpoint folder was given"
            raise Preempted(f"training: stopped by SIGTERM after step {step}/{total}; {saved} — rerun to resume")


def on_sigterm(workers: int) -> StopOnSigterm:
    """A context whose ``requested`` SIGTERM sets (single-process runs in the main thread only: see the module's
    note); the previous handler is back when it ends."""
    return StopOnSigterm(install=workers == 1 and threading.current_thread() is threading.main_thread())
