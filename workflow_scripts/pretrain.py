from compress_distill import runtime

# before any heavier import: where the run preloads, the job continues in a fork that has them
log = runtime.start(snakemake, "pretrain", torch=True)

from compress_distill import io, numerics, student
from compress_distill.tokens import load_tokenizer

log.info("numerics: %s", numerics.pin_torch(runtime.job_threads(snakemake)))
spec = snakemake.params.student
tokenizer = load_tokenizer(snakemake.input.tokenizer)
model = student.build_model(spec["model"], tokenizer, snakemake.params.seed)
log.info("%s: %d parameters", snakemake.wildcards.student, student.count_parameters(model))
corpus = student.pretraining_documents(snakemake.params.arithmetic, tokenizer)
losses = student.pretrain(model, tokenizer, corpus, spec["pretrain"], snakemake.params.seed, log=log.info)
with io.atomic_dir(snakemake.output.folder) as tmp:
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    io.write_json(f"{tmp}/pretrain.json", {"documents": len(corpus), "final_loss": losses[-1], "steps": len(losses)})
