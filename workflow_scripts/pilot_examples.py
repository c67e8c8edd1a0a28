from compress_distill.infra import io, jobstart
from compress_distill.stages import adaptive

log = jobstart.start(snakemake, "pilot_examples")
examples = io.read_jsonl(snakemake.input.examples)
pilot = adaptive.pilot_examples(examples, snakemake.params.size, snakemake.params.seed)
io.write_jsonl(snakemake.output.examples, pilot)
log.info("pilot: %d of %d examples of %s", len(pilot), len(examples), snakemake.input.examples)
