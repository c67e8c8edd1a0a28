"""The study's figures (seaborn), each as PDF and PNG with no timestamps or software tags in their metadata, so
that equal data gives byte-identical files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .io import atomic_path  # noqa: E402
from .target import Target  # noqa: E402

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


def ablation(grid: pd.DataFrame) -> plt.Figure:
    """Raw vs compressed vs truncated vs answer-only: accuracy with its 95% bootstrap interval; a panel per
    benchmark × teacher (× data regime, where the grid has several)."""
    several_regimes = grid["regime"].nunique() > 1
    panels = grid.groupby(["benchmark", "teacher", "regime"], sort=True)
    fig, axes = plt.subplots(1, panels.ngroups, figsize=(4.2 * panels.ngroups, 3.4), squeeze=False, sharey=True)
    students = sorted(grid["student"].unique())
    colours = dict(zip(students, sns.color_palette(n_colors=len(students))))
    for ax, ((bench, teacher, regime), df) in zip(axes.flat, panels):
        order = _target_order(df["target"])
        for i, student in enumerate(students):
            rows = df[df.student == student].set_index("target").reindex(order).dropna(subset=["accuracy"])
            x = [order.index(t) + (i - (len(students) - 1) / 2) * 0.15 for t in rows.index]
            err = [rows["accuracy"] - rows["accuracy_ci_low"], rows["accuracy_ci_high"] - rows["accuracy"]]
            ax.errorbar(x, rows["accuracy"], yerr=err, fmt="o", capsize=3, color=colours[student], label=student)
        ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
        ax.set_title(f"{teacher} | {bench}" + (f" | {regime}" if several_regimes else ""))
        ax.set_ylabel("accuracy (95% CI)")
    axes.flat[-1].legend(title="student", frameon=False)
    fig.tight_layout()
    return fig


def timings(df: pd.DataFrame) -> plt.Figure:
    g = sns.catplot(data=df, x="target", y="train_seconds", hue="student", col="teacher", kind="bar",
                    height=3.2, errorbar=None)
    g.set_xticklabels(rotation=30, ha="right")
    return g.figure


# every figure of compress_distill.outputs.FIGURES, by name: a function of the table it draws
BUILDERS = {
    "accuracy_vs_output_tokens": accuracy_vs_output_tokens,
    "flops_vs_accuracy": flops_vs_accuracy,
    "per_token_efficiency": per_token_efficiency,
    "ablation": ablation,
    "timings": timings,
}


def make_all(tables: dict[str, str], out_dir: str | Path) -> None:
    """Every registered figure into ``out_dir``, from ``tables`` (name -> CSV path) holding the tables they draw."""
    from .outputs import FIGURES

    _style()
    data = {name: pd.read_csv(path) for name, path in tables.items()}
    for figure in FIGURES:
        save(BUILDERS[figure.name](data[figure.source]), Path(out_dir) / figure.name)
