"""The study's tables, one builder each (``BUILDERS``, by the names registered in :mod:`compress_distill.analysis.registry`),
computed from a loaded :class:`compress_distill.analysis.study.Study` and written as CSV, Markdown and LaTeX.

Only ``timings`` and ``claims`` (the measured speed-up; both in :mod:`compress_distill.analysis.claims`) hold wall-clock
measurements; the others hold counts, ratios and accuracies, byte-reproducible.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from compress_distill.analysis import claims, intervals
from compress_distill.analysis.claims import RUN_COLUMNS
from compress_distill.analysis.study import Study
from compress_distill.analysis.table_files import write_table
from compress_distill.core.grid import run_key
from compress_distill.core.target import ADAPTIVE, Target


def _frame(rows: list[dict], columns) -> pd.DataFrame:
    """A table from rows; with no rows (a grid without such runs) still its header, so every consumer works."""
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(columns))


def _run_benchmark_rows(runs: list[dict], metrics: dict[tuple, dict], summaries: dict[tuple, dict], columns):
    """One row per run × benchmark: the run's factors, the benchmark, then ``columns(metrics, summary)``."""
    for run in runs:
        key = run_key(run)
        for bench, summary in summaries[key].items():
            yield {**{k: run[k] for k in RUN_COLUMNS}, "benchmark": bench, **columns(metrics[key], summary)}


def main_grid(runs: list[dict], metrics: dict[tuple, dict], summaries: dict[tuple, dict]) -> pd.DataFrame:
    """One row per run × benchmark, with accuracy and efficiency relative to the raw run of the same
    teacher, student, regime, seed (NaN where that raw run is not in the grid)."""
    df = pd.DataFrame(_run_benchmark_rows(runs, metrics, summaries, lambda m, s: {
        "accuracy": s["accuracy"], "accuracy_ci_low": s["accuracy_ci_low"], "accuracy_ci_high": s["accuracy_ci_high"],
        "mean_output_tokens": s["mean_output_tokens"], "hit_cap_share": s["hit_cap_share"],
        "train_examples": m["examples"], "train_examples_over_max_length": m["examples_over_max_length"],
        "train_tokens": m["train_tokens"], "train_completion_tokens": m["completion_tokens"],
        "train_flops": float(m["train_flops"])}))
    raw = df[df.target == "raw"].set_index(["teacher", "student", "regime", "seed", "benchmark"])
    idx = pd.MultiIndex.from_frame(df[["teacher", "student", "regime", "seed", "benchmark"]])
    raw_acc = raw["accuracy"].reindex(idx).to_numpy()
    raw_out = raw["mean_output_tokens"].reindex(idx).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        df["accuracy_vs_raw"] = df["accuracy"].to_numpy() / raw_acc
        df["output_tokens_vs_raw"] = df["mean_output_tokens"].to_numpy() / raw_out
        df["per_token_efficiency_vs_raw"] = (df["accuracy"] / df["mean_output_tokens"]).to_numpy() / (raw_acc / raw_out)
    return df


def dataset_rows(rows: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Per file source (pool, benchmarks): rows read, usable, used, and every dropped row counted by reason."""
    from compress_distill.stages.problems import DROP_REASONS

    return _frame([{"source": name, **{k: c[k] for k in ("rows", "usable", "used")},
                    **{f"dropped_{r}": c[r] for r in DROP_REASONS}} for name, c in rows.items()],
                  ["source", "rows", "usable", "used", *(f"dropped_{r}" for r in DROP_REASONS)])


def decontamination(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Per held-out set (each benchmark, and the validation set): its items, the training problems each overlap check
    flagged, and how many left the pool."""
    return _frame([{"held_out": name, **c} for name, c in counts.items()], ["held_out", "items", "pool_removed"])


def verification(rejects: dict[str, list[dict]]) -> pd.DataFrame:
    rows = []
    for teacher, shards in rejects.items():
        total = {"traces": sum(s["traces"] for s in shards), "kept": sum(s["kept"] for s in shards)}
        reasons = {f"rejected_{k}": sum(s["rejects"].get(k, 0) for s in shards) for k in shards[0]["rejects"]}
        rows.append({"teacher": teacher, **total, **reasons, "kept_share": total["kept"] / max(1, total["traces"])})
    return _frame(rows, ["teacher", "traces", "kept", "kept_share"])


def compression(compressed: dict[tuple, pd.DataFrame], selections: dict[tuple, dict]) -> pd.DataFrame:
    """Per teacher × compressor: traces in and out, rejects by reason, ratios over every accepted trace and over the
    traces students trained on (the teacher's regimes whose targets use this compressor; absent if none does), and
    the problems it removed from those targets with their raw traces' mean length beside the kept ones'."""
    from compress_distill.stages.compressor import REJECT_REASONS

    rows = []
    for (teacher, comp), recs in compressed.items():
        ok = recs[recs.reject.isna()]
        using = [s for (t, _), s in selections.items() if t == teacher and comp in s["compressors"]]
        trained = ok[ok.id.isin(set().union(*(s["ids"] for s in using)))] if using else ok.iloc[:0]
        removed = using[0]["removed_by_compressor"][comp] if using else {"problems": 0, "mean_raw_chars": None}
        rows.append({
            "teacher": teacher, "compressor": comp, "traces_in": len(recs), "traces_out": len(ok),
            **{f"rejected_{k}": int((recs.reject == k).sum()) for k in REJECT_REASONS},
            "char_ratio": _ratio(ok, "chars", "raw_chars"), "token_ratio": _ratio(ok, "tokens", "raw_tokens"),
            "mean_raw_tokens": _mean(ok, "raw_tokens"), "mean_compressed_tokens": _mean(ok, "tokens"),
            "trained_traces": len(trained), "trained_char_ratio": _ratio(trained, "chars", "raw_chars"),
            "trained_token_ratio": _ratio(trained, "tokens", "raw_tokens"),
            "problems_removed_from_targets": removed["problems"],
            "removed_mean_raw_chars": _number(removed["mean_raw_chars"]),
            "kept_mean_raw_chars": _number(using[0]["shared_mean_raw_chars"]) if using else math.nan,
        })
    return _frame(rows, ["teacher", "compressor", "traces_in", "traces_out"])


def _number(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _ratio(recs: pd.DataFrame, num: str, den: str) -> float:
    total = int(recs[den].sum())
    return int(recs[num].sum()) / total if total else math.nan


def _mean(recs: pd.DataFrame, key: str) -> float:
    return float(np.mean(recs[key].to_numpy())) if len(recs) else math.nan


def truncation(truncated: dict[tuple, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for (teacher, comp), recs in truncated.items():
        rows.append({
            "teacher": teacher, "compressor": comp, "traces": len(recs),
            "mean_raw_chars": _mean(recs, "raw_chars"), "mean_compressed_chars": _mean(recs, "compressed_chars"),
            "mean_truncated_chars": _mean(recs, "chars"), "char_ratio_vs_raw": _ratio(recs, "chars", "raw_chars"),
            "mean_raw_steps": _mean(recs, "raw_steps"), "mean_compressed_steps": _mean(recs, "compressed_steps"),
            "mean_truncated_steps": _mean(recs, "steps"),
            "truncated_without_steps": int((recs["steps"] == 0).sum()) if len(recs) else 0,
        })
    return _frame(rows, ["teacher", "compressor", "traces", "mean_raw_chars", "mean_compressed_chars",
                         "mean_truncated_chars", "char_ratio_vs_raw", "mean_raw_steps", "mean_compressed_steps",
                         "mean_truncated_steps", "truncated_without_steps"])


def adaptive(choices: dict[tuple, dict]) -> pd.DataFrame:
    """Per teacher × student × regime that trains the adaptive target and per compressor: its pilot's validation
    accuracy, interval and output length, whether it was within the rule's margin, and which one was chosen."""
    rows = [{"teacher": t, "student": s, "regime": g, "compressor": p["compressor"], "validation_items": p["items"],
             "validation_accuracy": p["accuracy"], "accuracy_ci_low": p["accuracy_ci_low"],
             "accuracy_ci_high": p["accuracy_ci_high"], "mean_output_tokens": p["mean_output_tokens"],
             "margin_points": choice["rule"]["margin_points"], "within_margin": p["within_margin"],
             "chosen": p["chosen"]}
            for (t, s, g), choice in sorted(choices.items()) for p in choice["pilots"]]
    return _frame(rows, ["teacher", "student", "regime", "compressor", "validation_items", "validation_accuracy",
                         "accuracy_ci_low", "accuracy_ci_high", "mean_output_tokens", "margin_points",
                         "within_margin", "chosen"])


def efficiency(grid: pd.DataFrame, compressed: dict[tuple, pd.DataFrame], params_b: dict[str, float]) -> pd.DataFrame:
    """Per non-raw run: training tokens and FLOPs vs raw, output-length reduction, and the compute spent on the
    compression that produced its target (compressor tokens read + written; FLOPs = 2 · N · tokens)."""
    keys = ["teacher", "student", "regime", "seed", "benchmark"]
    raw = grid[grid.target == "raw"].set_index(keys)
    tokens = {key: int(recs.raw_tokens.sum() + recs.tokens.sum()) for key, recs in compressed.items()}  # read + written
    rows = []
    for _, r in grid[grid.target != "raw"].iterrows():
        key = tuple(r[k] for k in keys)
        if key not in raw.index:
            continue
        base = raw.loc[key]
        target = Target.parse(r["target"])  # answer-only: no compression spent; adaptive: every compressor's
        spent = [c for (t, c) in tokens if t == r["teacher"] and (c == target.compressor or target.kind == ADAPTIVE)]
        comp_tokens = sum(tokens[(r["teacher"], c)] for c in spent)
        rows.append({
            **{k: r[k] for k in ("block", "teacher", "student", "regime", "target", "seed", "benchmark")},
            "train_tokens_vs_raw": r["train_tokens"] / base["train_tokens"],
            "train_completion_tokens_vs_raw": r["train_completion_tokens"] / base["train_completion_tokens"],
            "train_flops_vs_raw": r["train_flops"] / base["train_flops"],
            "output_length_reduction": base["mean_output_tokens"] / r["mean_output_tokens"],
            "accuracy_vs_raw": r["accuracy_vs_raw"],
            "per_token_efficiency_vs_raw": r["per_token_efficiency_vs_raw"],
            "compression_tokens": comp_tokens,
            "compression_flops": sum(2 * params_b.get(c, 0.0) * 1e9 * tokens[(r["teacher"], c)] for c in spent),
        })
    return _frame(rows, [*RUN_COLUMNS, "benchmark", "train_tokens_vs_raw", "train_completion_tokens_vs_raw",
                         "train_flops_vs_raw", "output_length_reduction", "accuracy_vs_raw",
                         "per_token_efficiency_vs_raw", "compression_tokens", "compression_flops"])


def fingerprints(runs: list[dict], metrics: dict[tuple, dict], summaries: dict[tuple, dict]) -> pd.DataFrame:
    """Per run × benchmark, the bits behind the numbers: final training loss, sha256 of the trained weights and of
    the evaluation outputs. Two machines that agree here computed the same training and the same generations."""
    return pd.DataFrame(_run_benchmark_rows(runs, metrics, summaries, lambda m, s: {
        "steps": m["steps"], "final_loss": m["final_loss"], "weights_sha256": m["weights_sha256"],
        "outputs_sha256": s["outputs_sha256"]}))


def _once(build):
    """A table other tables are computed from, built once per study."""
    def get(study: Study) -> pd.DataFrame:
        if build.__name__ not in study.derived:
            study.derived[build.__name__] = build(study)
        return study.derived[build.__name__]

    return get


@_once
def _grid(study: Study) -> pd.DataFrame:
    return main_grid(study.runs, study.metrics, study.summaries)


@_once
def _efficiency(study: Study) -> pd.DataFrame:
    return efficiency(_grid(study), study.compressed, study.params_b)


@_once
def _timings(study: Study) -> pd.DataFrame:
    return claims.timings(study.runs, study.metrics)


# every table of compress_distill.analysis.registry.TABLES, by name
BUILDERS = {
    "main_grid": _grid,
    "cells": lambda study: intervals.cells(_grid(study), study.correct),
    "efficiency": _efficiency,
    "timings": _timings,
    "claims": lambda study: claims.table(_grid(study), study.correct, _timings(study)),
    "verification": lambda study: verification(study.rejects),
    "compression": lambda study: compression(study.compressed, study.selections),
    "truncation": lambda study: truncation(study.truncated),
    "adaptive": lambda study: adaptive(study.adaptive),
    "fingerprints": lambda study: fingerprints(study.runs, study.metrics, study.summaries),
    "dataset_rows": lambda study: dataset_rows(study.dataset_rows),
    "decontamination": lambda study: decontamination(study.decontamination),
}


def write_all(study: Study, names: list[str], folder: str | Path, log=print) -> None:
    """Build and write the named tables into ``folder``."""
    for name in names:
        df = BUILDERS[name](study)
        write_table(df, Path(folder) / name)
        log(f"{name}: {len(df)} rows")
