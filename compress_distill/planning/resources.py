"""What a job asks the cluster for, from its model's validated ``resources`` block (every default filled in by the
schema, none here): the one computation behind the rules' threads and resources (``rules/common.smk``) and the
GPU-hour budget (:mod:`compress_distill.planning.budget`, which reads them back from the planned jobs).

``gpus`` and ``mem_mb`` are per node; the SLURM executor plugin's ``gpu`` is the job's total. A GPU job's threads
are its CPUs per node (``cpus_per_gpu`` × GPUs), so torch is pinned to what SLURM gave it; memory and runtime grow
with each retry, up to the site's limits. Where a job runs comes from the config's ``site`` block, in one place: the
account, the CPU or the GPU partition (by whether the job asks for GPUs), the GPU model (a model's own wins).
"""

from __future__ import annotations


def threads(res: dict) -> int:
    return res["gpus"] * res["cpus_per_gpu"] if res["gpus"] else res["threads"]


FIXED = ("fixed_threads", "nodes", "gpu", "gpu_model", "cpus_per_gpu", "slurm_account", "slurm_partition")


def placement(site: dict, gpu: bool) -> dict:
    """The SLURM account and partition of a job (empty: the plugin's and the cluster's defaults)."""
    return {"slurm_account": site["account"] or "",
            "slurm_partition": (site["gpu_partition"] if gpu else site["cpu_partition"]) or ""}


def fixed(res: dict, site: dict) -> dict:
    """The resources that do not change with a retry. ``fixed_threads`` is the count torch uses even where Snakemake
    lowers ``threads`` to ``--cores`` (results may depend on it); a CPU job asks for no GPU model and no
    ``cpus_per_gpu``, so the plugin sets ``--cpus-per-task`` from its threads."""
    gpu = bool(res["gpus"])
    return {
        "fixed_threads": threads(res),
        "nodes": res["nodes"],
        "gpu": res["gpus"] * res["nodes"],
        "gpu_model": (res["gpu_model"] or site["gpu_model"] or "") if gpu else "",
        "cpus_per_gpu": res["cpus_per_gpu"] if gpu else 0,
        **placement(site, gpu),
    }


def retry(first: int, attempt: int, limit: int | None) -> int:
    """What attempt ``attempt`` asks for: a Snakemake retry follows a failure (out of memory or time, an error), so
    it grows ``first`` × attempt, up to the site's ``limit`` (a preempted job is requeued by SLURM unchanged)."""
    return min(first * attempt, limit) if limit else first * attempt


def gpu_hours(gpus_total: int, runtime_minutes: int) -> float:
    """What a job reserves on its first attempt: all its GPUs for its whole runtime limit."""
    return gpus_total * runtime_minutes / 60
