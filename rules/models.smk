# pretrained models converted once from a local file (config `models`), so that no model stage needs the hub
rule convert_model:
    output:
        folder=directory(f"{R}/models/{{model}}"),
    log:
        f"{R}/logs/models/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/models/{{model}}.tsv"
    conda:
        "../envs/models.yaml"
    threads: MODEL_RES["threads"]
    resources:
        **MODEL_RES["resources"],
    params:
        identity=identity("convert_model"),
        source=converted_source,
    script:
        "../workflow_scripts/convert_model.py"
