from compress_distill import runtime

# before any heavier import: where the run preloads, the job continues in a fork that has them
log = runtime.start(snakemake, "train", torch=True)

from compress_distill import launch, numerics
from compress_distill.config import student_training
from compress_distill.settings import TrainingSettings, TrainJob

log.info("numerics: %s", numerics.pin_torch(runtime.job_threads(snakemake)))
gpus = int(snakemake.resources.gpu)
job = TrainJob(
    base=snakemake.input.base or snakemake.params.student["model"]["hub"],
    examples=snakemake.input.examples,
    # the result settings (params) plus the execution-only checkpoint interval, the student's own where it sets one
    hp=TrainingSettings.of({**snakemake.params.training, "checkpoint_every": student_training(
        snakemake.config, snakemake.wildcards.student)["checkpoint_every"]}),
    seed=int(snakemake.wildcards.seed),
    lora=snakemake.params.student["lora"],
    # outside the declared outputs, so Snakemake keeps it when a preempted job is rerun
    checkpoint=snakemake.output.model + ".ckpt",
    model=snakemake.output.model,
    metrics=snakemake.output.metrics,
    curve=snakemake.output.curve,
    meta={k: snakemake.wildcards[k] for k in ("teacher", "student", "regime", "target")},
    gpus=gpus,
    # a checkpoint is resumed only by a job with the same inputs, settings and code
    fingerprint=runtime.fingerprint(snakemake, [snakemake.input.examples, snakemake.input.base]),
)
if gpus > 1:  # one worker per GPU, started by accelerate inside this one SLURM task
    launch.launch(job, gpus, runtime.job_threads(snakemake), snakemake.log[0])
else:
    launch.run_job(job, log=log.info)
