"""Per-stage times of a finished run, from the ``benchmark:`` files Snakemake wrote for its rules.

    python -m compress_distill.checks.stage_times results/<run> > stages.md
"""

from __future__ import annotations

import sys
from pathlib import Path


def stage_times(run_dir: str | Path):
    """One row per rule: jobs, summed and longest wall seconds, peak resident memory (MB)."""
    import pandas as pd

    rows = []
    for path in sorted(Path(run_dir).rglob("*.tsv")):
        if "benchmarks" not in path.parts and not path.name.endswith(".benchmark.tsv"):
            continue
        parts = path.relative_to(run_dir).parts
        if path.name.endswith(".benchmark.tsv"):  # a run's own: <run dir>/train.benchmark.tsv, eval/<b>.benchmark.tsv
            rule = "train" if path.name == "train.benchmark.tsv" else "evaluate"
        else:  # benchmarks/<rule>.tsv or benchmarks/<rule>/...
            rule = Path(parts[1]).stem if len(parts) == 2 else parts[1]
        bench = pd.read_csv(path, sep="\t")
        rows.append({"rule": rule, "s": float(bench["s"].iloc[0]), "max_rss_mb": float(bench["max_rss"].iloc[0])})
    df = pd.DataFrame(rows)
    return df.groupby("rule", sort=False).agg(jobs=("s", "size"), seconds=("s", "sum"), longest_s=("s", "max"),
                                              peak_rss_mb=("max_rss_mb", "max")).reset_index()


def main(argv=None) -> int:
    run_dir = (argv if argv is not None else sys.argv[1:])[0]
    df = stage_times(run_dir)
    print(df.to_markdown(index=False, floatfmt=".1f"))
    print(f"\nall jobs: {df['seconds'].sum():.0f} s of job time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
