from pathlib import Path

from compress_distill.analysis import registry, tables
from compress_distill.analysis.study import Study
from compress_distill.infra import jobstart

log = jobstart.start(snakemake, "tables")
study = Study.load(snakemake.params.layout)
tables.write_all(study, registry.tables_of("tables"), Path(snakemake.output.main_grid_csv).parent, log=log.info)
