from pathlib import Path

import pandas as pd

from compress_distill import runtime, tablefiles

log = runtime.start(snakemake, "report_table")
tablefiles.write_html(pd.read_csv(snakemake.input.csv), snakemake.output.page, Path(snakemake.output.page).stem)
log.info("%s: HTML page for the report", Path(snakemake.output.page).stem)
