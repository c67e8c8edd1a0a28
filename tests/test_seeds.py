"""Seeds as a factor: a cell's interval covers seed-to-seed variation as well as benchmark items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compress_distill.analysis import intervals
from compress_distill.stages import evaluation


def _verdicts(accuracy: float, items: int, rng) -> np.ndarray:
    return rng.permutation(np.arange(items) < round(accuracy * items))


def test_the_interval_widens_with_seed_spread_and_reduces_to_items_for_one_seed():
    rng = np.random.default_rng(3)
    one = _verdicts(0.6, 200, rng)[None, :]
    _, lo, hi = intervals.seed_item_interval(one)
    item_lo, item_hi = evaluation.bootstrap_ci(list(one[0]), 2000, 0)
    assert lo == pytest.approx(item_lo, abs=0.01) and hi == pytest.approx(item_hi, abs=0.01)
    spread = np.vstack([_verdicts(a, 200, rng) for a in (0.3, 0.6, 0.9)])
    alike = np.vstack([_verdicts(0.6, 200, rng) for _ in range(3)])
    _, s_lo, s_hi = intervals.seed_item_interval(spread)
    _, a_lo, a_hi = intervals.seed_item_interval(alike)
    assert s_lo < 0.6 < s_hi and a_lo < 0.6 < a_hi
    assert s_hi - s_lo > 3 * (a_hi - a_lo)  # seeds 30 points apart: the items-only width would hide it
    pooled_lo, pooled_hi = evaluation.bootstrap_ci(list(np.concatenate(spread)), 2000, 0)
    assert s_hi - s_lo > 3 * (pooled_hi - pooled_lo)


def test_a_cell_reports_its_seeds_their_mean_and_each_seeds_accuracy():
    rng = np.random.default_rng(5)
    rows, correct = [], {}
    for target, accuracies in [("raw", (0.5, 0.7, 0.9)), ("answer-only", (0.2,))]:
        for s, acc in enumerate(accuracies):
            verdicts = _verdicts(acc, 100, rng)
            correct[("t", "st", "full", target, s)] = {"arith": verdicts}
            rows.append({"block": "main", "teacher": "t", "student": "st", "regime": "full", "target": target,
                         "seed": s, "benchmark": "arith", "accuracy": verdicts.mean(),
                         "mean_output_tokens": 10.0 + s, "train_tokens": 100 * (s + 1)})
    table = intervals.cells(pd.DataFrame(rows), correct).set_index("target")
    raw, answer_only = table.loc["raw"], table.loc["answer-only"]
    assert raw["seeds"] == 3 and raw["accuracy_mean"] == pytest.approx(0.7)
    assert raw["accuracy_by_seed"] == "0:0.5000 1:0.7000 2:0.9000" and raw["interval_over"] == "seeds and items"
    assert raw["accuracy_seed_sd"] == pytest.approx(0.2) and raw["mean_output_tokens"] == pytest.approx(11.0)
    assert raw["accuracy_ci_low"] < 0.7 < raw["accuracy_ci_high"]
    assert answer_only["seeds"] == 1 and answer_only["interval_over"] == "items only (one seed)"
    assert np.isnan(answer_only["accuracy_seed_sd"])


# ---- coverage: benchmark items of varying difficulty shared by every seed, a random effect per training run, and
# ---- per run × item noise (logit scale); the truth is the expected accuracy over runs and items
SEED_SD, ITEM_SD, RUN_ITEM_SD, ITEMS = 0.5, 1.5, 0.8, 200


def _expected_accuracy(logit: float) -> float:
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    scale = np.sqrt(SEED_SD**2 + ITEM_SD**2 + RUN_ITEM_SD**2)
    return float((weights / weights.sum()) @ (1 / (1 + np.exp(-(logit + scale * nodes)))))


def _runs(rng, logit: float, item_effects: np.ndarray, seeds: int) -> np.ndarray:
    z = logit + rng.normal(0, SEED_SD, (seeds, 1)) + item_effects + rng.normal(0, RUN_ITEM_SD, (seeds, ITEMS))
    return (rng.random((seeds, ITEMS)) < 1 / (1 + np.exp(-z))).astype(float)


def _coverage(method, paired: bool, reps: int, seeds: int = 3) -> float:
    rng = np.random.default_rng(20261207)
    truth = _expected_accuracy(0.2) - (_expected_accuracy(-0.2) if paired else 0)
    hits = 0
    for _ in range(reps):
        items = rng.normal(0, ITEM_SD, ITEMS)
        scores = _runs(rng, 0.2, items, seeds) - (_runs(rng, -0.2, items, seeds) if paired else 0)
        low, high = method(scores)
        hits += low <= truth <= high
    return hits / reps


def _two_level_bootstrap(scores, resamples: int = 300):
    """The interval the tables used before: a percentile bootstrap drawing seeds, then each drawn seed's items."""
    rng = np.random.default_rng(0)
    k, n = scores.shape
    drawn = rng.integers(0, k, size=(resamples, k))
    items = rng.integers(0, n, size=(resamples, k, n))
    means = scores[drawn[:, :, None], items].mean(axis=(1, 2))
    return tuple(np.quantile(means, [0.025, 0.975]))


def _seed_item(scores):
    return intervals.seed_item_interval(scores)[1:]


def test_cell_and_paired_intervals_cover_about_95_percent_at_three_seeds():
    assert 0.93 <= _coverage(_seed_item, paired=False, reps=1500) <= 0.97
    assert 0.93 <= _coverage(_seed_item, paired=True, reps=1500) <= 0.97
    # the control: the percentile bootstrap over 3 seeds (10 distinct seed resamples) covers far too little
    assert _coverage(_two_level_bootstrap, paired=False, reps=300) < 0.85


def test_student_t_quantiles():
    assert [round(intervals.t_quantile(0.975, df), 3) for df in (1, 2, 3, 10, 100)] == \
        [12.706, 4.303, 3.182, 2.228, 1.984]
