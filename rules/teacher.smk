rule teacher_generate:
    input:
        shard=f"{R}/problems/shards/{{shard}}.jsonl",
        prompt=prompt("teachers", "teacher"),
        model=converted_input("teachers", "teacher"),
    output:
        traces=f"{R}/teachers/{{teacher}}/generated/{{shard}}.jsonl",
    log:
        f"{R}/logs/teacher_generate/{{teacher}}/{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/teacher_generate/{{teacher}}/{{shard}}.tsv"
    group:
        "generation"
    conda:
        engine_env("teachers", "teacher", "engines")
    threads: TEACHER_RES["threads"]
    resources:
        **TEACHER_RES["resources"],
        **job_execution("teacher_generate", "teachers", "teacher"),
    params:
        identity=model_identity("teacher_generate", "teachers", "teacher"),
        prompt=prompt_digest("teachers", "teacher"),
        settings=job_params("teacher_generate", "teachers", "teacher"),
        seed=config["seed"],
    script:
        "../workflow_scripts/teacher_generate.py"


# on a cluster, verification (seconds) runs inside its shard's generation job: one submission, not two
rule verify:
    input:
        traces=rules.teacher_generate.output.traces,
    output:
        kept=f"{R}/teachers/{{teacher}}/verified/{{shard}}.jsonl",
        rejects=f"{R}/teachers/{{teacher}}/verified/{{shard}}.rejects.json",
    log:
        f"{R}/logs/verify/{{teacher}}/{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/verify/{{teacher}}/{{shard}}.tsv"
    group:
        "generation"
    conda:
        "../envs/core.yaml"
    resources:
        **cpu_resources("verify", grouped=True),
    params:
        identity=identity("verify"),
        verifier=config["problems"]["pool"]["verifier"],
    script:
        "../workflow_scripts/verify.py"
