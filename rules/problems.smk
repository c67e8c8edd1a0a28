rule problems:
    input:
        datasets=[ancient(p) for p in LOCAL_DATASETS],
    output:
        pool=f"{R}/problems/pool.jsonl",
        validation=f"{R}/problems/validation.jsonl",
        benchmarks=expand(
            f"{R}/problems/benchmarks/{{benchmark}}.jsonl", benchmark=BENCHMARKS
        ),
        shards=expand(f"{R}/problems/shards/{{shard}}.jsonl", shard=SHARDS),
        summary=f"{R}/problems/summary.json",
    log:
        f"{R}/logs/problems.log",
    benchmark:
        f"{R}/benchmarks/problems.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        **cpu_resources("problems"),
    params:
        identity=identity("problems"),
        datasets={p: cd_identity.file_digest(p) for p in LOCAL_DATASETS},
        problems=config["problems"],
        seed=config["seed"],
    script:
        "../workflow_scripts/problems.py"
