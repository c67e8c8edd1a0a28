from compress_distill import io, regime, runtime, target

log = runtime.start(snakemake, "selection")
verdicts = target.load_verdicts(snakemake.params.shards)
ids, removed = target.shared_ids(verdicts)
chosen = regime.select(ids, snakemake.params.size, snakemake.params.seed)
io.write_json(snakemake.output.selection, {
    "verified": len(verdicts.raw_chars),
    "compressors": sorted(verdicts.rejected),
    "shared": len(ids),
    "shared_mean_raw_chars": target.mean_chars(verdicts, set(ids)),
    "removed_by_compressor": removed,
    "regime_size": len(chosen),
    "ids": chosen,
})
log.info("%d verified, %d shared by the compressors its targets use (%s), %d in the regime",
         len(verdicts.raw_chars), len(ids), ", ".join(sorted(verdicts.rejected)) or "none", len(chosen))
