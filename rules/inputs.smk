# Input functions and params of the stages, by stage (functions only: Snakemake's linter keeps rules and
# functions in separate files; rules live in their stage's .smk).


# ---- input functions several stages share
def reference_tokenizer():
    """The trained tokenizer folder (a rule builds it) or a hub name (nothing to build)."""
    tok = config["tokenizer"]
    return f"{R}/students/tokenizer" if tok["train"] else tok["name"]


@signed
def reference_tokenizer_input(wildcards=None):
    if config["tokenizer"]["train"]:
        return [rules.tokenizer.output.folder]
    return (
        [config["tokenizer"]["name"]]
        if config["tokenizer"]["name"] in CONVERTED
        else []
    )


def converted_input(section, key):
    """The converted model folder that the engine of ``config[section][wildcards.<key>]`` runs (none for a hub
    model), as an input: the conversion runs first, and the job reruns when the folder's content changes.
    """

    def get(name):
        model = config[section][name]["engine"].get("model")
        return [model] if model in CONVERTED else []

    return per_model(section, key, get)


# ---- model conversion
@signed
def converted_source(wc):
    """What a conversion reads: the config's source and the installed version of the package that ships it."""
    source = config["models"][wc.model]["gguf"]
    return {**source, "version": cd_conversion.package_version(source["package"])}


# ---- teachers and verification
@signed
def verified_shards(wildcards):
    return expand(rules.verify.output.kept, teacher=wildcards.teacher, shard=SHARDS)


# ---- selection and targets (their logic: compress_distill.stages.selection)
def used_compressors(teacher, regime):
    return cd_selection.used_compressors(RUNS, COMPRESSORS, teacher, regime)


@signed
def selection_required(wc):
    return used_compressors(wc.teacher, wc.regime)


@signed
def selection_shards(wc):
    """Per shard: the verified traces and what each compressor its targets use made of them (selection's inputs)."""
    compressors = used_compressors(wc.teacher, wc.regime)
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
        for c in used_compressors(wc.teacher, wc.regime)
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
    """The trace shards a target is made from: verified raw traces, or one compressor's (truncated) traces. The
    adaptive target is one compressor's target, picked per student (rule adaptive_target), never built here.
    """
    target = Target.parse(wildcards.target)
    if target.source == "candidates":
        raise ValueError(
            f"{target.name} has one target per student: {rules.adaptive_target.output.examples}"
        )
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


# ---- the adaptive target
@signed
def pilot_summaries(wc):
    return expand(
        rules.pilot_evaluate.output.summary,
        teacher=wc.teacher,
        student=wc.student,
        regime=wc.regime,
        compressor=COMPRESSORS,
    )


@signed
def adaptive_candidate_targets(wc):
    return expand(
        rules.target.output.examples,
        teacher=wc.teacher,
        regime=wc.regime,
        target=[f"compressed-{c}" for c in COMPRESSORS],
    )


# ---- students
@signed
def train_examples(wc):
    """A run's target: the teacher × regime's, or, for the adaptive target, the one its pilot chose for the student."""
    if wc.target == ADAPTIVE:
        return rules.adaptive_target.output.examples.format(**wc)
    return rules.target.output.examples.format(**wc)


@signed
def student_base(wildcards):
    """A student built from config starts from its pre-trained folder, a converted one from its converted folder;
    a hub student from the hub."""
    model = config["students"][wildcards.student]["model"]
    if "architecture" in model:
        return rules.pretrain.output.folder.format(student=wildcards.student)
    if "converted" in model:
        return rules.convert_model.output.folder.format(model=model["converted"])
    return []


# ---- evaluation
@signed
def benchmark_verifier(wc):
    return config["problems"]["benchmarks"][wc.benchmark]["verifier"]
