"""The claims table: every comparison the study draws, as a paired difference — a target against raw traces, and
compression against length-matched truncation — per cell (teacher × student × regime × benchmark), on the seeds
both sides trained, item by item on the same benchmark items; beside it the paper's headline ratios, from cell means.
Also the training timings a speed-up rests on, used only where they compare fairly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from compress_distill.analysis.intervals import seed_item_interval
from compress_distill.core.grid import run_key
from compress_distill.core.target import ANSWER_ONLY, Target

RAW, COMPRESSED, TRUNCATED = "raw", "compressed", "truncated"  # target kinds (core.target.KINDS)

RUN_COLUMNS = ("block", "teacher", "student", "regime", "target", "seed")
CELL = ["teacher", "student", "regime", "benchmark"]
# the abstract's headline ranges, for the compressed-vs-raw rows' ratio columns (the caption quotes them)
PAPER = {"train_tokens_pct": "12–30%", "speedup_x": "2.0–7.6x", "output_length_reduction_x": "3–19x",
         "accuracy_retained_pct": "up to 96%", "per_token_efficiency_x": "up to 18x"}


def timings(runs: list[dict], metrics: dict[tuple, dict]) -> pd.DataFrame:
    """Measured training seconds and tokens/s per run, and the speed-up over the raw run of the same cell — only
    where the two timings compare fairly (:func:`unfair`); ``speedup_note`` says why not otherwise."""
    rows = []
    for run in runs:
        key = run_key(run)
        measured = metrics[key]["measured"]
        raw = metrics.get((*key[:3], "raw", key[4]))
        why = unfair(metrics[key], raw) if raw else "no raw run in this cell"
        rows.append({
            **{k: run[k] for k in RUN_COLUMNS},
            "train_seconds": measured["wall_seconds"], "tokens_per_second": measured["tokens_per_second"],
            "peak_memory_mb": measured["peak_memory_bytes"] / 2**20, "packing": metrics[key]["packing"],
            "load_average": measured.get("load_average", math.nan),
            "speedup_vs_raw": math.nan if why else raw["measured"]["wall_seconds"] / measured["wall_seconds"],
            "speedup_note": why or "",
        })
    return pd.DataFrame(rows)


def unfair(run: dict, raw: dict) -> str | None:
    """Why two runs' wall-clock times do not measure what their targets cost, or None: without padding-free packing
    a batch's padding (which differs by target length) is part of the time; a job that shared its cores (the load
    average above its threads, on CPU) ran slower for reasons that are not its own."""
    if not (run["packing"] and raw["packing"]):
        return "packing off: padding, which differs by target, is timed too"
    for measured in (run["measured"], raw["measured"]):
        on_cpu = not measured.get("gpu_seconds")
        if on_cpu and measured.get("load_average", math.inf) > measured.get("threads", 0) + 0.5:
            return "shared its CPU cores with other jobs (load average above its threads)"
    return None


def comparisons(targets: set[str]) -> list[tuple[str, str]]:
    """(target, reference) pairs a cell's targets allow: every compressed, adaptive or truncated target against
    raw, and each compressed target against the truncation to its lengths."""
    pairs = [(t, RAW) for t in sorted(targets) if RAW in targets and Target.parse(t).kind not in (RAW, ANSWER_ONLY)]
    for t in sorted(targets):
        target = Target.parse(t)
        if target.kind == COMPRESSED and f"{TRUNCATED}-{target.compressor}" in targets:
            pairs.append((t, f"{TRUNCATED}-{target.compressor}"))
    return pairs


def table(grid: pd.DataFrame, correct: dict[tuple, dict[str, np.ndarray]], timings_df: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison and cell (see the module docstring): the paired accuracy difference with its 95%
    interval (:func:`compress_distill.analysis.intervals.seed_item_interval`) and how many seeds agree in sign, the
    reading (a direction only where the interval excludes 0), and ratios of the two sides' means over the same
    seeds. Runs scoring below the answer-only run of their teacher, student, regime and seed are named (failed)."""
    rows = []
    for cell, runs in grid.groupby(CELL, sort=False):
        for target, reference in comparisons(set(runs.target)):
            a, b = runs[runs.target == target], runs[runs.target == reference]
            seeds = sorted(set(a.seed) & set(b.seed))
            a, b = a[a.seed.isin(seeds)].sort_values("seed"), b[b.seed.isin(seeds)].sort_values("seed")
            rows.append({**dict(zip(CELL, cell)), "target": target, "reference": reference, "seeds": len(seeds),
                         **_paired(cell, target, reference, seeds, correct), **_ratios(a, b),
                         **_speedup(timings_df, cell, target, seeds, reference),
                         "failed_runs": _failed(runs, pd.concat([a, b]))})
    return pd.DataFrame(rows, columns=COLUMNS)


COLUMNS = [*CELL, "target", "reference", "seeds", "accuracy_difference", "difference_ci_low", "difference_ci_high",
           "interval_over", "seeds_agreeing", "reading", "accuracy", "reference_accuracy", "train_tokens_pct",
           "train_completion_tokens_pct", "output_length_reduction_x", "accuracy_retained_pct",
           "per_token_efficiency_x", "speedup_x", "speedup_note", "failed_runs"]


def _paired(cell, target: str, reference: str, seeds: list[int], correct) -> dict:
    teacher, student, regime, bench = cell
    scores = np.vstack([correct[(teacher, student, regime, target, s)][bench].astype(float)
                        - correct[(teacher, student, regime, reference, s)][bench] for s in seeds])
    diff, low, high = seed_item_interval(scores, bounds=(-1.0, 1.0))
    per_seed = scores.mean(axis=1)
    agreeing = int((np.sign(per_seed) == np.sign(diff)).sum()) if diff else 0
    reading = ("target ahead" if low > 0 else "reference ahead" if high < 0 else "within noise") \
        if not math.isnan(low) else "no interval"
    return {"accuracy_difference": diff, "difference_ci_low": low, "difference_ci_high": high,
            "interval_over": "seeds and items" if len(seeds) > 1 else "items only (one seed)",
            "seeds_agreeing": f"{agreeing} of {len(seeds)}", "reading": reading}


def _ratios(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """The paper's headline ratios, each from the two sides' means over the same seeds."""
    acc, ref_acc = a.accuracy.mean(), b.accuracy.mean()
    out, ref_out = a.mean_output_tokens.mean(), b.mean_output_tokens.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"accuracy": acc, "reference_accuracy": ref_acc,
                "train_tokens_pct": 100 * a.train_tokens.mean() / b.train_tokens.mean(),
                "train_completion_tokens_pct": 100 * a.train_completion_tokens.mean() / b.train_completion_tokens.mean(),
                "output_length_reduction_x": ref_out / out,
                "accuracy_retained_pct": 100 * acc / ref_acc if ref_acc else math.nan,
                "per_token_efficiency_x": (acc / out) / (ref_acc / ref_out) if ref_acc else math.nan}


def _speedup(timings_df: pd.DataFrame, cell, target: str, seeds: list[int], reference: str) -> dict:
    if reference != RAW:
        return {"speedup_x": math.nan, "speedup_note": "timed against raw only"}
    teacher, student, regime, _ = cell
    t = timings_df[(timings_df.teacher == teacher) & (timings_df.student == student) & (timings_df.regime == regime)
                   & (timings_df.target == target) & timings_df.seed.isin(seeds)]
    fair = t.speedup_vs_raw.dropna()
    if len(fair) < len(seeds):
        notes = sorted(set(t.speedup_note) - {""})
        return {"speedup_x": math.nan, "speedup_note": "not measurable: " + "; ".join(notes)}
    return {"speedup_x": float(fair.mean()), "speedup_note": ""}


def _failed(cell_runs: pd.DataFrame, used: pd.DataFrame) -> str:
    """The runs of ``used`` scoring below the answer-only run of the same seed (they did not learn the task)."""
    floor = cell_runs[cell_runs.target == ANSWER_ONLY].set_index("seed").accuracy
    low = [f"{r.target} seed {r.seed} ({100 * r.accuracy:.1f}% < answer-only {100 * floor[r.seed]:.1f}%)"
           for r in used.itertuples() if r.seed in floor.index and r.target != ANSWER_ONLY and r.accuracy < floor[r.seed]]
    return "; ".join(low)
