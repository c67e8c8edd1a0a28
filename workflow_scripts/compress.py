from pathlib import Path

from compress_distill.config.settings import CompressorSettings
from compress_distill.engines import chunked, registry
from compress_distill.infra import io, jobstart
from compress_distill.models.tokens import count_tokens
from compress_distill.stages import compressor

log = jobstart.start(snakemake, "compress")
name = snakemake.wildcards.compressor
spec = CompressorSettings.of_job(snakemake)
verified = io.read_jsonl(snakemake.input.verified)
template = Path(snakemake.input.prompt).read_text(encoding="utf-8")
by_id = {t["id"]: t for t in verified}


with registry.open_engine(spec.engine, snakemake.log[0]) as eng:
    eng = compressor.Retrying(eng, by_id, spec.retries, spec.min_reasoning_chars)

    def to_record(req, comp):
        record = compressor.compressed_record(by_id[req.id], comp, spec.min_reasoning_chars)
        record["attempts"] = eng.attempts[req.id]
        record["raw_tokens"], record["tokens"] = count_tokens(snakemake.params.tokenizer, [record["raw_text"], comp.text])
        return record

    records = chunked.run_chunked(
        eng,
        compressor.requests_for(verified, template, snakemake.params.seed, name, spec.target_share),
        snakemake.output.records,
        spec.chunk_size,
        to_record,
        desc=f"compressor {name} teacher {snakemake.wildcards.teacher}",
        fingerprint=jobstart.fingerprint(
            snakemake, [snakemake.input.verified, snakemake.input.prompt, snakemake.input.tokenizer,
                        snakemake.input.model]
        ),
    )
log.info("compressed %d traces, %d rejected", len(records), sum(r["reject"] is not None for r in records))
