import shutil

from compress_distill.infra import io, jobstart

log = jobstart.start(snakemake, "report_figure")
with io.atomic_path(snakemake.output.page, record=True) as tmp:
    shutil.copyfile(snakemake.input.png, tmp)
log.info("%s: copied for the report", snakemake.input.png)
