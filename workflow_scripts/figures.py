from pathlib import Path

from compress_distill.analysis import figures
from compress_distill.infra import jobstart

log = jobstart.start(snakemake, "figures")
figures.make_all(dict(snakemake.input.items()), Path(snakemake.output[0]).parent, workers=snakemake.threads)
log.info("wrote %d figures", len(figures.BUILDERS))
