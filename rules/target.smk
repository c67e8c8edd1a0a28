rule selection:
    input:
        verified=verified_shards,
        compressed=used_compressors_shards,
    output:
        selection=f"{R}/targets/{{teacher}}/{{regime}}/selection.json",
    log:
        f"{R}/logs/selection/{{teacher}}/{{regime}}.log",
    benchmark:
        f"{R}/benchmarks/selection/{{teacher}}/{{regime}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        **cpu_resources("selection"),
    params:
        identity=identity("selection"),
        shards=selection_shards,
        required=selection_required,
        size=regime_size,
        seed=config["seed"],
    script:
        "../workflow_scripts/selection.py"


rule target:
    input:
        selection=rules.selection.output.selection,
        source=target_source,
    output:
        examples=f"{R}/targets/{{teacher}}/{{regime}}/{{target}}.jsonl",
    log:
        f"{R}/logs/target/{{teacher}}/{{regime}}/{{target}}.log",
    benchmark:
        f"{R}/benchmarks/target/{{teacher}}/{{regime}}/{{target}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        **cpu_resources("target"),
    params:
        identity=identity("target"),
    script:
        "../workflow_scripts/target.py"
