"""Training seeds as a factor: per cell (teacher × student × regime × target × benchmark), the accuracy over its
seeds with an interval that accounts for both sources of variation — which seed trained the student, and which
benchmark items it was asked — and the same interval for paired differences of two targets (claims).

Every seed answers the same items, so the two are estimated apart (:func:`seed_item_interval`); with one seed the
interval is over items alone, and the tables say so (``interval_over``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

CELL = ["block", "teacher", "student", "regime", "target", "benchmark"]


def t_cdf(t: float, df: int) -> float:
    """Student's t distribution function for integer ``df`` (closed forms: Abramowitz & Stegun 26.7.3–4)."""
    x = math.atan(t / math.sqrt(df))
    if df == 1:
        return 0.5 + x / math.pi
    sin, cos2 = math.sin(x), math.cos(x) ** 2
    odd = df % 2
    term = total = math.cos(x) if odd else 1.0
    for k in range(3 if odd else 2, df, 2):
        term *= (k - 1) / k * cos2
        total += term
    return 0.5 + (x + sin * total) / math.pi if odd else 0.5 + 0.5 * sin * total


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (p > 0.5) of Student's t with ``df`` degrees of freedom, by bisection."""
    lo, hi = 0.0, 1e4
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def seed_item_interval(scores: np.ndarray, level: float = 0.95,
                       bounds: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, float, float]:
    """(mean, low, high) of a (seeds × items) array of per-item scores — verdicts (0/1), or paired differences of
    two runs of each seed on the same items (-1, 0, 1). Every seed answers the same items, so both sources of
    variation are estimated apart: SE² = s²(seed means)/k + s²(item means over seeds)/n, with Student's t on k - 1
    degrees of freedom where the seed term is the larger, else on Welch–Satterthwaite's (rounded down). At 3 seeds the
    interval stretches as it must (t = 4.30), where a bootstrap over 3 seeds has 10 distinct resamples and covers
    too little (simulated coverage: tests/test_seeds.py). One seed: items only (seed-to-seed variation cannot be
    estimated; the table says so). The interval is clipped to ``bounds`` (an accuracy lies in [0, 1])."""
    x = np.asarray(scores, dtype=float)
    k, n = x.shape
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan
    items = x.mean(axis=0).var(ddof=1) / n
    seeds = x.mean(axis=1).var(ddof=1) / k if k > 1 else 0.0
    se2 = seeds + items
    if se2 == 0:
        return mean, mean, mean
    df = k - 1 if seeds > items else se2**2 / (seeds**2 / max(k - 1, 1) + items**2 / (n - 1))
    half = t_quantile(1 - (1 - level) / 2, max(1, int(df))) * math.sqrt(se2)
    return mean, max(mean - half, bounds[0]), min(mean + half, bounds[1])


def cells(grid: pd.DataFrame, correct: dict[tuple, dict[str, np.ndarray]]) -> pd.DataFrame:
    """One row per cell: its seeds, mean accuracy over them with its 95% interval over seeds and items
    (:func:`seed_item_interval`), each seed's accuracy, and the means of output and training tokens. ``correct`` holds
    each run's per-item verdicts by run key, then benchmark (every run of a benchmark answers its items in order)."""
    rows = []
    for key, runs in grid.groupby(CELL, sort=False):
        runs = runs.sort_values("seed")
        by_seed = np.vstack([correct[(r.teacher, r.student, r.regime, r.target, r.seed)][r.benchmark]
                             for r in runs.itertuples()])
        _, lo, hi = seed_item_interval(by_seed, bounds=(0.0, 1.0))
        rows.append({**dict(zip(CELL, key)), "seeds": len(runs), "accuracy_mean": float(runs.accuracy.mean()),
                     "accuracy_ci_low": lo, "accuracy_ci_high": hi,
                     "interval_over": "seeds and items" if len(runs) > 1 else "items only (one seed)",
                     "accuracy_seed_sd": float(runs.accuracy.std(ddof=1)) if len(runs) > 1 else float("nan"),
                     "accuracy_by_seed": " ".join(f"{r.seed}:{r.accuracy:.4f}" for r in runs.itertuples()),
                     "mean_output_tokens": float(runs.mean_output_tokens.mean()),
                     "train_tokens": float(runs.train_tokens.mean())})
    return pd.DataFrame(rows, columns=[*CELL, "seeds", "accuracy_mean", "accuracy_ci_low", "accuracy_ci_high",
                                       "interval_over", "accuracy_seed_sd", "accuracy_by_seed",
                                       "mean_output_tokens", "train_tokens"])
