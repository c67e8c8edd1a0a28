"""The study's figures (seaborn), each as PDF and PNG with no timestamps or software tags in their metadata, so
that equal data gives byte-identical files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from compress_distill.core.target import Target  # noqa: E402
from compress_distill.infra.io import atomic_path  # noqa: E402

PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
PNG_METADATA = {"Software": None}


def save(fig, stem: str | Path) -> None:
    stem = str(stem)
    with atomic_path(stem + ".pdf", record=True) as tmp:
        fig.savefig(tmp, format="pdf", metadata=PDF_METADATA, bbox_inches="tight")
    with atomic_path(stem + ".png", record=True) as tmp:
        fig.savefig(tmp, format="png", metadata=PNG_METADATA, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _style() -> None:
    plt.rcParams.update({"svg.hashsalt": "compress-distill", "pdf.fonttype": 42})
    sns.set_theme(style="whitegrid", context="paper")


def _facets(df: pd.DataFrame, x: str, y: str, xlog: bool = False) -> plt.Figure:
    grid = sns.relplot(data=df, x=x, y=y, hue="target", style="student", col="teacher", row="benchmark",
                       kind="scatter", s=70, height=3.2, facet_kws={"sharex": False})
    if xlog:
        grid.set(xscale="log")
    return grid.figure


def accuracy_vs_output_tokens(grid: pd.DataFrame) -> plt.Figure:
    return _facets(grid, "mean_output_tokens", "accuracy")


def flops_vs_accuracy(grid: pd.DataFrame) -> plt.Figure:
    return _facets(grid, "train_flops", "accuracy", xlog=True)


def _nothing_to_show(what: str) -> plt.Figure:
    """A grid without such runs (e.g. raw only) still gets the figure file, saying so."""
    fig, ax = plt.subplots(figsize=(4, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, f"no {what} in this grid", ha="center", va="center")
    return fig


def per_token_efficiency(grid: pd.DataFrame) -> plt.Figure:
    data = grid[grid.target != "raw"].dropna(subset=["per_token_efficiency_vs_raw"])
    if data.empty:
        return _nothing_to_show("run with a raw run to compare to")
    g = sns.catplot(data=data, x="target", y="per_token_efficiency_vs_raw", hue="student", col="teacher",
                    row="benchmark", kind="bar", height=3.2, errorbar=None)
    g.set_xticklabels(rotation=30, ha="right")
    return g.figure


def _target_order(targets) -> list[str]:
    return sorted(set(targets), key=lambda name: Target.parse(name).rank)


def _errors(rows: pd.DataFrame) -> list:
    """Error bar lengths below and above the mean (a percentile interval may sit just off a mean of few seeds)."""
    return [(rows["accuracy_mean"] - rows["accuracy_ci_low"]).clip(lower=0),
            (rows["accuracy_ci_high"] - rows["accuracy_mean"]).clip(lower=0)]


def _seed_points(cell) -> list[float]:
    return [float(a.split(":")[1]) for a in cell.accuracy_by_seed.split()]


def ablation(cells: pd.DataFrame) -> plt.Figure:
    """Raw vs compressed vs truncated vs answer-only: accuracy over seeds with its seed-and-item 95% interval, and
    each seed's accuracy as a small dot; a panel per benchmark × teacher (× data regime, where the grid has several).
    """
    several_regimes = cells["regime"].nunique() > 1
    panels = cells.groupby(["benchmark", "teacher", "regime"], sort=True)
    fig, axes = plt.subplots(1, panels.ngroups, figsize=(4.2 * panels.ngroups, 3.4), squeeze=False, sharey=True)
    students = sorted(cells["student"].unique())
    colours = dict(zip(students, sns.color_palette(n_colors=len(students))))
    for ax, ((bench, teacher, regime), df) in zip(axes.flat, panels):
        order = _target_order(df["target"])
        for i, student in enumerate(students):
            rows = df[df.student == student].set_index("target").reindex(order).dropna(subset=["accuracy_mean"])
            x = [order.index(t) + (i - (len(students) - 1) / 2) * 0.15 for t in rows.index]
            err = _errors(rows)
            ax.errorbar(x, rows["accuracy_mean"], yerr=err, fmt="o", capsize=3, color=colours[student], label=student)
            for xi, cell in zip(x, rows.itertuples()):
                seeds = _seed_points(cell)
                ax.scatter([xi + 0.05] * len(seeds), seeds, s=6, color=colours[student], alpha=0.5)
        ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
        ax.set_title(f"{teacher} | {bench}" + (f" | {regime}" if several_regimes else ""))
        ax.set_ylabel("accuracy over seeds (95% CI)")
    axes.flat[-1].legend(title="student", frameon=False)
    fig.tight_layout()
    return fig


def frontier(cells: pd.DataFrame) -> plt.Figure:
    """Compression strength against accuracy: per student (rows), accuracy over seeds vs training tokens and vs
    output tokens (columns), one point per target — raw, each compressor's strength, truncated, answer-only — with
    its seed-and-item 95% interval; a line per teacher × benchmark × regime joins its targets in order of length."""
    students = sorted(cells["student"].unique())
    order = _target_order(cells["target"])
    colours = dict(zip(order, sns.color_palette("tab10", n_colors=len(order))))
    fig, axes = plt.subplots(len(students), 2, figsize=(9, 3.3 * len(students)), squeeze=False)
    for row, student in zip(axes, students):
        mine = cells[cells.student == student]
        for ax, x, label in zip(row, ("train_tokens", "mean_output_tokens"), ("training tokens", "output tokens")):
            for _, line in mine.groupby(["teacher", "benchmark", "regime"], sort=True):
                line = line.sort_values(x)
                ax.plot(line[x], line["accuracy_mean"], "-", color="0.8", zorder=1)
                for cell in line.itertuples():
                    ax.errorbar(getattr(cell, x), cell.accuracy_mean, yerr=_errors(pd.DataFrame([cell])),
                                fmt="o", color=colours[cell.target], capsize=3, zorder=2)
            ax.set(xscale="log", xlabel=f"{label} (log)", ylabel="accuracy over seeds (95% CI)", title=student)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=colours[t], label=t) for t in order]
    fig.legend(handles=handles, title="target", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def timings(df: pd.DataFrame) -> plt.Figure:
    g = sns.catplot(data=df, x="target", y="train_seconds", hue="student", col="teacher", kind="bar",
                    height=3.2, errorbar=None)
    g.set_xticklabels(rotation=30, ha="right")
    return g.figure


# every figure of compress_distill.analysis.registry.FIGURES, by name: a function of the table it draws
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

    _style()
    data = {name: pd.read_csv(path) for name, path in tables.items()}
    jobs = [(figure.name, data[figure.source], str(out_dir)) for figure in FIGURES]
    if workers == 1:
        for job in jobs:
            _draw(*job)
        return
    import multiprocessing

    # forked after the imports and the style: the end of the run waits on this job alone (16 s on one core, 9 on two)
    with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
        pool.starmap(_draw, jobs, chunksize=1)


def _draw(name: str, df: pd.DataFrame, out_dir: str) -> None:
    save(BUILDERS[name](df), Path(out_dir) / name)
