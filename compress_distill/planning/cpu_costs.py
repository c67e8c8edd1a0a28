"""What each CPU rule asks a cluster for, fitted to measurements rather than guessed.

The simulator (:mod:`compress_distill.planning.simulate`) measured every CPU stage's peak memory and longest job at several
scales of the paper preset (``cpu_costs.json``, beside this module: each entry one scale, with the machine it ran
on). Per stage, a least-squares line fits how they grow with the records the stage reads (:func:`stage_sizes`, from
a config), and a rule declares the line at its own config's sizes with a margin (:func:`declared`).

``python -m compress_distill.planning.cpu_costs`` prints docs/slurm.md's table: measured, fitted, extrapolated to a preset.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MEASURED = Path(__file__).with_name("cpu_costs.json")
MEMORY_MARGIN, MEMORY_FLOOR_MB = 1.5, 1000  # RSS differs with allocator and Python version; interpreter + imports
TIME_MARGIN, TIME_FLOOR_MIN = 4.0, 10  # cluster cores and shared file systems are slower than a laptop's SSD
UNKNOWN_POOL = 1_000_000  # a pool of `size: null` (every row of a dataset) is planned as this many problems


CPU_STAGES = ("problems", "verify", "truncate", "selection", "target", "dataset_rows", "tables", "figures", "manifest")


def stage_costs(run_dir: str | Path) -> list[dict]:
    """Per CPU stage, from Snakemake's benchmark files: jobs, the largest peak memory of a job (MB: the max RSS the
    job logged at exit, which the benchmark's sampling misses for short jobs), the longest job and all jobs together
    (seconds)."""
    import csv
    import re

    from compress_distill.infra.jobstart import PEAK_MEMORY

    logged = re.compile(re.escape(PEAK_MEMORY).replace(r"\{:\.0f\}", r"(\d+)"))

    def peak_mb(bench: Path, sampled: float) -> float:
        log = Path(run_dir) / "logs" / bench.relative_to(Path(run_dir) / "benchmarks").with_suffix(".log")
        found = logged.findall(log.read_text(encoding="utf-8")) if log.exists() else []
        return float(found[-1]) if found else sampled

    rows = []
    for stage in CPU_STAGES:
        bench = Path(run_dir) / "benchmarks"
        files = sorted([*bench.glob(f"{stage}/**/*.tsv"), *bench.glob(f"{stage}.tsv")])
        jobs = [(f, next(csv.DictReader(f.read_text().splitlines(), delimiter="\t"))) for f in files]
        if jobs:
            seconds = [float(j["s"]) for _, j in jobs]
            rows.append({"stage": stage, "jobs": len(jobs),
                         "peak_rss_mb": max(peak_mb(f, float(j["max_rss"])) for f, j in jobs),
                         "longest_s": max(seconds), "total_s": sum(seconds)})
    return rows


# what the stages write, by folder of the run (the runs' model folders are placeholders here)
DISK_FOLDERS = ("problems", "teachers", "compressors", "truncation", "targets", "tables", "figures")


def disk_mb(run_dir: str | Path) -> dict[str, float]:
    """MB each stage's folder holds."""
    return {name: sum(f.stat().st_size for f in (Path(run_dir) / name).rglob("*") if f.is_file()) / 1e6
            for name in DISK_FOLDERS}


def measurement(cfg: dict, run_dir: str | Path) -> dict:
    """One scale's measured costs, with the sizes and the machine they belong to."""
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"pool": cfg["problems"]["pool"]["size"], "shards": cfg["problems"]["shards"],
            "teachers": len(cfg["teachers"]), "compressors": len(cfg["compressors"]),
            "machine": f"{cpu}, {os.cpu_count()} cores", "stages": stage_costs(run_dir), "disk_mb": disk_mb(run_dir)}


def stage_sizes(pool: int, shards: int, teachers: int, compressors: int) -> dict[str, int]:
    """Records each CPU stage's largest job reads."""
    shard = math.ceil(pool / shards)
    return {
        "problems": pool,
        "verify": shard,  # one teacher shard
        "truncate": shard,  # one compressor's shard
        "selection": pool * (1 + compressors),  # a teacher's verified traces and every compressor's verdicts
        "target": pool,  # one target's source shards (indexed, not held)
        "dataset_rows": pool,
        "tables": 2 * teachers * compressors * pool,  # every compressed and truncated record (as columns)
        "figures": teachers * pool,
        "manifest": teachers * pool * (1 + 2 * compressors),  # hashes every trace file
    }


GROWS_WITH = {"problems": "pool", "verify": "shard", "truncate": "shard",
              "selection": "pool × (1 + compressors)", "target": "pool", "dataset_rows": "pool",
              "tables": "2 × teachers × compressors × pool", "figures": "teachers × pool",
              "manifest": "teachers × pool × (1 + 2 × compressors)"}


def config_sizes(config: dict) -> dict[str, int]:
    pool = config["problems"]["pool"].get("size") or UNKNOWN_POOL
    return stage_sizes(pool, config["problems"]["shards"], len(config["teachers"]), len(config["compressors"]))


@dataclass(frozen=True)
class Line:
    """``intercept + slope × records``, fitted by least squares (slope and intercept kept ≥ 0)."""

    intercept: float
    slope: float

    @classmethod
    def fit(cls, points: list[tuple[float, float]]) -> "Line":
        n = len(points)
        mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
        sxx = sum((x - mx) ** 2 for x, _ in points)
        slope = max(0.0, sum((x - mx) * (y - my) for x, y in points) / sxx) if sxx else 0.0
        return cls(max(0.0, my - slope * mx), slope)

    def at(self, records: float) -> float:
        return self.intercept + self.slope * records


@dataclass(frozen=True)
class StageFit:
    stage: str
    memory_mb: Line
    seconds: Line
    points: list[dict]  # per measured scale: records, peak RSS (MB), longest job (s)


PER_SHARD = ("verify", "truncate")  # one job per shard: they grow with the shard, not the corpus


def fits(measured: list[dict]) -> dict[str, StageFit]:
    """Per stage, the lines through the scales measured: every scale for per-shard stages; for corpus-wide stages,
    the scales at the largest shard size (they hold one shard's texts at a time, so a shard's size sets part of their
    memory: their lines are fitted at one shard size, the preset's)."""
    shard_size = max(_shard(e) for e in measured)
    points: dict[str, list[dict]] = {}
    for entry in measured:
        sizes = stage_sizes(entry["pool"], entry["shards"], entry["teachers"], entry["compressors"])
        for row in entry["stages"]:
            if row["stage"] in PER_SHARD or _shard(entry) == shard_size:
                points.setdefault(row["stage"], []).append(
                    {"records": sizes[row["stage"]], "pool": entry["pool"], "memory_mb": row["peak_rss_mb"],
                     "seconds": row["longest_s"]})
    return {stage: StageFit(stage, Line.fit([(p["records"], p["memory_mb"]) for p in pts]),
                            Line.fit([(p["records"], p["seconds"]) for p in pts]), sorted(pts, key=_by_size))
            for stage, pts in points.items()}


def _by_size(point: dict) -> tuple:
    return point["records"], point["pool"]


@lru_cache(maxsize=1)
def measured_fits() -> dict[str, StageFit]:
    return fits(json.loads(MEASURED.read_text(encoding="utf-8")))


def declared(stage: str, config: dict) -> tuple[int, int]:
    """(mem_mb, runtime in minutes) a CPU rule asks for at ``config``'s sizes: the fit with its margin."""
    fit, records = measured_fits()[stage], config_sizes(config)[stage]
    mem = max(MEMORY_FLOOR_MB, math.ceil(MEMORY_MARGIN * fit.memory_mb.at(records) / 100) * 100)
    return mem, max(TIME_FLOOR_MIN, math.ceil(TIME_MARGIN * fit.seconds.at(records) / 60))


def _shard(entry: dict) -> int:
    return math.ceil(entry["pool"] / entry["shards"])


def _size(mb: float) -> str:
    return f"{mb / 1e3:,.1f} GB" if mb >= 1e3 else f"{mb:,.1f} MB"


def _scale(entry: dict) -> str:
    return f"{entry['pool']:,} problems ({entry['shards']} × {_shard(entry):,})"


def table(config: dict, measured: list[dict] | None = None) -> str:
    """Markdown: each CPU stage's peak memory and longest job at every scale measured; the fitted lines, their
    extrapolation to ``config`` and what its rules ask for; each stage folder's disk footprint, extrapolated."""
    measured = measured or json.loads(MEASURED.read_text(encoding="utf-8"))
    entries = sorted(measured, key=lambda e: (e["pool"], e["shards"]))
    stage_fits, sizes = fits(measured), config_sizes(config)
    head = ["stage", *(_scale(e) for e in entries)]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for stage in stage_fits:
        cells = [next((f"{r['peak_rss_mb']:,.0f} MB, {r['longest_s']:.1f} s" for r in e["stages"]
                       if r["stage"] == stage), "") for e in entries]
        out.append(f"| {stage} | " + " | ".join(cells) + " |")
    out += ["", f"| stage | grows with | memory (MB) | longest job (s) | at {config['run']} "
                f"({sizes['problems']:,} problems): records | memory | time | declared |",
            "|" + "---|" * 8]
    for stage, fit in stage_fits.items():
        mem, minutes = declared(stage, config)
        out.append(f"| {stage} | {GROWS_WITH[stage]} | {fit.memory_mb.intercept:,.0f} + "
                   f"{1e3 * fit.memory_mb.slope:,.2f} per 1k | {fit.seconds.intercept:.1f} + "
                   f"{1e3 * fit.seconds.slope:.3f} per 1k | {sizes[stage]:,} | "
                   f"{fit.memory_mb.at(sizes[stage]):,.0f} MB | {fit.seconds.at(sizes[stage]):,.0f} s | "
                   f"{mem:,} MB, {minutes} min |")
    same_shard = [e for e in entries if math.ceil(e["pool"] / e["shards"]) == _shard(entries[-1])]
    out += ["", "| folder | " + " | ".join(_scale(e) for e in entries)
            + f" | fit (MB) | at {sizes['problems']:,} problems |", "|" + "---|" * (len(entries) + 3)]
    for folder in entries[-1]["disk_mb"]:
        line = Line.fit([(e["pool"], e["disk_mb"][folder]) for e in same_shard])
        out.append(f"| {folder} | " + " | ".join(_size(e["disk_mb"][folder]) for e in entries)
                   + f" | {line.intercept:,.1f} + {1e3 * line.slope:,.2f} per 1k problems | "
                   f"{_size(line.at(sizes['problems']))} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.planning.cpu_costs", description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--readme", type=Path, help="write the tables into this page's cpu-costs block (docs/slurm.md)")
    args = parser.parse_args(argv)
    import yaml

    from compress_distill.analysis.readme import replace_block
    from compress_distill.config.validation import validate
    from compress_distill.infra.io import atomic_path

    text = table(validate(yaml.safe_load(Path(args.configfile).read_text(encoding="utf-8"))))
    if args.readme:
        page = replace_block(args.readme.read_text(encoding="utf-8"), "cpu-costs", text)
        with atomic_path(args.readme) as tmp:
            tmp.write_text(page, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
