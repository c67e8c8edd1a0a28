rule teacher_generate:
    input:
        shard=R + "/problems/shards/{shard}.jsonl",
        prompt=lambda wc: config["teachers"][wc.teacher]["prompt"],
        code=code("engine", "teacher"),
    output:
        traces=R + "/teachers/{teacher}/generated/{shard}.jsonl",
    params:
        teacher=lambda wc: config["teachers"][wc.teacher],
        seed=config["seed"],
    threads: TEACHER_RES["threads"]
    resources:
        mem_mb=TEACHER_RES["mem_mb"],
        runtime=TEACHER_RES["runtime"],
        gpu=TEACHER_RES["gpu"],
        nodes=TEACHER_RES["nodes"],
    log:
        R + "/logs/teacher_generate/{teacher}/{shard}.log",
    benchmark:
        R + "/benchmarks/teacher_generate/{teacher}/{shard}.tsv"
    conda:
        "../envs/engines.yaml"
    script:
        "../workflow_scripts/teacher_generate.py"


rule verify:
    input:
        traces=rules.teacher_generate.output.traces,
        code=code("verifier"),
    output:
        kept=R + "/teachers/{teacher}/verified/{shard}.jsonl",
        rejects=R + "/teachers/{teacher}/verified/{shard}.rejects.json",
    params:
        verifier=config["problems"]["pool"]["verifier"],
    log:
        R + "/logs/verify/{teacher}/{shard}.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow_scripts/verify.py"
