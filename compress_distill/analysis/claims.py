"""The claims table: each headline of the abstract beside what this run measured, comparing like with like — and
the training timings its speed-up rests on, used only where they compare fairly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from compress_distill.core.grid import run_key
from compress_distill.core.target import Target

RUN_COLUMNS = ("block", "teacher", "student", "regime", "target", "seed")
# (claim, which way it reads, the abstract's range, the paired column it ranges over, scale)
CLAIMS = [
    ("training tokens, % of raw", "this target's tokens ÷ raw's; below 100 = fewer", "12–30%",
     "train_tokens_vs_raw", 100),
    ("training tokens, completions only, % of raw", "as above, prompts left out", "",
     "train_completion_tokens_vs_raw", 100),
    ("training speed-up vs raw, x", "raw's training time ÷ this target's; above 1 = faster", "2.0–7.6x",
     "speedup_vs_raw", 1),
    ("output-length reduction vs raw, x", "raw's mean output tokens ÷ this target's; above 1 = shorter", "3–19x",
     "output_length_reduction", 1),
    ("accuracy retained vs raw, %", "this target's accuracy ÷ raw's; above 100 = more accurate than raw", "up to 96%",
     "accuracy_vs_raw", 100),
    ("per-token efficiency vs raw, x", "(accuracy ÷ output tokens) ÷ raw's; above 1 = more efficient", "up to 18x",
     "per_token_efficiency_vs_raw", 1),
]
# the claims table's comparisons, each against the raw run of the same teacher, student, regime and seed
COMPARISONS = {"compressed": "compressed vs raw", "adaptive": "adaptive vs raw (beyond the paper)",
               "truncated": "truncated vs raw (length-matched ablation)"}


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


def table(efficiency_df: pd.DataFrame, timings_df: pd.DataFrame) -> pd.DataFrame:
    """Each headline of the abstract beside this run's range, per comparison (compressed vs raw; the truncation
    ablation in rows of its own), each pair being a run and the raw run of the same teacher, student, regime and
    seed (per benchmark). The abstract's ranges stand beside the compressed rows only."""
    def kind(df):
        return df.target.map(lambda name: Target.parse(name).kind)

    paired = efficiency_df.merge(timings_df[[*RUN_COLUMNS, "speedup_vs_raw", "speedup_note"]], on=list(RUN_COLUMNS),
                                 how="left")
    rows = []
    for comparison, label in COMPARISONS.items():
        pairs = paired[kind(paired) == comparison]
        for claim, direction, paper, column, scale in CLAIMS:
            v = (scale * pairs[column]).replace([np.inf, -np.inf], np.nan).dropna()
            rows.append({"comparison": label, "claim": claim, "direction": direction,
                         "paper": paper if comparison == "compressed" else "",
                         "this_run_min": float(v.min()) if len(v) else math.nan,
                         "this_run_max": float(v.max()) if len(v) else math.nan, "pairs": len(v),
                         "note": _note(pairs, column, len(v))})
    return pd.DataFrame(rows)


def _note(pairs: pd.DataFrame, column: str, counted: int) -> str:
    """Why a row rests on fewer pairs than the grid has (or on none)."""
    unfair_ = sorted(set(pairs["speedup_note"].dropna()) - {""}) if column == "speedup_vs_raw" else []
    if counted == 0 and unfair_:
        return "not measurable in this run: " + "; ".join(unfair_)
    if counted < len(pairs):
        why = "; ".join(unfair_) or "the raw run's value is zero (no finite ratio)"
        return f"{len(pairs) - counted} of {len(pairs)} pairs left out: {why}"
    return ""
