from compress_distill import engine, evaluation, io, runtime

log = runtime.start(snakemake, "evaluate", uses_torch=True)
spec = {"kind": "hf", **snakemake.params.evaluation}
metrics = io.read_json(snakemake.input.metrics)
evaluation.check_cap(spec["max_new_tokens"], metrics["max_example_tokens"])
items = io.read_jsonl(snakemake.input.benchmark)
by_id = {p["id"]: p for p in items}
outputs = engine.run_chunked(
    engine.make_engine(spec, model_path=snakemake.input.model),
    evaluation.requests_for(items),
    snakemake.output.outputs,
    snakemake.config["evaluation"]["chunk_size"],
    lambda req, comp: evaluation.output_record(by_id[req.id], comp),
    desc=f"evaluate on {snakemake.wildcards.benchmark}",
)
graded = evaluation.grade_outputs(outputs, snakemake.params.verifier, workers=snakemake.threads)
summary = evaluation.summarise(graded, spec["max_new_tokens"], spec["bootstrap_resamples"], snakemake.params.seed)
io.write_json(snakemake.output.summary, {**summary, "benchmark": snakemake.wildcards.benchmark})
log.info("%s", summary)
io.write_jsonl(snakemake.output.outputs, graded)
