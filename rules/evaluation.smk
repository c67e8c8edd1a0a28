rule evaluate:
    input:
        model=rules.train.output.model,
        metrics=rules.train.output.metrics,
        benchmark=R + "/problems/benchmarks/{benchmark}.jsonl",
        code=code("engine", "verifier", "evaluation"),
    output:
        outputs=RUN_DIR + "/eval/{benchmark}.jsonl",
        summary=RUN_DIR + "/eval/{benchmark}.json",
    params:
        evaluation=config["evaluation"],
        verifier=lambda wc: config["problems"]["benchmarks"][wc.benchmark]["verifier"],
        seed=config["seed"],
    threads: EVAL_RES["threads"]
    resources:
        mem_mb=EVAL_RES["mem_mb"],
        runtime=EVAL_RES["runtime"],
        gpu=EVAL_RES["gpu"],
        nodes=EVAL_RES["nodes"],
    log:
        RUN_DIR + "/eval/{benchmark}.log",
    benchmark:
        RUN_DIR + "/eval/{benchmark}.benchmark.tsv"
    conda:
        "../envs/training.yaml"
    script:
        "../workflow_scripts/evaluate.py"
