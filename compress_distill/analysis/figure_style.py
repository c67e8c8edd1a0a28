"""What every figure shares: one colour and marker per target across figures, panels, legends, a cell's point
with its interval and seeds, the notes under a figure (identical results), and byte-reproducible saving."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from compress_distill.analysis.intervals import t_quantile  # noqa: E402
from compress_distill.core.target import Target  # noqa: E402
from compress_distill.infra.io import atomic_path  # noqa: E402

PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
PNG_METADATA = {"Software": None}
DPI = 300
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "h")
CI = "95% CI over seeds and items"


def save(fig, stem: str | Path) -> None:
    stem = str(stem)
    with atomic_path(stem + ".pdf", record=True) as tmp:
        fig.savefig(tmp, format="pdf", metadata=PDF_METADATA, bbox_inches="tight")
    with atomic_path(stem + ".png", record=True) as tmp:
        fig.savefig(tmp, format="png", metadata=PNG_METADATA, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def set_style() -> None:
    plt.rcParams.update({"svg.hashsalt": "compress-distill", "pdf.fonttype": 42})
    sns.set_theme(style="whitegrid", context="paper")


def target_order(targets) -> list[str]:
    return sorted(set(targets), key=lambda name: Target.parse(name).rank)


def target_styles(targets) -> dict[str, tuple]:
    """(colour, marker) per target, in target order over every target of the run: the same in every figure."""
    order = target_order(targets)
    colours = sns.color_palette("tab10", n_colors=max(len(order), 1))
    return {t: (colours[i % len(colours)], MARKERS[i % len(MARKERS)]) for i, t in enumerate(order)}


def panels(df: pd.DataFrame, by: list[str], width: float = 4.2, height: float = 3.4):
    groups = df.groupby(by, sort=True)
    fig, axes = plt.subplots(1, max(groups.ngroups, 1), figsize=(width * max(groups.ngroups, 1), height),
                             squeeze=False, sharey=True)
    return fig, list(zip(axes.flat, groups))


def legend(fig, styles: dict, targets, title: str = "target") -> None:
    handles = [plt.Line2D([], [], marker=styles[t][1], linestyle="", color=styles[t][0], label=t)
               for t in target_order(targets)]
    fig.legend(handles=handles, title=title, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)


def nothing_to_show(what: str) -> plt.Figure:
    """A grid without such runs (e.g. raw only) still gets the figure file, saying so."""
    fig, ax = plt.subplots(figsize=(4, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, f"no {what} in this grid", ha="center", va="center")
    return fig


def mean_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean of per-seed values with a Student-t 95% interval over seeds (none for one seed)."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = t_quantile(0.975, len(values) - 1) * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def seed_points(cell) -> list[float]:
    return [100 * float(a.split(":")[1]) for a in cell.accuracy_by_seed.split()]


def cell_point(ax, x: float, cell, colour, marker: str, filled: bool) -> None:
    """A cell's mean accuracy (%) with its interval, and each seed's accuracy as a dot."""
    mean, lo, hi = 100 * cell.accuracy_mean, 100 * cell.accuracy_ci_low, 100 * cell.accuracy_ci_high
    ax.errorbar([x], [mean], yerr=[[max(mean - lo, 0)], [max(hi - mean, 0)]], fmt=marker, color=colour, capsize=3,
                mfc=colour if filled else "none")
    seeds = seed_points(cell)
    ax.scatter([x + 0.06] * len(seeds), seeds, s=6, color=colour, alpha=0.5)


def _signature(rows: pd.DataFrame) -> tuple:
    """What a target's results are in one cell: each seed's accuracy, output and training tokens (from a cells row,
    or from the runs of main_grid)."""
    if "accuracy_by_seed" in rows:
        r = rows.iloc[0]
        return r.accuracy_by_seed, round(r.mean_output_tokens, 6), round(r.train_tokens, 6)
    rows = rows.sort_values("seed")
    return tuple(zip(rows.seed, rows.accuracy.round(6), rows.mean_output_tokens.round(6), rows.train_tokens))


def identical(table: pd.DataFrame) -> list[str]:
    """Targets whose results equal another target's in the same cell (same seeds' accuracies and tokens), from the
    cells table or main_grid, e.g. ``adaptive = compressed-tight (verbose/small)``."""
    found = []
    for key, df in table.groupby(["teacher", "student", "regime", "benchmark"], sort=True):
        seen = {}
        for target in target_order(df.target):
            sig = _signature(df[df.target == target])
            if sig in seen:
                found.append(f"{target} = {seen[sig]} ({key[0]}/{key[1]})")
            else:
                seen[sig] = target
    return found


def footnote(fig, table: pd.DataFrame, extra: str = "") -> None:
    """Notes under a figure: ``extra``, and which targets' results are identical to another's (drawn on top)."""
    same = identical(table)
    lines = [extra] if extra else []
    if same:
        lines.append("identical results: " + "; ".join(same))
    if lines:
        fig.text(0.01, -0.02 - 0.03 * len(lines), "\n".join(lines), fontsize=8)
