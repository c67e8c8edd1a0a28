from pathlib import Path

import pandas as pd

from compress_distill.analysis import table_files
from compress_distill.infra import jobstart

log = jobstart.start(snakemake, "report_table")
table_files.write_html(pd.read_csv(snakemake.input.csv), snakemake.output.page, Path(snakemake.output.page).stem)
log.info("%s: HTML page for the report", Path(snakemake.output.page).stem)
