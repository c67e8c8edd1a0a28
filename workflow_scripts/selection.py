from compress_distill import io, regime, runtime, target

log = runtime.start(snakemake, "selection")
verified_shards = [io.read_jsonl(path) for path in snakemake.input.verified]
verified = [r for shard in verified_shards for r in shard]
n_shards = len(snakemake.input.verified)
compressed = {}
for i, name in enumerate(snakemake.params.compressors):
    compressed[name] = []
    for made_from, path in zip(verified_shards, snakemake.input.compressed[i * n_shards : (i + 1) * n_shards]):
        shard = io.read_jsonl(path)
        target.check_same_ids(made_from, shard, path)
        compressed[name] += shard
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
