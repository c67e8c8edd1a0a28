rule compress:
    input:
        verified=rules.verify.output.kept,
        prompt=prompt("compressors", "compressor"),
        tokenizer=reference_tokenizer_input,
        model=converted_input("compressors", "compressor"),
    output:
        records=f"{R}/compressors/{{compressor}}/{{teacher}}/{{shard}}.jsonl",
    log:
        f"{R}/logs/compress/{{compressor}}/{{teacher}}/{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/compress/{{compressor}}/{{teacher}}/{{shard}}.tsv"
    group:
        "compression"
    conda:
        engine_env("compressors", "compressor", "engines")
    threads: COMPRESSOR_RES["threads"]
    resources:
        **COMPRESSOR_RES["resources"],
    params:
        identity=model_identity("compress", "compressors", "compressor"),
        prompt=prompt_digest("compressors", "compressor"),
        compressor=settings(
            "compressors",
            "compressor",
            "engine",
            "min_reasoning_chars",
            "retries",
            "target_share",
        ),
        tokenizer=reference_tokenizer(),
        seed=config["seed"],
    script:
        "../workflow_scripts/compress.py"
