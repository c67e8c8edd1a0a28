from compress_distill import io, regime, runtime, target

log = runtime.start(snakemake, "selection")
verdicts = target.load_verdicts(snakemake.params.shards)
required, candidates = list(snakemake.params.required), list(snakemake.params.candidates)
ids, removed = target.shared_ids(verdicts, required, candidates)
chosen = regime.select(ids, snakemake.params.size, snakemake.params.seed)
io.write_json(snakemake.output.selection, {
    "verified": len(verdicts.raw_chars),
    "compressors": required,
    "candidates": candidates,
    "shared": len(ids),
    "shared_mean_raw_chars": target.mean_chars(verdicts, set(ids)),
    "removed_by_compressor": removed,
    "regime_size": len(chosen),
    "ids": chosen,
})
log.info("%d verified, %d shared by the compressors its targets use (%s; adaptive among: %s), %d in the regime",
         len(verdicts.raw_chars), len(ids), ", ".join(required) or "none", ", ".join(candidates) or "none",
         len(chosen))
