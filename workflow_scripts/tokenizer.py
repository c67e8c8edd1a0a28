from compress_distill.infra import io, jobstart
from compress_distill.models import student
from compress_distill.synthetic import arithmetic

log = jobstart.start(snakemake, "tokenizer")
texts = [r["question"] + "\n" + r["text"] for path in snakemake.input.verified for r in io.read_jsonl(path)]
texts += arithmetic.pretraining_corpus(snakemake.params.arithmetic)
with io.atomic_dir(snakemake.output.folder) as tmp:
    student.train_tokenizer(texts, snakemake.params.vocab_size, tmp)
log.info("trained a %d-token BPE on %d texts", snakemake.params.vocab_size, len(texts))
