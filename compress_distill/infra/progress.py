"""Progress of a long loop, for its log line: seconds per step and the time left."""

from __future__ import annotations


def progress(done_steps: int, left_steps: int, seconds: float, unit: str = "step") -> str:
    """``(1.30 s/step, ETA 0h04m12s)`` from this process's steps so far (a resumed run counts from its resume)."""
    per_step = seconds / max(done_steps, 1)
    eta = round(per_step * left_steps)
    return f"({per_step:.2f} s/{unit}, ETA {eta // 3600}h{eta % 3600 // 60:02d}m{eta % 60:02d}s)"
