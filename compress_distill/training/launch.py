"""One training job: its inputs read, the student trained (:mod:`compress_distill.training.trainer`), its model, metrics and
loss curve written — in this process, or over several GPUs, where ``accelerate launch`` starts one worker per GPU
inside the job's one SLURM task and each worker reads the job's spec (JSON) and runs :func:`run_job`."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

from compress_distill.config.settings import TrainJob
from compress_distill.infra.processes import executable, free_port
from compress_distill.training.parallel import data_parallel
from compress_distill.training.trainer import train


def write_curve(path, curve: list[dict]) -> None:
    from compress_distill.infra.io import atomic_path

    with atomic_path(path, record=True) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "loss", "lr", "tokens"])
        writer.writeheader()
        writer.writerows(curve)


def check_devices(gpus: int, workers) -> None:
    """A job that asked for GPUs must see them all and run one worker per GPU (a wrong SLURM request or a
    CUDA_VISIBLE_DEVICES mistake otherwise trains silently on fewer GPUs, or on the CPU)."""
    import torch

    if not gpus:
        return
    seen = torch.cuda.device_count()
    if seen < gpus or workers.num_processes != gpus:
        raise RuntimeError(
            f"trainer: the job asked for {gpus} GPU(s) but sees {seen} "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}) and runs {workers.num_processes} "
            "worker(s); check the rule's gpu resource and the SLURM allocation")


def run_job(job: TrainJob, log=print) -> None:
    """Load the base model and examples, train, and (first worker only) write the model, metrics and curve."""
    from compress_distill.infra import io
    from compress_distill.models import student

    check_devices(job.gpus, data_parallel())
    model, tokenizer = student.load_base(job.base)
    examples = io.read_jsonl(job.examples)
    model, metrics, curve = train(model, tokenizer, examples, job.hp, job.seed, lora=job.lora, log=log,
                                  checkpoint=job.checkpoint, fingerprint=job.fingerprint)
    if data_parallel().process_index != 0:
        return
    metrics.update(job.meta)
    # other jobs on this machine at the end of training (1-minute load average vs this job's threads): a wall-clock
    # speed-up between runs that shared their cores is not a fair one (tables.timings)
    import torch

    metrics["measured"].update(load_average=os.getloadavg()[0], threads=torch.get_num_threads())
    with io.atomic_dir(job.model) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        # the trained bits, for the fingerprints table: equal on every machine that computes the same numbers
        metrics["weights_sha256"] = io.folder_digest(tmp, "*.safetensors")
    write_curve(job.curve, curve)
    io.write_json(job.metrics, metrics)
    if job.checkpoint:
        shutil.rmtree(job.checkpoint, ignore_errors=True)


def launch_command(spec_path: str | Path, processes: int, threads_per_process: int, port: int) -> list[str]:
    """``accelerate launch`` of this module's worker entry point, one process per GPU (CPU processes use gloo)."""
    return [executable("accelerate"), "launch", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--main_process_port", str(port), "--mixed_precision", "no",
            "--dynamo_backend", "no", "--num_cpu_threads_per_process", str(threads_per_process),
            "-m", "compress_distill.training.launch", str(spec_path)]


def launch(job: TrainJob, processes: int, threads: int, log_path: str | Path) -> None:
    """Run the job in ``processes`` workers; their output goes to the job's log; a failed worker fails the job."""
    import subprocess

    from compress_distill.infra.io import write_json

    spec_path = Path(job.model + ".launch.json")
    write_json(spec_path, job.to_dict(), record=False)
    cmd = launch_command(spec_path, processes, max(1, threads // processes), free_port())
    with open(log_path, "a", encoding="utf-8") as log:
        print(f"trainer: {' '.join(cmd)}", file=log, flush=True)
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    spec_path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"trainer: accelerate launch exited with code {done.returncode}; see {log_path}")


def _worker(spec_path: str) -> None:
    import logging

    from compress_distill.infra.io import read_json
    from compress_distill.numerics.pins import pin_torch

    job = TrainJob.from_dict(read_json(spec_path))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s", stream=sys.stdout, force=True)
    # accelerate gives each worker its share of the job's threads; the job's environment carries the pins
    logging.info("numerics: %s", pin_torch(int(os.environ.get("OMP_NUM_THREADS", "1"))))
    run_job(job, log=logging.getLogger("train").info)


if __name__ == "__main__":
    _worker(sys.argv[1])
