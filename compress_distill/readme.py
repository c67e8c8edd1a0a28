"""The README's result tables, generated from a run's tables — never typed by hand.

``python -m compress_distill.readme results/demo README.md`` replaces the block between
``<!-- results:<run>:start -->`` and ``<!-- results:<run>:end -->`` with the run's main grid (accuracy with its 95%
interval, output tokens, training tokens), headed by the sha256 of the ``main_grid.csv`` it was made from, so a test
can tie the README to the expected manifest of that preset.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from .io import atomic_path, read_json, sha256_file

COLUMNS = ["teacher", "student", "target", "accuracy", "output tokens", "training tokens"]
SOURCE_RE = re.compile(r"generated from tables/main_grid\.csv, sha256 ([0-9a-f]{64})")


def _percent(x: float) -> str:
    return f"{100 * x:.1f}"


def result_table(grid: pd.DataFrame, lora_students: set[str]) -> str:
    """One markdown row per run × benchmark, in the grid's order."""
    rows = ["| " + " | ".join(COLUMNS + (["benchmark"] if grid["benchmark"].nunique() > 1 else [])) + " |"]
    rows.append("|" + "---|" * (len(rows[0].split("|")) - 2))
    for r in grid.itertuples():
        student = f"{r.student} (LoRA)" if r.student in lora_students else r.student
        cells = [r.teacher, student, r.target,
                 f"{_percent(r.accuracy)} [{_percent(r.accuracy_ci_low)}, {_percent(r.accuracy_ci_high)}]",
                 f"{r.mean_output_tokens:.1f}", f"{int(r.train_tokens):,}"]
        if grid["benchmark"].nunique() > 1:
            cells.append(r.benchmark)
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def block(run_dir: Path) -> str:
    csv = run_dir / "tables" / "main_grid.csv"
    students = read_json(run_dir / "manifest.json")["results"]["config"]["students"]
    table = result_table(pd.read_csv(csv), {name for name, s in students.items() if s.get("lora")})
    return f"<!-- generated from tables/main_grid.csv, sha256 {sha256_file(csv)} -->\n{table}"


def markers(run: str) -> tuple[str, str]:
    return f"<!-- results:{run}:start -->", f"<!-- results:{run}:end -->"


def replace_block(text: str, run: str, content: str) -> str:
    start, end = markers(run)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"the README has no {start} … {end} block")
    return pattern.sub(lambda _: f"{start}\n{content}\n{end}", text)


def source_hash(text: str, run: str) -> str | None:
    """The sha256 of the main_grid.csv that the README's block for ``run`` was generated from."""
    start, end = markers(run)
    inside = text.split(start, 1)[-1].split(end, 1)[0]
    match = SOURCE_RE.search(inside)
    return match.group(1) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.readme", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="results/<run>")
    parser.add_argument("readme", type=Path)
    args = parser.parse_args(argv)
    text = replace_block(args.readme.read_text(encoding="utf-8"), args.run_dir.name,
                         block(args.run_dir))
    with atomic_path(args.readme) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(f"{args.readme}: results of {args.run_dir} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
