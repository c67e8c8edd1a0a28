from compress_distill import io, runtime, target

log = runtime.start(snakemake, "target")
selection = io.read_json(snakemake.input.selection)
source = [r for path in snakemake.input.source for r in io.read_jsonl(path)]
kind = target.Target.parse(snakemake.wildcards.target).kind
examples = target.build(kind, selection["ids"], source, list(snakemake.input.source))
io.write_jsonl(snakemake.output.examples, examples)
log.info("%s: %d examples", snakemake.wildcards.target, len(examples))
