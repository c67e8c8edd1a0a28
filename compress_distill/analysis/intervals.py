"""Training seeds as a factor: per cell (teacher × student × regime × target × benchmark), the accuracy over its
seeds with an interval that accounts for both sources of variation — which seed trained the student, and which
benchmark items it was asked.

The interval is a two-level percentile bootstrap: each resample draws the cell's seeds with replacement, then, for
each seed drawn, that run's benchmark items with replacement; its statistic is the mean of the per-seed accuracies.
With one seed it is the item bootstrap alone, and the table says so (``interval_over``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CELL = ["block", "teacher", "student", "regime", "target", "benchmark"]


def two_level_interval(correct_by_seed: list[np.ndarray], resamples: int, seed: int,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean accuracy over seeds, resampling seeds and then items within each seed."""
    if not correct_by_seed or any(len(c) == 0 for c in correct_by_seed):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    k = len(correct_by_seed)
    drawn = rng.integers(0, k, size=(resamples, k))  # which seeds each resample uses
    means = np.zeros(resamples)
    for s, correct in enumerate(correct_by_seed):
        x = np.asarray(correct, dtype=float)
        # every resample gets a fresh draw of this seed's items for each time it drew this seed
        item_means = x[rng.integers(0, x.size, size=(resamples, k, x.size))].mean(axis=2)
        means += np.where(drawn == s, item_means, 0.0).sum(axis=1)
    means /= k
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def cells(grid: pd.DataFrame, correct: dict[tuple, dict[str, np.ndarray]], resamples: int, seed: int) -> pd.DataFrame:
    """One row per cell: its seeds, mean accuracy over them with the two-level interval, each seed's accuracy, and
    the means of output and training tokens. ``correct`` holds each run's per-item verdicts by run key, then
    benchmark."""
    rows = []
    for key, runs in grid.groupby(CELL, sort=False):
        runs = runs.sort_values("seed")
        by_seed = [correct[(r.teacher, r.student, r.regime, r.target, r.seed)][r.benchmark]
                   for r in runs.itertuples()]
        lo, hi = two_level_interval(by_seed, resamples, seed)
        rows.append({**dict(zip(CELL, key)), "seeds": len(runs), "accuracy_mean": float(runs.accuracy.mean()),
                     "accuracy_ci_low": lo, "accuracy_ci_high": hi,
                     "interval_over": "seeds and items" if len(runs) > 1 else "items (one seed)",
                     "accuracy_seed_sd": float(runs.accuracy.std(ddof=1)) if len(runs) > 1 else float("nan"),
                     "accuracy_by_seed": " ".join(f"{r.seed}:{r.accuracy:.4f}" for r in runs.itertuples()),
                     "mean_output_tokens": float(runs.mean_output_tokens.mean()),
                     "train_tokens": float(runs.train_tokens.mean())})
    return pd.DataFrame(rows, columns=[*CELL, "seeds", "accuracy_mean", "accuracy_ci_low", "accuracy_ci_high",
                                       "interval_over", "accuracy_seed_sd", "accuracy_by_seed",
                                       "mean_output_tokens", "train_tokens"])
