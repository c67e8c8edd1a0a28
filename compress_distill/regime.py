"""Data regimes: how many of the shared problem ids a student trains on.

Smaller regimes are nested in larger ones (a seeded order, then a prefix), so regimes differ only in amount of data.
"""

from __future__ import annotations

import random


def select(ids: list[str], size: int | None, seed: int) -> list[str]:
    """``size`` ids from ``ids`` (all when ``size`` is None), as a prefix of one seeded permutation."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    if size is not None and size > len(order):
        raise ValueError(f"regime asks for {size} problems but only {len(order)} survive verification and "
                         "compression; lower the regime size or generate more problems")
    return sorted(order if size is None else order[:size])
