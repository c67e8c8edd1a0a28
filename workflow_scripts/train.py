from compress_distill.infra import jobstart

# before any heavier import: where the run preloads, the job continues in a fork that has them
log = jobstart.start(snakemake, "train", torch=True)

from compress_distill.config.settings import TrainingSettings, TrainJob
from compress_distill.numerics import pins
from compress_distill.training import launch

log.info("numerics: %s", pins.pin_torch(jobstart.job_threads(snakemake)))
gpus = int(snakemake.resources.gpu)
run = dict(snakemake.wildcards.items())  # a pilot (rule pilot_train) has a compressor and the run's seed as a param
job = TrainJob(
    base=snakemake.input.base or snakemake.params.student["model"]["hub"],
    examples=snakemake.input.examples,
    hp=TrainingSettings.of_job(snakemake),
    seed=int(run.get("seed", snakemake.params.get("seed"))),
    lora=snakemake.params.student["lora"],
    # outside the declared outputs, so Snakemake keeps it when a preempted job is rerun
    checkpoint=snakemake.output.model + ".ckpt",
    model=snakemake.output.model,
    metrics=snakemake.output.metrics,
    curve=snakemake.output.curve,
    meta={k: v for k, v in run.items() if k != "seed"},
    gpus=gpus,
    # a checkpoint is resumed only by a job with the same inputs, settings and code
    fingerprint=jobstart.fingerprint(snakemake, [snakemake.input.examples, snakemake.input.base]),
)
if gpus > 1:  # one worker per GPU, started by accelerate inside this one SLURM task
    launch.launch(job, gpus, jobstart.job_threads(snakemake), snakemake.log[0])
else:
    launch.run_job(job, log=log.info)
