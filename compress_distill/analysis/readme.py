"""The README's result tables, generated from a run's tables — never typed by hand.

``python -m compress_distill.analysis.readme results/demo README.md`` replaces the block between
``<!-- results:<run>:start -->`` and ``<!-- results:<run>:end -->`` with the run's cells (accuracy over training
seeds with its seed-and-item 95% interval, each seed's accuracy, output tokens, training tokens), headed by the
sha256 of the ``cells.csv`` it was made from, so a test can tie the README to the expected manifest of that preset;
and the ``claims:<run>`` block with its paired comparisons (``tables/claims.csv``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from compress_distill.infra.io import atomic_path, read_json, sha256_file

COLUMNS = ["teacher", "student", "target", "seeds", "accuracy", "by seed", "output tokens", "training tokens"]
SOURCE = "tables/cells.csv"
SOURCE_RE = re.compile(r"generated from tables/cells\.csv, sha256 ([0-9a-f]{64})")


def _percent(x: float) -> str:
    return f"{100 * x:.1f}"


def result_table(cells: pd.DataFrame, lora_students: set[str]) -> str:
    """One markdown row per cell × benchmark, in the grid's order."""
    several = cells["benchmark"].nunique() > 1
    rows = ["| " + " | ".join(COLUMNS + (["benchmark"] if several else [])) + " |"]
    rows.append("|" + "---|" * (len(rows[0].split("|")) - 2))
    for r in cells.itertuples():
        student = f"{r.student} (LoRA)" if r.student in lora_students else r.student
        by_seed = ", ".join(_percent(float(a.split(":")[1])) for a in r.accuracy_by_seed.split())
        cells_ = [r.teacher, student, r.target, str(r.seeds),
                  f"{_percent(r.accuracy_mean)} [{_percent(r.accuracy_ci_low)}, {_percent(r.accuracy_ci_high)}]",
                  by_seed, f"{r.mean_output_tokens:.1f}", f"{int(round(r.train_tokens)):,}"]
        if several:
            cells_.append(r.benchmark)
        rows.append("| " + " | ".join(cells_) + " |")
    return "\n".join(rows)


CLAIM_COLUMNS = ["teacher", "student", "target vs reference", "seeds", "difference, points [95% CI]",
                 "seeds agreeing", "reading", "training tokens, % of reference", "outputs shorter, x",
                 "accuracy retained, %"]


def claims_table(claims: pd.DataFrame) -> str:
    """One markdown row per comparison and cell: the paired difference, its interval and what it supports."""
    rows = ["| " + " | ".join(CLAIM_COLUMNS) + " |", "|" + "---|" * len(CLAIM_COLUMNS)]
    for r in claims.itertuples():
        diff = (f"{100 * r.accuracy_difference:+.1f} [{100 * r.difference_ci_low:+.1f}, "
                f"{100 * r.difference_ci_high:+.1f}]")
        rows.append("| " + " | ".join([r.teacher, r.student, f"{r.target} vs {r.reference}", str(r.seeds), diff,
                                       r.seeds_agreeing, r.reading, f"{r.train_tokens_pct:.0f}",
                                       f"{r.output_length_reduction_x:.2f}", f"{r.accuracy_retained_pct:.0f}"]) + " |")
    return "\n".join(rows)


def block(run_dir: Path) -> str:
    csv = run_dir / SOURCE
    students = read_json(run_dir / "manifest.json")["results"]["config"]["students"]
    table = result_table(pd.read_csv(csv), {name for name, s in students.items() if s.get("lora")})
    return f"<!-- generated from {SOURCE}, sha256 {sha256_file(csv)} -->\n{table}"


def markers(run: str, kind: str = "results") -> tuple[str, str]:
    return f"<!-- {kind}:{run}:start -->", f"<!-- {kind}:{run}:end -->"


def replace_block(text: str, run: str, content: str, kind: str = "results") -> str:
    start, end = markers(run, kind)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"the README has no {start} … {end} block")
    return pattern.sub(lambda _: f"{start}\n{content}\n{end}", text)


def source_hash(text: str, run: str) -> str | None:
    """The sha256 of the cells.csv that the README's block for ``run`` was generated from."""
    start, end = markers(run)
    inside = text.split(start, 1)[-1].split(end, 1)[0]
    match = SOURCE_RE.search(inside)
    return match.group(1) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.analysis.readme", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="results/<run>")
    parser.add_argument("readme", type=Path)
    args = parser.parse_args(argv)
    text = replace_block(args.readme.read_text(encoding="utf-8"), args.run_dir.name, block(args.run_dir))
    if markers(args.run_dir.name, "claims")[0] in text:
        claims = claims_table(pd.read_csv(args.run_dir / "tables/claims.csv"))
        text = replace_block(text, args.run_dir.name, claims, "claims")
    with atomic_path(args.readme) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(f"{args.readme}: results of {args.run_dir} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
