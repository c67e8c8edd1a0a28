from compress_distill import io, runtime, target

log = runtime.start(snakemake, "target")
selection = io.read_json(snakemake.input.selection)
kind = target.Target.parse(snakemake.wildcards.target).kind
io.write_jsonl(snakemake.output.examples, target.build(kind, selection["ids"], list(snakemake.input.source)))
log.info("%s: %d examples", snakemake.wildcards.target, len(selection["ids"]))
