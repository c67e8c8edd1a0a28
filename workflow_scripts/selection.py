from compress_distill import io, regime, runtime, target

log = runtime.start(snakemake, "selection")
verified, compressed = target.load_shards(snakemake.params.shards)
ids, removed = target.shared_ids(verified, compressed)
chosen = regime.select(ids, snakemake.params.size, snakemake.params.seed)
io.write_json(snakemake.output.selection, {
    "verified": len(verified),
    "shared": len(ids),
    "removed_by_compressor": removed,
    "regime_size": len(chosen),
    "ids": chosen,
})
log.info("%d verified, %d shared by every compressor, %d in the regime", len(verified), len(ids), len(chosen))
