from pathlib import Path

import pandas as pd

from compress_distill.analysis import registry, table_files
from compress_distill.infra import jobstart

log = jobstart.start(snakemake, "report_table")
table = Path(snakemake.output.page).stem
_, labels = registry.report_place("tables", table)
table_files.write_html(pd.read_csv(snakemake.input.csv), snakemake.output.page, f"{labels['item']}. {labels['title']}",
                       snakemake.params.caption)
log.info("%s: HTML page for the report", table)
