from pathlib import Path

from compress_distill import engine, io, runtime, teacher

log = runtime.start(snakemake, "teacher_generate")
spec = snakemake.params.teacher
shard = io.read_jsonl(snakemake.input.shard)
template = Path(snakemake.input.prompt).read_text(encoding="utf-8")
requests = teacher.requests_for(shard, template, snakemake.params.seed, snakemake.wildcards.teacher)
by_id = {p["id"]: p for p in shard}
with engine.open_engine(spec["engine"], snakemake.log[0]) as eng:
    records = engine.run_chunked(
        eng,
        requests,
        snakemake.output.traces,
        snakemake.config["teachers"][snakemake.wildcards.teacher]["chunk_size"],
        lambda req, comp: teacher.trace_record(req, comp, by_id[req.id]),
        desc=f"teacher {snakemake.wildcards.teacher} shard {snakemake.wildcards.shard}",
        fingerprint=runtime.fingerprint(snakemake, [snakemake.input.shard, snakemake.input.prompt]),
    )
log.info("generated %d traces", len(records))
