from compress_distill.infra import io, jobstart
from compress_distill.stages import truncation

log = jobstart.start(snakemake, "truncate")
compressed = io.read_jsonl(snakemake.input.compressed)
records = truncation.truncated_records(compressed, snakemake.params.unit, snakemake.params.tokenizer)
io.write_jsonl(snakemake.output.records, records)
log.info("truncated %d traces to their compressed length (%s)", len(records), snakemake.params.unit)
