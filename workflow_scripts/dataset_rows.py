from pathlib import Path

from compress_distill import outputs, runtime, tables
from compress_distill.study import Study

log = runtime.start(snakemake, "dataset_rows")
study = Study.load({"problems_summary": snakemake.input.summary})
tables.write_all(study, outputs.tables_of("dataset_rows"), Path(snakemake.output.dataset_rows_csv).parent,
                 log=log.info)
