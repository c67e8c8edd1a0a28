from compress_distill import io, runtime, tables

log = runtime.start(snakemake, "dataset_rows")
df = tables.dataset_rows(io.read_json(snakemake.input.summary)["rows"])
tables.write_table(df, snakemake.output.csv[: -len(".csv")])
log.info("dataset rows of %d file source(s)", len(df))
