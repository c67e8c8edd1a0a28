from compress_distill.infra import io, jobstart
from compress_distill.stages import problems

log = jobstart.start(snakemake, "problems")
pool, validation, benchmarks, rows, overlap = problems.load_all(snakemake.params.problems, snakemake.params.seed)
n_shards = len(snakemake.output.shards)
for path, bench in zip(snakemake.output.benchmarks, benchmarks.values()):
    io.write_jsonl(path, bench)
for i, path in enumerate(snakemake.output.shards):
    io.write_jsonl(path, problems.shard(pool, n_shards, i))
io.write_jsonl(snakemake.output.pool, pool)
io.write_jsonl(snakemake.output.validation, validation)
summary = {"pool": len(pool), "validation": len(validation), "benchmarks": {n: len(b) for n, b in benchmarks.items()}, "shards": n_shards,
           "rows": rows, "decontamination": overlap}
io.write_json(snakemake.output.summary, summary)
log.info("problems: %s", summary)
