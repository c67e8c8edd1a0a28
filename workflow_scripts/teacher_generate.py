from pathlib import Path

from compress_distill.config.settings import TeacherSettings
from compress_distill.engines import chunked, registry
from compress_distill.infra import io, jobstart
from compress_distill.stages import teacher

log = jobstart.start(snakemake, "teacher_generate")
name = snakemake.wildcards.teacher
spec = TeacherSettings.of_job(snakemake)
shard = io.read_jsonl(snakemake.input.shard)
template = Path(snakemake.input.prompt).read_text(encoding="utf-8")
requests = teacher.requests_for(shard, template, snakemake.params.seed, name)
by_id = {p["id"]: p for p in shard}
with registry.open_engine(spec.engine, snakemake.log[0]) as eng:
    records = chunked.run_chunked(
        eng,
        requests,
        snakemake.output.traces,
        spec.chunk_size,
        lambda req, comp: teacher.trace_record(req, comp, by_id[req.id]),
        desc=f"teacher {name} shard {snakemake.wildcards.shard}",
        fingerprint=jobstart.fingerprint(
            snakemake, [snakemake.input.shard, snakemake.input.prompt, snakemake.input.model]
        ),
    )
log.info("generated %d traces", len(records))
