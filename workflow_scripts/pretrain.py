from compress_distill.infra import jobstart

# before any heavier import: where the run preloads, the job continues in a fork that has them
log = jobstart.start(snakemake, "pretrain", torch=True)

from compress_distill.infra import io
from compress_distill.models import student
from compress_distill.models.tokens import load_tokenizer
from compress_distill.numerics import pins
from compress_distill.synthetic import pretraining

log.info("numerics: %s", pins.pin_torch(jobstart.job_threads(snakemake)))
spec = snakemake.params.student
tokenizer = load_tokenizer(snakemake.input.tokenizer)
model = student.build_model(spec["model"], tokenizer, snakemake.params.seed)
log.info("%s: %d parameters", snakemake.wildcards.student, student.count_parameters(model))
corpus = pretraining.pretraining_documents(snakemake.params.arithmetic, tokenizer)
losses = student.pretrain(model, tokenizer, corpus, spec["pretrain"], snakemake.params.seed, log=log.info)
with io.atomic_dir(snakemake.output.folder) as tmp:
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    io.write_json(f"{tmp}/pretrain.json", {"documents": len(corpus), "final_loss": losses[-1], "steps": len(losses)})
