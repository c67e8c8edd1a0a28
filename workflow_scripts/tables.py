from pathlib import Path

from compress_distill import outputs, runtime, tables
from compress_distill.study import Study

log = runtime.start(snakemake, "tables")
study = Study.load(snakemake.params.layout)
tables.write_all(study, outputs.tables_of("tables"), Path(snakemake.output.main_grid_csv).parent, log=log.info)
