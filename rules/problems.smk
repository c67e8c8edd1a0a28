rule problems:
    input:
        code=code("problems"),
    output:
        pool=R + "/problems/pool.jsonl",
        benchmarks=expand(R + "/problems/benchmarks/{benchmark}.jsonl", benchmark=BENCHMARKS),
        shards=expand(R + "/problems/shards/{shard}.jsonl", shard=SHARDS),
        summary=R + "/problems/summary.json",
    params:
        problems=config["problems"],
        seed=config["seed"],
    log:
        R + "/logs/problems.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow_scripts/problems.py"
