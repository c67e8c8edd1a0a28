"""GPU-hours a configuration reserves on SLURM, per stage — an estimate computed from the config, not a measurement.

Each job reserves what its rule asks for (:mod:`compress_distill.planning.resources`: GPUs × runtime limit), read
from the jobs Snakemake plans for a fresh run (:func:`compress_distill.planning.submissions.jobs`), so the figure is
an upper bound for first attempts: jobs that finish early release their GPUs, and retries (which ask for more time)
are not counted.

    python -m compress_distill.planning.budget config.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

from compress_distill.planning.resources import gpu_hours
from compress_distill.planning.submissions import jobs

# the rules that run a model, by stage, and the wildcard naming the model
STAGES = {"teacher_generate": ("generation", "teacher"), "compress": ("compression", "compressor"),
          "pretrain": ("pretraining", "student"), "train": ("training", "student"),
          "evaluate": ("evaluation", "student"), "pilot_train": ("adaptive pilots, training", "student"),
          "pilot_evaluate": ("adaptive pilots, evaluation", "student"), "convert_model": ("conversion", "model")}


def stages(configfile: str | Path, workdir: str | Path = ".") -> list[dict]:
    """One row per (stage, model) that reserves GPUs: jobs, GPUs per job, runtime limit (h), reserved GPU-hours."""
    rows: dict[tuple, dict] = {}
    for rule, wildcards, res in jobs(configfile, workdir):
        if rule not in STAGES or not res.get("gpu"):
            continue
        stage, key = STAGES[rule]
        row = rows.setdefault((stage, wildcards[key], res["gpu"], res["runtime"]), {
            "stage": stage, "model": wildcards[key], "jobs": 0, "gpus_per_job": res["gpu"],
            "runtime_limit_h": res["runtime"] / 60, "gpu_hours": 0.0})
        row["jobs"] += 1
        row["gpu_hours"] += gpu_hours(res["gpu"], res["runtime"])
    order = [stage for stage, _ in STAGES.values()]
    return sorted(rows.values(), key=lambda r: (order.index(r["stage"]), r["model"]))


def report(rows: list[dict]) -> str:
    lines = ["| stage | model | jobs | GPUs per job | runtime limit (h) | GPU-hours reserved |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['stage']} | {r['model']} | {r['jobs']} | {r['gpus_per_job']} | {r['runtime_limit_h']:g} | "
              f"{r['gpu_hours']:,.0f} |" for r in rows]
    total = sum(r["gpu_hours"] for r in rows)
    lines.append(f"| **all** | | {sum(r['jobs'] for r in rows)} | | | **{total:,.0f}** |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    argv = argv if argv is not None else sys.argv[1:]
    print("Estimate from the planned jobs' resources (upper bound for first attempts; not measured):\n")
    print(report(stages(argv[0] if argv else "config.yaml")))


if __name__ == "__main__":
    main()
