rule truncate:
    input:
        compressed=rules.compress.output.records,
        tokenizer=reference_tokenizer_input,
        code=code("verifier", "truncation", "tokens"),
    output:
        records=R + "/truncation/{compressor}/{teacher}/{shard}.jsonl",
    params:
        unit=config["truncation"]["unit"],
        tokenizer=reference_tokenizer(),
    log:
        R + "/logs/truncate/{compressor}/{teacher}/{shard}.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow_scripts/truncate.py"
