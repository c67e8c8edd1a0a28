from compress_distill.infra import jobstart

# before any heavier import: where the run preloads, the job continues in a fork that has them
log = jobstart.start(snakemake, "convert_model", torch=True)

from compress_distill.infra import io
from compress_distill.models import conversion
from compress_distill.numerics import pins

log.info("numerics: %s", pins.pin_torch(jobstart.job_threads(snakemake)))
with io.atomic_dir(snakemake.output.folder) as tmp:
    info = conversion.convert_gguf(snakemake.params.source, tmp, log=log.info)
    io.write_json(f"{tmp}/converted.json", info)
