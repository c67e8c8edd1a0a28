# ---- input functions of selection and targets (their logic: compress_distill.stages.selection)
def used_compressors(teacher, regime):
    return cd_selection.used_compressors(RUNS, COMPRESSORS, teacher, regime)


def adaptive_candidates(teacher, regime):
    return cd_selection.adaptive_candidates(RUNS, COMPRESSORS, teacher, regime)


@signed
def selection_required(wc):
    return used_compressors(wc.teacher, wc.regime)


@signed
def selection_candidates(wc):
    return adaptive_candidates(wc.teacher, wc.regime)


def selection_compressors(teacher, regime):
    return cd_selection.compressors_read(RUNS, COMPRESSORS, teacher, regime)


@signed
def selection_shards(wc):
    """Per shard: the verified traces and what each compressor its targets use made of them (selection's inputs)."""
    compressors = selection_compressors(wc.teacher, wc.regime)
    return [
        {
            "verified": rules.verify.output.kept.format(teacher=wc.teacher, shard=s),
            "compressed": {
                c: rules.compress.output.records.format(
                    teacher=wc.teacher, compressor=c, shard=s
                )
                for c in compressors
            },
        }
        for s in SHARDS
    ]


@signed
def used_compressors_shards(wc):
    return [
        p
        for c in selection_compressors(wc.teacher, wc.regime)
        for p in compressed_shards(wc.teacher, c)
    ]


def compressed_shards(teacher, compressor):
    return expand(
        rules.compress.output.records,
        teacher=teacher,
        compressor=compressor,
        shard=SHARDS,
    )


@signed
def regime_size(wc):
    return config["regimes"][wc.regime]["size"]


@signed
def target_source(wildcards):
    """The trace shards a target is made from: verified raw traces, or one compressor's (truncated) traces."""
    target = Target.parse(wildcards.target)
    if target.source == "candidates":
        return [p for c in COMPRESSORS for p in compressed_shards(wildcards.teacher, c)]
    if target.source == "compressed":
        return compressed_shards(wildcards.teacher, target.compressor)
    if target.source == "truncated":
        return expand(
            rules.truncate.output.records,
            teacher=wildcards.teacher,
            compressor=target.compressor,
            shard=SHARDS,
        )
    return verified_shards(wildcards)


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
        candidates=selection_candidates,
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
