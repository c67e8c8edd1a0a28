from compress_distill.core import verifier
from compress_distill.infra import io, jobstart

log = jobstart.start(snakemake, "verify")
traces = io.read_jsonl(snakemake.input.traces)
kept, rejects = verifier.verify_traces(traces, snakemake.params.verifier, workers=snakemake.threads)
io.write_jsonl(snakemake.output.kept, kept)
io.write_json(snakemake.output.rejects, {"traces": len(traces), "kept": len(kept), "rejects": dict(rejects)})
log.info("kept %d of %d; rejects %s", len(kept), len(traces), dict(rejects))
