rule evaluate:
    input:
        model=rules.train.output.model,
        metrics=rules.train.output.metrics,
        benchmark=f"{R}/problems/benchmarks/{{benchmark}}.jsonl",
    output:
        outputs=f"{RUN_DIR}/eval/{{benchmark}}.jsonl",
        summary=f"{RUN_DIR}/eval/{{benchmark}}.json",
    log:
        f"{RUN_DIR}/eval/{{benchmark}}.log",
    benchmark:
        f"{RUN_DIR}/eval/{{benchmark}}.benchmark.tsv"
    conda:
        engine_env("evaluation", None, "training")
    threads: EVAL_RES["threads"]
    resources:
        **EVAL_RES["resources"],
        **job_execution("evaluate", "evaluation"),
    params:
        identity=engine_identity(
            "evaluate", cd_settings.engine_of(config["evaluation"])
        ),
        settings=job_params("evaluate", "evaluation"),
        verifier=benchmark_verifier,
        seed=config["seed"],
    script:
        "../workflow_scripts/evaluate.py"
