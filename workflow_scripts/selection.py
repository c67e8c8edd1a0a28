from compress_distill.infra import io, jobstart
from compress_distill.stages import selection

log = jobstart.start(snakemake, "selection")
verdicts = selection.load_verdicts(snakemake.params.shards)
required, candidates = list(snakemake.params.required), list(snakemake.params.candidates)
ids, removed = selection.shared_ids(verdicts, required, candidates)
chosen = selection.select(ids, snakemake.params.size, snakemake.params.seed)
io.write_json(snakemake.output.selection, {
    "verified": len(verdicts.raw_chars),
    "compressors": required,
    "candidates": candidates,
    "shared": len(ids),
    "shared_mean_raw_chars": selection.mean_chars(verdicts, set(ids)),
    "removed_by_compressor": removed,
    "regime_size": len(chosen),
    "ids": chosen,
})
log.info("%d verified, %d shared by the compressors its targets use (%s; adaptive among: %s), %d in the regime",
         len(verdicts.raw_chars), len(ids), ", ".join(required) or "none", ", ".join(candidates) or "none",
         len(chosen))
