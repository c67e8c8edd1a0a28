from pathlib import Path

from compress_distill import io, runtime, tables

log = runtime.start(snakemake, "tables")
inp, out, p = snakemake.input, snakemake.output, snakemake.params
results = Path(out.main_grid_csv).parents[1]  # results/<run>
metrics, summaries = tables.load_inputs(inp, p.runs, p.benchmarks)
compressed = tables.group_records(inp.compressed, results / "compressors")
selections = {}
for path in inp.selections:
    teacher, regime = path.split("/")[-3:-1]
    selections[(teacher, regime)] = io.read_json(path)
rejects = {}
for path in inp.rejects:
    rejects.setdefault(path.split("/")[-3], []).append(io.read_json(path))

grid = tables.main_grid(p.runs, metrics, summaries)
efficiency = tables.efficiency(grid, compressed, p.compressors)
timings = tables.timings(p.runs, metrics)
built = {
    "main_grid": grid,
    "verification": tables.verification(rejects),
    "compression": tables.compression(compressed, selections),
    "truncation": tables.truncation(tables.group_records(inp.truncated, results / "truncation")),
    "efficiency": efficiency,
    "claims": tables.claims(efficiency, timings),
    "timings": timings,
    "fingerprints": tables.fingerprints(p.runs, metrics, summaries),
}
for name, df in built.items():
    tables.write_table(df, out[f"{name}_csv"][: -len(".csv")])
    log.info("%s: %d rows", name, len(df))
