import os
import re
import sys
from pathlib import Path

# the package is importable here and in every job (local, conda or SLURM) without installing it
sys.path.insert(0, workflow.basedir)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])
    )
)

from compress_distill import config as cd_config
from compress_distill import grid as cd_grid
from compress_distill import identity as cd_identity
from compress_distill import numerics as cd_numerics
from compress_distill.engine import ENGINE_KINDS
from compress_distill.target import parse_target

try:
    cd_config.validate(
        config, Path(workflow.basedir) / "schemas" / "config.schema.yaml"
    )
except cd_config.ConfigError as err:
    raise WorkflowError(str(err)) from None

# every job inherits these: CPU kernel dispatch pinned (or not) as config says, before any job imports torch
os.environ.update(cd_numerics.environment(config["cpu"]["dispatch"]))

R = f"results/{config['run']}"
RUNS = cd_grid.runs(config["grid"])
TEACHERS = list(config["teachers"])
COMPRESSORS = list(config["compressors"])
STUDENTS = list(config["students"])
REGIMES = list(config["regimes"])
BENCHMARKS = list(config["problems"]["benchmarks"])
SHARDS = [f"{i:04d}" for i in range(config["problems"]["shards"])]
# local dataset files: inputs by existence (a missing file stops the dry run), by content through params
LOCAL_DATASETS = sorted(
    {
        s["path"]
        for s in [config["problems"]["pool"], *config["problems"]["benchmarks"].values()]
        if s["kind"] in ("jsonl", "parquet")
    }
)
TARGETS = ["raw", "answer-only"] + [
    f"{k}-{c}" for k in ("compressed", "truncated") for c in COMPRESSORS
]
RUN_DIR = f"{R}/runs/{{teacher}}/{{student}}/{{regime}}/{{target}}/seed{{seed}}"


def _alternatives(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    teacher=_alternatives(TEACHERS),
    compressor=_alternatives(COMPRESSORS),
    student=_alternatives(STUDENTS),
    regime=_alternatives(REGIMES),
    benchmark=_alternatives(BENCHMARKS),
    target=_alternatives(TARGETS),
    shard=r"\d{4}",
    seed=r"\d+",


# ---- what a job computes with besides its inputs and settings, by content: every rule has it as param
# ---- `identity`, so a job reruns when that changes and never because a file's clock moved (profiles/default
# ---- turns off Snakemake's script-mtime trigger; see "Reruns" in the README)
def identity(script, *modules):
    """The code the rule's script reaches through imports (plus ``modules``, picked by config at run time), the
    versions of the software it imports, and the CPU dispatch when that code computes with torch."""
    ident = cd_identity.code_identity(workflow.basedir, f"workflow_scripts/{script}.py", modules)
    if "torch" in ident["software"]:
        return {**ident, "cpu_dispatch": config["cpu"]["dispatch"]}
    return ident


def engine_identity(script, spec):
    """A rule's identity with the modules of the engine kind it runs (and the server module for a served model)."""
    engine_module = ENGINE_KINDS[spec["kind"]].split(":")[0].rsplit(".", 1)[1]
    return identity(script, engine_module, *(["server"] if spec.get("serve") else []))


def prompt(section, key):
    """A prompt template: an input by existence only (a clone or `touch` must not rerun); its content counts through
    the `prompt` param (:func:`prompt_digest`)."""
    return lambda wc: ancient(config[section][getattr(wc, key)]["prompt"])


def prompt_digest(section, key):
    return lambda wc: cd_identity.file_digest(config[section][getattr(wc, key)]["prompt"])


def expensive(path):
    """Teacher traces and compressions: write-protected when config asks (see protect_generations)."""
    return protected(path) if config["protect_generations"] else path


# ---- per-model resources (config), as Snakemake resources; threads pinned from config
def _resources_of(section, key):
    def get(wildcards):
        name = getattr(wildcards, key) if key else None
        block = config[section][name] if name else config[section]
        return block.get("resources", {})

    return get


def model_resources(section, key=None):
    """Threads and resources (as the SLURM executor plugin reads them) of a rule whose model is
    ``config[section][wildcards.<key>]``. ``gpus`` and ``mem_mb`` are per node; the plugin's ``gpu`` is the job's
    total. A GPU job's threads are its CPUs per node (``cpus_per_gpu`` × GPUs), so torch is pinned to what SLURM
    gave it; memory and runtime grow with each retry."""
    spec = _resources_of(section, key)

    def gpus(wc):
        return spec(wc).get("gpus", 0)

    def threads(wc):
        return (
            gpus(wc) * spec(wc).get("cpus_per_gpu", 8)
            if gpus(wc)
            else spec(wc).get("threads", 1)
        )

    return {
        "threads": threads,
        "resources": {
            # the count torch uses even where Snakemake lowers `threads` to --cores (results may depend on it)
            "fixed_threads": threads,
            "mem_mb": lambda wc, attempt: spec(wc).get("mem_mb", 4000) * attempt,
            "runtime": lambda wc, attempt: spec(wc).get("runtime", 60) * attempt,
            "nodes": lambda wc: spec(wc).get("nodes", 1),
            "gpu": lambda wc: gpus(wc) * spec(wc).get("nodes", 1),
            # empty / 0 on CPU jobs: the plugin then asks for no GPU model and sets --cpus-per-task from threads
            "gpu_model": lambda wc: (
                (spec(wc).get("gpu_model") or "") if gpus(wc) else ""
            ),
            "cpus_per_gpu": lambda wc: (
                spec(wc).get("cpus_per_gpu", 8) if gpus(wc) else 0
            ),
        },
    }


TEACHER_RES = model_resources("teachers", "teacher")
COMPRESSOR_RES = model_resources("compressors", "compressor")
STUDENT_RES = model_resources("students", "student")
EVAL_RES = model_resources("evaluation")


# ---- params: only the settings that change a result, so that editing a runtime limit or a chunk size
# ---- (scripts read those from snakemake.config) reruns nothing
def settings(section, key, *fields):
    return lambda wc: {f: config[section][getattr(wc, key)][f] for f in fields}


# ---- input functions
def reference_tokenizer():
    """The trained tokenizer folder (a rule builds it) or a hub name (nothing to build)."""
    tok = config["tokenizer"]
    return f"{R}/students/tokenizer" if tok["train"] else tok["name"]


def reference_tokenizer_input(wildcards=None):
    return [rules.tokenizer.output.folder] if config["tokenizer"]["train"] else []


def verified_shards(wildcards):
    return expand(rules.verify.output.kept, teacher=wildcards.teacher, shard=SHARDS)


def compressed_shards(teacher, compressor):
    return expand(
        rules.compress.output.records,
        teacher=teacher,
        compressor=compressor,
        shard=SHARDS,
    )


def target_source(wildcards):
    """The trace shards a target is made from: verified raw traces, or one compressor's (truncated) traces."""
    kind, compressor = parse_target(wildcards.target)
    if kind == "compressed":
        return compressed_shards(wildcards.teacher, compressor)
    if kind == "truncated":
        return expand(
            rules.truncate.output.records,
            teacher=wildcards.teacher,
            compressor=compressor,
            shard=SHARDS,
        )
    return verified_shards(wildcards)


def student_base(wildcards):
    """A student built from config starts from its pre-trained folder; a hub student from the hub."""
    model = config["students"][wildcards.student]["model"]
    return (
        rules.pretrain.output.folder.format(student=wildcards.student)
        if "architecture" in model
        else []
    )


def run_paths(pattern, runs=RUNS, **extra):
    return [pattern.format(**{**run, **extra}) for run in runs]


def evaluation_summaries():
    return [
        p
        for b in BENCHMARKS
        for p in run_paths(rules.evaluate.output.summary, benchmark=b)
    ]


def final_outputs():
    return [
        *rules.tables.output,
        *rules.figures.output,
        rules.manifest.output.manifest,
    ]
