# Compress-Distill: reasoning-trace compression for efficient knowledge distillation.
# Stages in pipeline order; the logic lives in the compress_distill package, the rules only wire files.
from snakemake.utils import min_version

min_version("9.0")


# the paper preset unless a preset is given (--configfile presets/demo.yaml): presets replace it, never merge;
# `--config key=value` overrides either, key by key
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/inputs.smk"
include: "rules/outputs.smk"
include: "rules/problems.smk"
include: "rules/models.smk"
include: "rules/teacher.smk"
include: "rules/compressor.smk"
include: "rules/truncation.smk"
include: "rules/target.smk"
include: "rules/adaptive.smk"
include: "rules/student.smk"
include: "rules/evaluation.smk"
include: "rules/report.smk"


onstart:
    guard_generations()


onsuccess:
    reconcile_provenance()


onerror:
    reconcile_provenance()


rule all:
    default_target: True
    input:
        final_outputs(),
