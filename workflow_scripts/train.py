import shutil
from pathlib import Path

from compress_distill import io, runtime, student, trainer

log = runtime.start(snakemake, "train", uses_torch=True)
spec = snakemake.params.student
base = snakemake.input.base or spec["model"]["hub"]
model, tokenizer = student.load_base(base)
examples = io.read_jsonl(snakemake.input.examples)
# the checkpoint lives outside the declared outputs, so Snakemake keeps it when a preempted job is rerun
checkpoint = Path(snakemake.output.model + ".ckpt")
hp = {**snakemake.params.training, "checkpoint_every": snakemake.config["training"]["checkpoint_every"]}
model, metrics, curve = trainer.train(
    model, tokenizer, examples, hp, int(snakemake.wildcards.seed), lora=spec["lora"], log=log.info,
    checkpoint=checkpoint,
)
metrics.update({k: snakemake.wildcards[k] for k in ("teacher", "student", "regime", "target")})
metrics["max_example_tokens"] = trainer.max_completion_tokens(tokenizer, examples)
with io.atomic_dir(snakemake.output.model) as tmp:
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
trainer.write_curve(snakemake.output.curve, curve)
io.write_json(snakemake.output.metrics, metrics)
shutil.rmtree(checkpoint, ignore_errors=True)
