from compress_distill.infra import jobstart

# before any heavier import: where the run preloads, the job continues in a fork that has them
log = jobstart.start(snakemake, "evaluate", torch=True)

import tempfile
from pathlib import Path

from compress_distill.config.settings import EvaluationSettings
from compress_distill.engines import chunked, registry
from compress_distill.infra import io
from compress_distill.numerics import pins
from compress_distill.stages import evaluation

log.info("numerics: %s", pins.pin_torch(jobstart.job_threads(snakemake)))
settings = EvaluationSettings.of_job(snakemake)
spec = evaluation.engine_spec(settings)
metrics = io.read_json(snakemake.input.metrics)
evaluation.check_cap(settings.max_new_tokens, metrics["max_example_tokens"])
items = io.read_jsonl(snakemake.input.benchmark)
name = Path(snakemake.input.benchmark).stem  # a benchmark, or the validation set (rule pilot_evaluate)
by_id = {p["id"]: p for p in items}
with tempfile.TemporaryDirectory() as scratch:
    model = snakemake.input.model if spec["kind"] == "hf" else evaluation.servable_model(snakemake.input.model, scratch)
    with registry.open_engine(spec, snakemake.log[0], model_path=model) as eng:
        outputs = chunked.run_chunked(
            eng,
            evaluation.requests_for(items),
            snakemake.output.outputs,
            settings.chunk_size,
            lambda req, comp: evaluation.output_record(by_id[req.id], comp),
            desc=f"evaluate on {name}",
            # the model by its metrics, which carry the trained weights' sha256
            fingerprint=jobstart.fingerprint(snakemake, [snakemake.input.metrics, snakemake.input.benchmark]),
        )
graded = evaluation.grade_outputs(outputs, snakemake.params.verifier, workers=snakemake.threads)
summary = evaluation.summarise(graded, settings.max_new_tokens, settings.bootstrap_resamples, snakemake.params.seed)
summary["outputs_sha256"] = io.records_digest(graded)
io.write_json(snakemake.output.summary, {**summary, "benchmark": name})
io.write_jsonl(snakemake.output.outputs, graded)
log.info("%s", summary)
