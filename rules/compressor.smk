rule compress:
    input:
        verified=rules.verify.output.kept,
        prompt=lambda wc: config["compressors"][wc.compressor]["prompt"],
        tokenizer=reference_tokenizer_input,
        code=lambda wc: engine_code(
            config["compressors"][wc.compressor]["engine"],
            "verifier",
            "compressor",
            "tokens",
        ),
    output:
        records=f"{R}/compressors/{{compressor}}/{{teacher}}/{{shard}}.jsonl",
    log:
        f"{R}/logs/compress/{{compressor}}/{{teacher}}/{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/compress/{{compressor}}/{{teacher}}/{{shard}}.tsv"
    conda:
        "../envs/engines.yaml"
    threads: COMPRESSOR_RES["threads"]
    resources:
        **COMPRESSOR_RES["resources"],
    params:
        compressor=settings(
            "compressors", "compressor", "engine", "min_reasoning_chars", "retries"
        ),
        tokenizer=reference_tokenizer(),
        seed=config["seed"],
    script:
        "../workflow_scripts/compress.py"
