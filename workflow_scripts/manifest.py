from compress_distill.infra import jobstart, manifest

log = jobstart.start(snakemake, "manifest")
outputs = list(snakemake.input.tables) + list(snakemake.input.figures)
root = snakemake.output.manifest.rsplit("/", 1)[0]
built = manifest.build(outputs, snakemake.params.measured, snakemake.params.prompts, dict(snakemake.params.config), root)
manifest.write(snakemake.output.manifest, built)
log.info("manifest: %d deterministic files, %d measured, digest %s", len(built["results"]["deterministic"]),
         len(built["results"]["measured"]), built["digest"])
