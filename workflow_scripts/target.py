from compress_distill.core.target import Target
from compress_distill.infra import io, jobstart
from compress_distill.stages import selection

log = jobstart.start(snakemake, "target")
chosen = io.read_json(snakemake.input.selection)
kind = Target.parse(snakemake.wildcards.target).kind
io.write_jsonl(snakemake.output.examples, selection.build(kind, chosen["ids"], list(snakemake.input.source)))
log.info("%s: %d examples", snakemake.wildcards.target, len(chosen["ids"]))
