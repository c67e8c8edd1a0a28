"""Every grid the schema accepts builds its tables and figures, e.g. one with only the ``raw`` target."""

from __future__ import annotations

import numpy as np
import pytest

from compress_distill.analysis import claims, figures, intervals, tables


def _inputs(targets, seeds_=(0,)):
    runs = [{"block": "b", "teacher": "t", "student": s, "regime": "full", "target": target, "seed": seed}
            for s in ("s1", "s2") for target in targets for seed in seeds_]
    metrics, summaries = {}, {}
    for i, run in enumerate(runs):
        key = (run["teacher"], run["student"], run["regime"], run["target"], run["seed"])
        metrics[key] = {"examples": 10, "examples_over_max_length": 0, "train_tokens": 2000 - 100 * i,
                        "completion_tokens": 800 - 100 * i, "packing": True, "train_flops": 1e9, "steps": 3,
                        "final_loss": 1.5, "weights_sha256": "ab" * 32,
                        "measured": {"wall_seconds": 2.0 + i, "tokens_per_second": 500.0, "peak_memory_bytes": 2**20}}
        summaries[key] = {"arith": {"accuracy": 0.5 + 0.1 * i, "accuracy_ci_low": 0.4, "accuracy_ci_high": 0.9,
                                    "mean_output_tokens": 40.0 - i, "hit_cap_share": 0.0, "outputs_sha256": "cd" * 32}}
    return runs, metrics, summaries


@pytest.mark.parametrize("targets", [["raw"], ["answer-only"], ["raw", "answer-only"]])
def test_tables_and_figures_for_a_grid_without_compressed_runs(tmp_path, targets):
    runs, metrics, summaries = _inputs(targets)
    grid = tables.main_grid(runs, metrics, summaries)
    efficiency = tables.efficiency(grid, {}, {})
    timing = claims.timings(runs, metrics)
    correct = {k: {"arith": np.arange(10) < 5 + i} for i, k in enumerate(metrics)}
    built = {"main_grid": grid, "cells": intervals.cells(grid, correct), "efficiency": efficiency, "timings": timing,
             "claims": claims.table(grid, correct, timing), "truncation": tables.truncation({}),
             "compression": tables.compression({}, {}), "verification": tables.verification({})}
    for name, df in built.items():
        tables.write_table(df, tmp_path / name)
        assert (tmp_path / f"{name}.csv").read_text().strip(), name  # a header at least
    assert len(grid) == len(runs)
    assert built["claims"].empty  # nothing to compare without a compressed or truncated target beside raw
    figures.make_all({name: tmp_path / f"{name}.csv" for name in ("main_grid", "cells", "timings")}, tmp_path)
    assert all((tmp_path / f"{name}.png").stat().st_size > 0 for name in figures.BUILDERS)


def test_tables_and_figures_for_a_grid_with_several_seeds(tmp_path):
    runs, metrics, summaries = _inputs(["raw", "compressed-lean", "answer-only"], seeds_=(0, 1, 2))
    grid = tables.main_grid(runs, metrics, summaries)
    correct = {k: {"arith": np.arange(100) < round(100 * summaries[k]["arith"]["accuracy"]) % 100} for k in metrics}
    cells = intervals.cells(grid, correct)
    assert len(cells) == len(grid) // 3 and set(cells["seeds"]) == {3}
    for name, df in {"main_grid": grid, "cells": cells, "timings": claims.timings(runs, metrics)}.items():
        tables.write_table(df, tmp_path / name)
    figures.make_all({name: tmp_path / f"{name}.csv" for name in ("main_grid", "cells", "timings")}, tmp_path)
    assert all((tmp_path / f"{name}.png").stat().st_size > 0 for name in figures.BUILDERS)
