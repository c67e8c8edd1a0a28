from compress_distill import runtime

# before any heavier import: where the run preloads, the job continues in a fork that has them
log = runtime.start(snakemake, "convert_model", torch=True)

from compress_distill import io, models, numerics

log.info("numerics: %s", numerics.pin_torch(runtime.job_threads(snakemake)))
with io.atomic_dir(snakemake.output.folder) as tmp:
    info = models.convert_gguf(snakemake.config["models"][snakemake.wildcards.model]["gguf"], tmp, log=log.info)
    io.write_json(f"{tmp}/converted.json", info)
