"""Seeds as a factor: a cell's interval covers seed-to-seed variation as well as benchmark items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compress_distill.analysis import intervals
from compress_distill.stages import evaluation


def _verdicts(accuracy: float, items: int, rng) -> np.ndarray:
    return rng.permutation(np.arange(items) < round(accuracy * items))


def test_the_two_level_interval_widens_with_seed_spread_and_reduces_to_items_for_one_seed():
    rng = np.random.default_rng(3)
    one = [_verdicts(0.6, 200, rng)]
    lo, hi = intervals.two_level_interval(one, 2000, 0)
    item_lo, item_hi = evaluation.bootstrap_ci(list(one[0]), 2000, 0)
    assert lo == pytest.approx(item_lo, abs=0.02) and hi == pytest.approx(item_hi, abs=0.02)
    spread = [_verdicts(a, 200, rng) for a in (0.3, 0.6, 0.9)]
    alike = [_verdicts(0.6, 200, rng) for _ in range(3)]
    s_lo, s_hi = intervals.two_level_interval(spread, 2000, 0)
    a_lo, a_hi = intervals.two_level_interval(alike, 2000, 0)
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
    table = intervals.cells(pd.DataFrame(rows), correct, 500, 0).set_index("target")
    raw, answer_only = table.loc["raw"], table.loc["answer-only"]
    assert raw["seeds"] == 3 and raw["accuracy_mean"] == pytest.approx(0.7)
    assert raw["accuracy_by_seed"] == "0:0.5000 1:0.7000 2:0.9000" and raw["interval_over"] == "seeds and items"
    assert raw["accuracy_seed_sd"] == pytest.approx(0.2) and raw["mean_output_tokens"] == pytest.approx(11.0)
    assert raw["accuracy_ci_low"] < 0.7 < raw["accuracy_ci_high"]
    assert answer_only["seeds"] == 1 and answer_only["interval_over"] == "items (one seed)"
    assert np.isnan(answer_only["accuracy_seed_sd"])
