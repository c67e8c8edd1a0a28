import inspect
import os
import re
import sys
from pathlib import Path
from functools import lru_cache
from types import SimpleNamespace

from snakemake.common import overwrite_function_params

# the workflow's own folder (this file's parent): also where a workflow used as a Snakemake module lives, whose
# `workflow.basedir` is the deploying workflow's
WORKFLOW_DIR = Path(str(workflow.current_basedir)).parent
# the package is importable here and in every job (local, conda or SLURM) without installing it
sys.path.insert(0, str(WORKFLOW_DIR))
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [str(WORKFLOW_DIR), os.environ.get("PYTHONPATH")])
    )
)

from compress_distill.config import files as cd_config_files
from compress_distill.config import settings as cd_settings
from compress_distill.config import validation as cd_validation
from compress_distill.planning import cpu_costs as cd_cpu_costs
from compress_distill.planning import resources as cd_resources
from compress_distill.planning import why as cd_why
from compress_distill.core import grid as cd_grid
from compress_distill.infra import identity as cd_identity
from compress_distill.models import conversion as cd_conversion
from compress_distill.models import hub as cd_hub
from compress_distill.numerics import pins as cd_pins
from compress_distill.analysis import registry as cd_registry
from compress_distill.infra import preload as cd_preload
from compress_distill.infra import provenance as cd_provenance
from compress_distill.engines import registry as cd_engines
from compress_distill.core.target import ADAPTIVE, Target, every_target
from compress_distill.stages import selection as cd_selection

try:
    cd_config_files.validated(
        config,
        workflow.configfiles,
        WORKFLOW_DIR,
        WORKFLOW_DIR / "schemas" / "config.schema.yaml",
    )
except cd_validation.ConfigError as err:
    raise WorkflowError(str(err)) from None

# every job inherits these: CPU kernel dispatch pinned (or not) as config says, before any job imports torch
os.environ.update(cd_pins.environment(config["cpu"]["dispatch"]))
os.environ[cd_preload.ENABLE] = "1" if config["cpu"]["preload"] else "0"
# a job's log is a file: progress goes there as lines with rate and ETA (compress_distill.infra.progress), so the
# libraries' carriage-return bars (tqdm, the hub's downloads, transformers' loading) stay off
os.environ.update(TQDM_DISABLE="1", HF_HUB_DISABLE_PROGRESS_BARS="1")


def signed(fn):
    """``fn`` with its signature computed once. Snakemake inspects a callable's signature each time it calls it
    (it needs to know which of wildcards/attempt/input/threads to pass); over the paper's 4,000 jobs that was a
    third of a dry run. It reads a signature stored by its own ``overwrite_function_params`` instead.
    """
    overwrite_function_params(fn, inspect.signature(fn).parameters)
    return fn


def per_model(section, key, fn):
    """``fn(name)`` for the model ``config[section][wildcards.<key>]`` (``fn(None)`` for the single block
    ``config[section]`` when ``key`` is None): the value itself where every model of the section gives the same
    one, so that Snakemake has no callable to evaluate for each of thousands of jobs; else an input function.
    """
    values = [fn(name) for name in (config[section] if key else [None])]
    if values and all(v == values[0] for v in values):
        return values[0]
    return signed(lambda wc: fn(getattr(wc, key)))


R = f"results/{config['run']}"
# engines and the reference tokenizer name a converted model by the folder the convert_model rule writes, a hub model
# with a revision by its commit (and so does a hub dataset): job parameters
cd_conversion.resolve(config, f"{R}/models")
try:
    cd_hub.pin(config)
except cd_hub.RevisionError as err:
    raise WorkflowError(str(err)) from None
MODELS = list(config["models"])
CONVERTED = {f"{R}/models/{m}" for m in MODELS}
RUNS = cd_grid.runs(config["grid"])
TEACHERS = list(config["teachers"])
COMPRESSORS = list(config["compressors"])
STUDENTS = list(config["students"])
REGIMES = list(config["regimes"])
BENCHMARKS = list(config["problems"]["benchmarks"])
SHARDS = [f"{i:04d}" for i in range(config["problems"]["shards"])]
# local datasets (files, or folders in the hub's layout): inputs by existence (a missing file stops the dry run),
# by content through params
LOCAL_DATASETS = sorted(
    {
        s["path"]
        for s in [
            config["problems"]["pool"],
            *config["problems"]["benchmarks"].values(),
        ]
        if s["kind"] in ("jsonl", "parquet")
        or (s["kind"] == "hub" and os.path.isdir(s["path"]))
    }
)
TARGETS = every_target(COMPRESSORS)
RUN_DIR = f"{R}/runs/{{teacher}}/{{student}}/{{regime}}/{{target}}/seed{{seed}}"
PILOT_DIR = f"{R}/adaptive/{{teacher}}/{{student}}/{{regime}}/pilot/{{compressor}}"


def _alternatives(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    teacher=_alternatives(TEACHERS),
    compressor=_alternatives(COMPRESSORS),
    student=_alternatives(STUDENTS),
    regime=_alternatives(REGIMES),
    benchmark=_alternatives(BENCHMARKS),
    model=_alternatives(MODELS),
    target=_alternatives(TARGETS),
    table=_alternatives([t.name for t in cd_registry.TABLES]),
    shard=r"\d{4}",
    seed=r"\d+",


# ---- what a job computes with besides its inputs and settings, by content: every rule has it as param
# ---- `identity`, so a job reruns when that changes and never because a file's clock moved (profiles/default
# ---- turns off Snakemake's script-mtime trigger; see "Reruns" in the README)
def identity(script, *modules):
    """The code the rule's script reaches through imports (plus ``modules``, picked by config at run time), the
    versions of the software it imports, and the CPU dispatch when that code computes with torch.
    """
    ident = cd_identity.code_identity(
        WORKFLOW_DIR, f"workflow_scripts/{script}.py", modules
    )
    if "torch" in ident["software"]:
        return {**ident, "cpu_dispatch": config["cpu"]["dispatch"]}
    return ident


def engine_identity(script, spec):
    """A rule's identity with the modules of the engine kind it runs (and the server module for a served model)."""
    return identity(
        script, cd_engines.module_of(spec["kind"]), *cd_engines.server_modules(spec)
    )


def engine_env(section, key, default):
    """A rule's conda env, which follows the engine of ``config[section][wildcards.<key>]`` (or of
    ``config[section]`` when ``key`` is None): ``envs/<default>.yaml`` unless its kind, or the kind of the server
    it starts, has its own stack.
    """

    def env(name):
        block = config[section][name] if key else config[section]
        spec = cd_settings.engine_of(block)
        return f"../envs/{cd_engines.env_of(spec, default)}.yaml"

    return per_model(section, key, env)


def model_identity(script, section, key):
    """The identity of a rule whose engine is ``config[section][wildcards.<key>]["engine"]``."""
    return per_model(
        section,
        key,
        lambda name: engine_identity(script, config[section][name]["engine"]),
    )


def prompt(section, key):
    """A prompt template: an input by existence only (a clone or `touch` must not rerun); its content counts through
    the `prompt` param (:func:`prompt_digest`)."""
    return per_model(
        section, key, lambda name: ancient(config[section][name]["prompt"])
    )


def prompt_digest(section, key):
    return per_model(
        section,
        key,
        lambda name: cd_identity.file_digest(config[section][name]["prompt"]),
    )


# ---- provenance travels with the results (compress_distill.infra.provenance): before any job, Snakemake's records of
# ---- the outputs are restored from their ledger sidecars, untrusted outputs get a record no job matches; after the
# ---- run, the sidecars of new outputs are stamped with their jobs' records. Not inside jobs (a cluster job parses too)
def reconcile_provenance():
    from snakemake_interface_executor_plugins.settings import ExecMode

    if workflow.exec_mode != ExecMode.DEFAULT or not os.path.isdir(R):
        return
    settings = workflow.workflow_settings
    untrusted = cd_provenance.reconcile(
        R,
        cd_provenance.store(
            settings.persistence_backend, settings.persistence_backend_db_url
        ),
        accept=workflow.touch,
    )
    if untrusted:
        path, why = untrusted[0]
        print(
            f"provenance: {len(untrusted)} output(s) under {R} are untrusted and rebuilt with everything "
            f"downstream, first {path}: {why} (all, with every other change: python -m "
            f"compress_distill.planning.why <your snakemake arguments>)",
            file=sys.stderr,
        )


reconcile_provenance()


# ---- expensive outputs are never regenerated by accident (protect_generations): checked once the DAG is known,
# ---- before any job starts (Snakemake deletes a job's old outputs when the job starts). By existence, not by
# ---- write permission, which root ignores.
EXPENSIVE_RULES = ("teacher_generate", "compress")


def guard_generations():
    if not config["protect_generations"] or workflow.touch:
        return
    existing = sorted(
        (str(f), cd_why.output_reason(workflow.dag, job, f))
        for job in workflow.dag.needrun_jobs()
        if job.rule.name in EXPENSIVE_RULES
        for f in job.output
        if os.path.exists(f)
    )
    if existing:
        raise WorkflowError(
            f"protect_generations: this run would regenerate {len(existing)} existing teacher trace or compression "
            f"file(s). To regenerate, delete them; to accept the change as harmless, run `snakemake --touch` with "
            f"the same arguments. Each, and why:\n"
            + "\n".join(f"  {path}: {why}" for path, why in existing)
        )


# ---- per-model resources (config), as Snakemake resources (compress_distill.planning.resources); threads pinned
# ---- from config
def retry_request(first, attempt, site_limit):
    return cd_resources.retry(first, attempt, config["site"].get(site_limit))


def model_resources(section, key=None):
    """Threads and resources (as the SLURM executor plugin reads them) of a rule whose model is
    ``config[section][wildcards.<key>]``; memory and runtime grow with each retry, up to the site's limits.
    """

    def spec(name):
        return (config[section][name] if key else config[section])["resources"]

    def grows(field, site_limit):
        return signed(
            lambda wc, attempt: retry_request(
                spec(getattr(wc, key) if key else None)[field], attempt, site_limit
            )
        )

    fixed = {
        name: per_model(
            section,
            key,
            lambda model, f=name: cd_resources.fixed(spec(model), config["site"])[f],
        )
        for name in cd_resources.FIXED
    }
    return {
        "threads": per_model(
            section, key, lambda model: cd_resources.threads(spec(model))
        ),
        "resources": {
            "mem_mb": grows("mem_mb", "max_mem_mb"),
            "runtime": grows("runtime", "max_runtime"),
            **fixed,
        },
    }


def cpu_resources(stage, grouped=False):
    """Memory and runtime of a CPU rule: the simulator's measurements, fitted and extrapolated to this config's
    sizes with a margin (compress_distill.planning.cpu_costs); a retry grows them, up to the site's limits. A ``grouped``
    stage (seconds of CPU riding in its shard's GPU job) asks for constants: a retry grows the group's request
    through the GPU job's, which dominates it, and thousands of jobs have no callable to evaluate; it runs where
    that job runs. Others run on the site's CPU partition.
    """
    mem, minutes = cd_cpu_costs.declared(stage, config)
    if grouped:
        return {"mem_mb": mem, "runtime": minutes}
    return {
        **cd_resources.placement(config["site"], gpu=False),
        "mem_mb": signed(lambda wc, attempt: retry_request(mem, attempt, "max_mem_mb")),
        "runtime": signed(
            lambda wc, attempt: retry_request(minutes, attempt, "max_runtime")
        ),
    }


TEACHER_RES = model_resources("teachers", "teacher")
COMPRESSOR_RES = model_resources("compressors", "compressor")
STUDENT_RES = model_resources("students", "student")
EVAL_RES = model_resources("evaluation")
MODEL_RES = model_resources("models", "model")


# ---- a job's settings: one path, compress_distill.config.settings.job_settings. The part that changes results is
# ---- the rule's `settings` param (Snakemake reruns on a change); the execution-only part (chunk sizes, checkpoint
# ---- interval) rides in its resources, so editing it reruns nothing. The script rebuilds the typed settings from both.
@lru_cache(maxsize=None)
def _job_settings(stage, key, name):
    """Once per model: building settings checks them against the schema, too slow for each of thousands of jobs."""
    settings = cd_settings.job_settings(
        config, stage, SimpleNamespace(**({key: name} if key else {}))
    )
    return settings.results(), settings.execution()


def job_params(stage, section, key=None):
    return per_model(section, key, lambda name: _job_settings(stage, key, name)[0])


def job_execution(stage, section, key=None):
    return {
        field: per_model(
            section, key, lambda name, f=field: _job_settings(stage, key, name)[1][f]
        )
        for field in cd_settings.execution_fields(stage)
    }


def settings(section, key, *fields):
    return signed(lambda wc: {f: config[section][getattr(wc, key)][f] for f in fields})
