from compress_distill.infra import io, jobstart
from compress_distill.stages import selection

log = jobstart.start(snakemake, "selection")
verdicts = selection.load_verdicts(snakemake.params.shards)
required = list(snakemake.params.required)
ids, removed = selection.shared_ids(verdicts, required)
chosen = selection.select(ids, snakemake.params.size, snakemake.params.seed)
io.write_json(snakemake.output.selection, {
    "verified": len(verdicts.raw_chars),
    "compressors": required,
    "shared": len(ids),
    "shared_mean_raw_chars": selection.mean_chars(verdicts, set(ids)),
    "removed_by_compressor": removed,
    "regime_size": len(chosen),
    "ids": chosen,
})
log.info("%d verified, %d shared by the compressors its targets use (%s), %d in the regime",
         len(verdicts.raw_chars), len(ids), ", ".join(required) or "none", len(chosen))
