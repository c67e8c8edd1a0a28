import shutil

from compress_distill.infra import io, jobstart
from compress_distill.stages import adaptive

log = jobstart.start(snakemake, "adaptive_target")
compressors = list(snakemake.params.compressors)
pilots = dict(zip(compressors, (io.read_json(p) for p in snakemake.input.pilots)))
choice = adaptive.choose(pilots, snakemake.params.margin_points)
# the chosen compressor's target, byte for byte: the full runs train on exactly what its own runs train on
with io.atomic_path(snakemake.output.examples, record=True) as tmp:
    shutil.copyfile(dict(zip(compressors, snakemake.input.targets))[choice["choice"]], tmp)
io.write_json(snakemake.output.choice, choice)
for p in choice["pilots"]:
    log.info("pilot %s: validation accuracy %.3f [%.3f, %.3f], %.1f output tokens%s", p["compressor"], p["accuracy"],
             p["accuracy_ci_low"], p["accuracy_ci_high"], p["mean_output_tokens"],
             " (chosen)" if p["chosen"] else " (within margin)" if p["within_margin"] else "")
