"""The study's figures (matplotlib, seaborn's theme), each as PDF and 300-dpi PNG with no timestamps or software tags
in their metadata, so that equal data gives byte-identical files.

Read at a glance: axes in words, accuracy in %, one colour and marker per target in every figure, teachers in
panels of their own, an interval wherever a mean is drawn (with each seed as a dot), a line at 1 for ratios, and
results identical to another target's said so on the figure.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from compress_distill.analysis.figure_style import (CI, cell_point, footnote, legend, mean_interval,  # noqa: E402
                                                    nothing_to_show, panels, save, set_style, target_order,
                                                    target_styles)
from compress_distill.core.target import Target  # noqa: E402


def _runs_scatter(grid: pd.DataFrame, styles: dict, x: str, xlabel: str, xlog: bool = False) -> plt.Figure:
    """Accuracy (%) of every run against ``x``: a panel per teacher × benchmark, a marker per target, filled for the
    first student and hollow for the others (named in the legend)."""
    students = sorted(grid["student"].unique())
    fig, axes_groups = panels(grid, ["teacher", "benchmark"])
    for ax, ((teacher, bench), df) in axes_groups:
        for s, student in enumerate(students):
            for target, runs in df[df.student == student].groupby("target", sort=False):
                colour, marker = styles[target]
                ax.scatter(runs[x], 100 * runs["accuracy"], marker=marker, s=40, edgecolors=colour,
                           facecolors=colour if s == 0 else "none", linewidths=1.2)
        ax.set(xlabel=xlabel, ylabel="accuracy of a run (%)", title=f"teacher {teacher} · {bench}")
        if xlog:
            ax.set_xscale("log")
    legend(fig, styles, grid["target"])
    footnote(fig, grid, "students: " + ", ".join(f"{st} ({'filled' if i == 0 else 'hollow'})"
                                                 for i, st in enumerate(students)))
    fig.tight_layout()
    return fig


def accuracy_vs_output_tokens(grid: pd.DataFrame, styles: dict) -> plt.Figure:
    return _runs_scatter(grid, styles, "mean_output_tokens", "mean output tokens per answer")


def flops_vs_accuracy(grid: pd.DataFrame, styles: dict) -> plt.Figure:
    return _runs_scatter(grid, styles, "train_flops", "training FLOPs (log scale)", xlog=True)


def per_token_efficiency(grid: pd.DataFrame, styles: dict) -> plt.Figure:
    """Accuracy per output token relative to the raw run of the same seed: the mean over seeds with its interval,
    each seed a dot; targets a cell does not have are left out, not drawn as zero; the line at 1 is raw."""
    data = grid[grid.target != "raw"].replace([np.inf, -np.inf], np.nan).dropna(subset=["per_token_efficiency_vs_raw"])
    if data.empty:
        return nothing_to_show("run with a raw run to compare to")
    students = sorted(data["student"].unique())
    fig, axes_groups = panels(data, ["teacher", "benchmark"])
    for ax, ((teacher, bench), df) in axes_groups:
        order = target_order(df["target"])
        for s, student in enumerate(students):
            for target, runs in df[df.student == student].groupby("target", sort=False):
                x = order.index(target) + (s - (len(students) - 1) / 2) * 0.25
                values = runs["per_token_efficiency_vs_raw"].to_numpy()
                mean, lo, hi = mean_interval(values)
                lo = max(lo, 0.0)  # a ratio of accuracies per token is not negative
                colour, marker = styles[target]
                yerr = None if math.isnan(lo) else [[mean - lo], [hi - mean]]
                ax.errorbar([x], [mean], yerr=yerr, fmt=marker, color=colour, capsize=3,
                            mfc=colour if s == 0 else "none")
                ax.scatter([x + 0.06] * len(values), values, s=6, color=colour, alpha=0.5)
        ax.axhline(1.0, color="0.3", linewidth=1, linestyle="--")
        ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
        ax.set(ylabel="accuracy per output token ÷ raw's (x)", title=f"teacher {teacher} · {bench}")
    footnote(fig, data, "mean over seeds with a 95% t-interval over seeds, clipped at 0 (a seed per dot; one seed: "
             "no interval); students: " + ", ".join(f"{st} ({'filled' if i == 0 else 'hollow'})"
                                                   for i, st in enumerate(students))
             + "; dashed line: as efficient as raw")
    fig.tight_layout()
    return fig


def ablation(cells: pd.DataFrame, styles: dict) -> plt.Figure:
    """Every target of a cell, side by side: accuracy over seeds with its seed-and-item 95% interval and each seed's
    accuracy as a dot; a row per student, a column per teacher × benchmark (× data regime, where the grid has
    several); a hollow marker for a cell with one seed (its interval then covers items only)."""
    several_regimes = cells["regime"].nunique() > 1
    students = sorted(cells["student"].unique())
    columns = cells.groupby(["teacher", "benchmark", "regime"], sort=True)
    fig, axes = plt.subplots(len(students), columns.ngroups, figsize=(5.0 * columns.ngroups, 3.0 * len(students)),
                             squeeze=False, sharey="row")
    for row, student in zip(axes, students):
        for ax, ((teacher, bench, regime), df) in zip(row, columns):
            order = target_order(df["target"])
            for cell in df[df.student == student].itertuples():
                colour, marker = styles[cell.target]
                cell_point(ax, order.index(cell.target), cell, colour, marker, filled=cell.seeds > 1)
            ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
            ax.set(ylabel=f"student {student}\naccuracy (%)", ylim=(0, None),
                   title=f"teacher {teacher} · {bench}" + (f" · {regime}" if several_regimes else ""))
    footnote(fig, cells, f"mean over seeds, bars: {CI}; hollow: one seed (interval over items only); "
              "dots: each seed")
    fig.tight_layout()
    return fig


def frontier(cells: pd.DataFrame, styles: dict) -> plt.Figure:
    """Compression strength against accuracy: per student (rows), accuracy over seeds vs training tokens and vs
    output tokens (columns), one point per target with its interval; a line per teacher (solid, dashed, …) joins raw
    and its compression strengths, ordered by length — truncated, answer-only and adaptive stand alone."""
    students = sorted(cells["student"].unique())
    teachers = sorted(cells["teacher"].unique())
    dashes = dict(zip(teachers, ("-", "--", ":", "-.")))
    fig, axes = plt.subplots(len(students), 2, figsize=(10, 3.6 * len(students)), squeeze=False)
    for row, student in zip(axes, students):
        mine = cells[cells.student == student]
        for ax, x, label in zip(row, ("train_tokens", "mean_output_tokens"), ("training tokens", "output tokens")):
            for (teacher, _, _), line in mine.groupby(["teacher", "benchmark", "regime"], sort=True):
                strength = line[line.target.map(lambda t: Target.parse(t).kind in ("raw", "compressed"))]
                strength = strength.sort_values(x)
                ax.plot(strength[x], 100 * strength["accuracy_mean"], dashes[teacher], color="0.6", zorder=1)
                for cell in line.itertuples():
                    colour, marker = styles[cell.target]
                    cell_point(ax, getattr(cell, x), cell, colour, marker, filled=cell.seeds > 1)
            ax.set(xscale="log", xlabel=f"{label} (log scale)", ylabel="accuracy (%), mean over seeds",
                   title=f"student {student}")
    legend(fig, styles, cells["target"])
    teacher_lines = [plt.Line2D([], [], linestyle=dashes[t], color="0.6", label=f"teacher {t}") for t in teachers]
    fig.legend(handles=teacher_lines, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    footnote(fig, cells, f"bars: {CI}; hollow: one seed (items only); dots: each seed")
    fig.tight_layout()
    return fig


def timings(df: pd.DataFrame, styles: dict) -> plt.Figure:
    """Measured training time per run: a bar per target (its colour), students side by side, a panel per teacher."""
    palette = {t: styles[t][0] for t in df["target"].unique()}
    g = sns.catplot(data=df, x="student", y="train_seconds", hue="target", col="teacher", kind="bar", height=3.4,
                    errorbar=None, palette=palette, hue_order=target_order(df["target"]))
    g.set_axis_labels("student", "training time of a run (s, measured)")
    g.set_titles("teacher {col_name}")
    return g.figure


# every figure of compress_distill.analysis.registry.FIGURES, by name: a function of the table it draws and the
# run's target styles
BUILDERS = {
    "accuracy_vs_output_tokens": accuracy_vs_output_tokens,
    "flops_vs_accuracy": flops_vs_accuracy,
    "per_token_efficiency": per_token_efficiency,
    "ablation": ablation,
    "frontier": frontier,
    "timings": timings,
}


def make_all(tables: dict[str, str], out_dir: str | Path, workers: int = 1) -> None:
    """Every registered figure into ``out_dir``, from ``tables`` (name -> CSV path) holding the tables they draw;
    ``workers`` processes draw them side by side (a figure's bytes depend on its data only)."""
    from compress_distill.analysis.registry import FIGURES

    set_style()
    data = {name: pd.read_csv(path) for name, path in tables.items()}
    styles = target_styles(set().union(*(set(df["target"]) for df in data.values() if "target" in df)))
    jobs = [(figure.name, data[figure.source], styles, str(out_dir)) for figure in FIGURES]
    if workers == 1:
        for job in jobs:
            _draw(*job)
        return
    import multiprocessing

    # forked after the imports and the style: the end of the run waits on this job alone (16 s on one core, 9 on two)
    with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
        pool.starmap(_draw, jobs, chunksize=1)


def _draw(name: str, df: pd.DataFrame, styles: dict, out_dir: str) -> None:
    save(BUILDERS[name](df, styles), Path(out_dir) / name)
