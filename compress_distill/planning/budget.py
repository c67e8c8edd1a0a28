"""GPU-hours a configuration reserves on SLURM, per stage — an estimate computed from the config, not a measurement.

Each job reserves its model's ``resources`` (GPUs per node × nodes × runtime limit), so the figure is an upper
bound for first attempts: jobs that finish early release their GPUs, and retries (which ask for more time) are not
counted. Jobs per stage follow the DAG: one generation job per teacher and shard, one compression job per teacher,
compressor and shard, one training job per run of the grid, one evaluation job per run and benchmark.

    python -m compress_distill.planning.budget config.yaml
"""

from __future__ import annotations

import sys

from compress_distill.core.grid import runs


def _gpu_hours(resources: dict) -> float:
    return resources.get("gpus", 0) * resources.get("nodes", 1) * resources.get("runtime", 60) / 60


def stages(config: dict) -> list[dict]:
    """One row per (stage, model): jobs, GPUs per job, runtime limit (h), reserved GPU-hours."""
    grid = runs(config["grid"])
    teachers = list(dict.fromkeys(r["teacher"] for r in grid))
    shards = config["problems"]["shards"]
    jobs = [("generation", name, config["teachers"][name], shards) for name in teachers]
    jobs += [("compression", name, spec, shards * len(teachers)) for name, spec in config["compressors"].items()]
    for name, spec in config["students"].items():
        n = sum(r["student"] == name for r in grid)
        jobs.append(("training", name, spec, n))
        jobs.append(("evaluation", name, config["evaluation"], n * len(config["problems"]["benchmarks"])))
    rows = []
    for stage, model, spec, n in jobs:
        res = spec.get("resources", {})
        if n and res.get("gpus"):
            rows.append({"stage": stage, "model": model, "jobs": n, "gpus_per_job": res["gpus"] * res.get("nodes", 1),
                         "runtime_limit_h": res.get("runtime", 60) / 60, "gpu_hours": n * _gpu_hours(res)})
    return rows


def report(config: dict) -> str:
    rows = stages(config)
    lines = ["| stage | model | jobs | GPUs per job | runtime limit (h) | GPU-hours reserved |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['stage']} | {r['model']} | {r['jobs']} | {r['gpus_per_job']} | {r['runtime_limit_h']:g} | "
              f"{r['gpu_hours']:,.0f} |" for r in rows]
    total = sum(r["gpu_hours"] for r in rows)
    lines.append(f"| **all** | | {sum(r['jobs'] for r in rows)} | | | **{total:,.0f}** |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    import yaml

    from compress_distill.config.validation import validate

    argv = argv if argv is not None else sys.argv[1:]
    config = yaml.safe_load(open(argv[0] if argv else "config.yaml"))
    validate(config)
    print("Estimate from the config's resources (upper bound for first attempts; not measured):\n")
    print(report(config))


if __name__ == "__main__":
    main()
