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
        **job_execution("compress", "compressors", "compressor"),
    params:
        identity=model_identity("compress", "compressors", "compressor"),
        prompt=prompt_digest("compressors", "compressor"),
        settings=job_params("compress", "compressors", "compressor"),
        tokenizer=reference_tokenizer(),
        seed=config["seed"],
    script:
        "../workflow_scripts/compress.py"
