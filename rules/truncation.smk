# on a cluster, truncation (seconds) runs inside its shard's compression job: one submission, not two
rule truncate:
    input:
        compressed=rules.compress.output.records,
        tokenizer=reference_tokenizer_input,
    output:
        records=f"{R}/truncation/{{compressor}}/{{teacher}}/{{shard}}.jsonl",
    log:
        f"{R}/logs/truncate/{{compressor}}/{{teacher}}/{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/truncate/{{compressor}}/{{teacher}}/{{shard}}.tsv"
    group:
        "compression"
    conda:
        "../envs/core.yaml"
    resources:
        **cpu_resources("truncate", grouped=True),
    params:
        identity=identity("truncate"),
        unit=config["truncation"]["unit"],
        tokenizer=reference_tokenizer(),
    script:
        "../workflow_scripts/truncate.py"
