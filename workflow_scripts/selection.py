from compress_distill import io, regime, runtime, target

log = runtime.start(snakemake, "selection")
verified = [r for path in snakemake.input.verified for r in io.read_jsonl(path)]
n_shards = len(snakemake.input.verified)
compressed = {
    name: [r for path in snakemake.input.compressed[i * n_shards : (i + 1) * n_shards] for r in io.read_jsonl(path)]
    for i, name in enumerate(snakemake.params.compressors)
}
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
