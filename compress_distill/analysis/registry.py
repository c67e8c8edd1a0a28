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
    measured: bool = False
    rule: str = "tables"  # tables: the rule that writes it
    source: str = "main_grid"  # figures: the table it draws


TABLES = (
    Output("claims", measured=True),
    Output("main_grid"),
    Output("cells"),
    Output("efficiency"),
    Output("dataset_rows", rule="dataset_rows"),
    Output("decontamination", rule="dataset_rows"),
    Output("verification"),
    Output("compression"),
    Output("truncation"),
    Output("timings", measured=True),
    Output("fingerprints"),
)
FIGURES = (
    Output("accuracy_vs_output_tokens"),
    Output("per_token_efficiency"),
    Output("ablation", source="cells"),
    Output("frontier", source="cells"),
    Output("flops_vs_accuracy"),
    Output("timings", measured=True, source="timings"),
)
TABLE_FORMATS = ("csv", "md", "tex")
FIGURE_FORMATS = ("pdf", "png")


def tables_of(rule: str) -> list[str]:
    return [t.name for t in TABLES if t.rule == rule]
