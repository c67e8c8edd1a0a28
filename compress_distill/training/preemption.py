"""Preemption: SLURM sends SIGTERM before it kills a job (at its time limit — the profile asks for the signal ahead of
it — or to preempt it). Training then saves its checkpoint at the next step boundary and stops, so its rerun resumes
from that step instead of from the last periodic checkpoint. Workers of a distributed run may see the signal at
different steps (``torchrun`` forwards it to each): they agree at every step boundary (a MAX all-reduce of one flag),
so all of them save the same step, which a sharded checkpoint needs."""

from __future__ import annotations

import signal
import threading
from pathlib import Path


class Preempted(RuntimeError):
    pass


class StopOnSigterm:
    def __init__(self, install: bool, world: int):
        self.received, self.world = False, world
        self.previous = signal.signal(signal.SIGTERM, self._received) if install else None

    def _received(self, signum, frame) -> None:
        self.received = True

    def __enter__(self) -> StopOnSigterm:
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)

    def requested(self) -> bool:
        """Whether any worker received SIGTERM; collective (call it once per step on every worker)."""
        if self.world == 1:
            return self.received
        import torch

        flag = torch.tensor([float(self.received)])
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return bool(flag.item())

    @staticmethod
    def stop(requested: bool, step: int, total: int, folder: Path | None) -> None:
        """At a step boundary, after any checkpoint was written: stop if SIGTERM came."""
        if requested and step < total:
            saved = f"its state at step {step} is saved in {folder}" if folder else "no checkpoint folder was given"
            raise Preempted(f"training: stopped by SIGTERM after step {step}/{total}; {saved} — rerun to resume")


def on_sigterm(workers: int) -> StopOnSigterm:
    """A context that notes SIGTERM (handled in the main thread only: Python's rule); the previous handler is back
    when it ends."""
    return StopOnSigterm(threading.current_thread() is threading.main_thread(), workers)
