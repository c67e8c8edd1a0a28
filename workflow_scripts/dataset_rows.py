from pathlib import Path

from compress_distill.analysis import registry, tables
from compress_distill.analysis.study import Study
from compress_distill.infra import jobstart

log = jobstart.start(snakemake, "dataset_rows")
study = Study.load({"problems_summary": snakemake.input.summary})
tables.write_all(study, registry.tables_of("dataset_rows"), Path(snakemake.output.dataset_rows_csv).parent,
                 log=log.info)
