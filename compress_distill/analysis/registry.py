"""The study's tables and figures: one registry entry each, read by the rules (this module imports nothing heavy).

A table's builder is ``compress_distill.analysis.tables.BUILDERS[name]`` (a function of the loaded
:class:`compress_distill.analysis.study.Study`); a figure's is ``compress_distill.analysis.figures.BUILDERS[name]`` (a function of the
table it draws). Every entry has a caption for the Snakemake report in ``report/<tables|figures>/<name>.rst``.
``measured`` outputs hold wall-clock measurements: they are not byte-reproducible, and manifests list them apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Output:
    name: str
    title: str
    measured: bool = False
    rule: str = "tables"  # tables: the rule that writes it
    source: str = "main_grid"  # figures: the table it draws


# in the paper's order: the report and the README follow it
TABLES = (
    Output("claims", "Claims: each comparison, paired by seed", measured=True),
    Output("main_grid", "Main grid: every training run"),
    Output("cells", "Cells: mean over seeds"),
    Output("efficiency", "Efficiency relative to raw traces"),
    Output("dataset_rows", "Dataset rows used and dropped", rule="dataset_rows"),
    Output("decontamination", "Decontamination", rule="dataset_rows"),
    Output("verification", "Verification of teacher traces"),
    Output("compression", "Compression"),
    Output("truncation", "Truncation ablation"),
    Output("adaptive", "Adaptive target: each student's pilots and choice"),
    Output("timings", "Training time", measured=True),
    Output("fingerprints", "Fingerprints of weights and outputs"),
)
FIGURES = (
    Output("accuracy_vs_output_tokens", "Accuracy against output length"),
    Output("per_token_efficiency", "Per-token efficiency relative to raw"),
    Output("ablation", "Every target of a cell", source="cells"),
    Output("frontier", "Compression strength against accuracy", source="cells"),
    Output("flops_vs_accuracy", "Accuracy against training compute"),
    Output("timings", "Training time", measured=True, source="timings"),
)
# the report's categories, in the paper's order: the claims, the main grid, the figures, then the other tables
CATEGORIES = ("1. Claims", "2. Main grid", "3. Figures", "4. Tables")
MAIN_TABLES = ("claims", "main_grid")  # Tables 1 and 2, each a category of its own
TABLE_FORMATS = ("csv", "md", "tex")
FIGURE_FORMATS = ("pdf", "png")


def report_place(kind: str, name: str) -> tuple[str, dict[str, str]]:
    """(category, labels) of a table or figure in the Snakemake report: its number (which orders it), name and
    title — Table 1 the claims, Table 2 the main grid, Figures 1–n, the other tables S1–Sn."""
    if kind == "figures":
        number, entry = next((f"Figure {i}", f) for i, f in enumerate(FIGURES, 1) if f.name == name)
        return CATEGORIES[2], {"item": number, "name": name, "title": entry.title}
    entry = next(t for t in TABLES if t.name == name)
    if name in MAIN_TABLES:
        number, category = MAIN_TABLES.index(name) + 1, CATEGORIES[MAIN_TABLES.index(name)]
        return category, {"item": f"Table {number}", "name": name, "title": entry.title}
    others = [t.name for t in TABLES if t.name not in MAIN_TABLES]
    return CATEGORIES[3], {"item": f"Table S{others.index(name) + 1}", "name": name, "title": entry.title}


def tables_of(rule: str) -> list[str]:
    return [t.name for t in TABLES if t.rule == rule]
