"""Tables as files: CSV, Markdown and LaTeX with fixed float formatting, so equal data gives equal bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from compress_distill.infra.io import atomic_path


def write_table(df: pd.DataFrame, stem: str | Path) -> None:
    """``stem``.csv / .md / .tex with fixed float formatting, so equal data gives equal bytes."""
    stem = str(stem)
    with atomic_path(stem + ".csv", record=True) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g", lineterminator="\n")
    shown = df.map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)
    with atomic_path(stem + ".md", record=True) as tmp:
        tmp.write_text(_markdown(shown), encoding="utf-8")
    with atomic_path(stem + ".tex", record=True) as tmp:
        tmp.write_text(_latex(shown), encoding="utf-8")


def _markdown(df: pd.DataFrame) -> str:
    rows = [list(map(str, df.columns)), ["---"] * len(df.columns)] + df.astype(str).values.tolist()
    return "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n"


def _latex(df: pd.DataFrame) -> str:
    def esc(v) -> str:
        return str(v).replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("%", "\\%").replace("&", "\\&")

    lines = ["\\begin{tabular}{" + "l" * len(df.columns) + "}", "\\hline",
             " & ".join(esc(c) for c in df.columns) + " \\\\", "\\hline"]
    lines += [" & ".join(esc(v) for v in row) + " \\\\" for row in df.astype(str).values.tolist()]
    return "\n".join(lines + ["\\hline", "\\end{tabular}"]) + "\n"


def write_html(df: pd.DataFrame, path: str | Path, title: str, caption: str = "") -> None:
    """A table as a small self-contained HTML page (the Snakemake report shows HTML inline), its title and caption
    (reStructuredText's literals shown plain) above it; empty cells stay empty."""
    from html import escape

    shown = df.map(lambda v: (f"{v:.4g}" if v == v else "") if isinstance(v, float) else v)
    style = ("body{font:13px sans-serif;margin:8px}table{border-collapse:collapse}p{max-width:60em}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}")
    above = f"<h3>{escape(title)}</h3>" + (f"<p>{escape(caption.replace('``', ''))}</p>" if caption else "")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{style}</style>"
            f"</head><body>{above}{shown.to_html(index=False, na_rep='', border=0)}</body></html>\n")
    with atomic_path(path, record=True) as tmp:
        tmp.write_text(page, encoding="utf-8")
