"""Config validation: the JSON schema (with its defaults filled in) plus the cross-references a schema cannot
express (names used in the grid must exist). Errors name the bad key, e.g. ``config key 'teachers.a.engine.kind'``.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators

from compress_distill.config import values
from compress_distill.core.target import ADAPTIVE, Target

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    pass


def _with_defaults(cls):
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = sub["default"] if not isinstance(sub["default"], (dict, list)) else type(
                        sub["default"])(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": set_defaults})


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def load_schema(path: str | Path) -> dict:
    """The schema, parsed by libyaml where PyYAML has it: its pure-Python parser takes 0.1-0.5 s over this file, a
    cost every training and evaluation job pays."""
    return yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def validate(config: dict, schema_path: str | Path = SCHEMA) -> dict:
    """Validate ``config`` in place (defaults filled in, keys sorted) and return it; raise ConfigError naming the
    bad key."""
    schema = load_schema(schema_path)
    validator = _with_defaults(Draft202012Validator)(schema)
    # secrets first: a key the schema does not know would otherwise be reported as merely unknown
    lines = values.problems(config)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    lines += [f"config key '{_key(e.absolute_path)}': {e.message}" for e in errors]
    if lines:
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
    check_references(config, schema)
    sorted_config = canonical(config)
    config.clear()
    config.update(sorted_config)
    return config


def with_defaults(definition: str, block: dict, key: str) -> dict:
    """``block`` checked against the schema's ``$defs/<definition>``, with its defaults filled in (a copy): the one
    place defaults live, for settings built outside a whole config (library callers, tests). Errors name
    ``key``."""
    schema = load_schema(SCHEMA)
    validator = _with_defaults(Draft202012Validator)({"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]})
    filled = json.loads(json.dumps(block))
    errors = [f"config key '{_key((key, *e.absolute_path))}': {e.message}" for e in validator.iter_errors(filled)]
    if errors:
        raise ConfigError("invalid settings:\n  " + "\n  ".join(errors))
    return filled


def canonical(obj):
    """A copy with every mapping's keys sorted, so that reordering keys in a YAML file changes no rule's params
    (Snakemake compares params by their text) and no manifest."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


EXECUTION_ONLY = ("resources", "chunk_size", "checkpoint_every", "protect_generations", "site")


def result_settings(obj):
    """The config without execution-only keys (resources, chunk sizes): what the results depend on."""
    if isinstance(obj, dict):
        return {k: result_settings(v) for k, v in obj.items() if k not in EXECUTION_ONLY}
    if isinstance(obj, list):
        return [result_settings(v) for v in obj]
    return obj


def _student_overrides(config: dict, schema: dict) -> list[str]:
    """A student's ``training`` overrides, checked against ``training``'s own keys and types (no defaults added:
    the global block supplies them)."""
    validator = Draft202012Validator({"$ref": "#/$defs/training", "$defs": schema["$defs"]})
    return [f"config key '{_key(('students', name, 'training', *e.absolute_path))}': {e.message}"
            for name, student in config["students"].items()
            for e in validator.iter_errors(student.get("training", {}))]


def _engines(config: dict):
    """(config key, engine spec) of every engine in config."""
    for section in ("teachers", "compressors"):
        for name, block in config[section].items():
            yield f"{section}.{name}.engine", block["engine"]
    if "engine" in config["evaluation"]:
        yield "evaluation.engine", config["evaluation"]["engine"]


def _model_blocks(config: dict):
    """(config key, block) of every block that runs an engine on its own resources."""
    for section in ("teachers", "compressors"):
        for name, block in config[section].items():
            yield f"{section}.{name}", block
    yield "evaluation", config["evaluation"]


def _gpu_only(config: dict) -> list[str]:
    """vLLM's batch-invariant mode runs Triton GPU kernels: refused for a model whose resources ask for no GPU."""
    return [f"config key '{key}.engine.batch_invariant': vLLM's batch-invariant mode needs a GPU, and "
            f"'{key}.resources.gpus' is 0" for key, block in _model_blocks(config)
            if (block.get("engine") or {}).get("kind") == "vllm" and block["engine"].get("batch_invariant")
            and not block["resources"]["gpus"]]


SERVER_OWNED = ("--host", "--port", "--api-key")  # a served model listens on 127.0.0.1, a free port, its own key


def _endpoints(config: dict) -> list[str]:
    """An openai engine talks to a server the job starts (serve) or to one someone else runs (base_url); a served
    model's address and key are the workflow's."""
    problems = []
    for key, spec in _engines(config):
        if spec["kind"] == "openai" and ("serve" in spec) == ("base_url" in spec):
            problems.append(f"config key '{key}': an openai engine needs exactly one of 'serve' (the job starts a "
                            "server) or 'base_url' (a server someone else runs)")
        problems += [f"config key '{key}.serve.extra_args': {arg!r} is the workflow's to set (a served model "
                     "listens on 127.0.0.1 on a free port, with an API key of its own)"
                     for arg in (spec.get("serve") or {}).get("extra_args", [])
                     if str(arg).partition("=")[0] in SERVER_OWNED]
    return problems


PLACEHOLDERS = {"teachers": ("{question}",), "compressors": ("{question}", "{trace}")}


def _prompts(config: dict) -> list[str]:
    """Prompt templates exist and contain their placeholders (without one every request would get the same text)."""
    problems = []
    for section, needed in PLACEHOLDERS.items():
        for name, block in config[section].items():
            key, path = f"{section}.{name}.prompt", Path(block["prompt"])
            if not path.is_file():
                problems.append(f"config key '{key}': prompt template {path} does not exist")
                continue
            text = path.read_text(encoding="utf-8")
            problems += [f"config key '{key}': prompt template {path} has no {p} placeholder"
                         for p in needed if p not in text]
    return problems


def _within_site(config: dict) -> list[str]:
    """Every model's first request fits the site's per-job limits (retries grow up to them, never beyond)."""
    blocks = [(f"{section}.{name}", block) for section in ("teachers", "compressors", "students", "models")
              for name, block in config.get(section, {}).items()] + [("evaluation", config["evaluation"])]
    limits = {"mem_mb": config["site"].get("max_mem_mb"), "runtime": config["site"].get("max_runtime")}
    return [f"config key '{key}.resources.{name}': {block['resources'][name]} exceeds the site's limit {limit} "
            f"(site.max_{name})" for key, block in blocks for name, limit in limits.items()
            if limit and block.get("resources", {}).get(name, 0) > limit]


def model_references(config: dict) -> list[tuple[str, str]]:
    """(config key, model name) of every ``{converted: <name>}`` in the settings that take a model."""
    found = [(f"students.{s}.model", spec["model"]) for s, spec in config["students"].items()]
    found += [(f"{section}.{name}.engine.model", block["engine"].get("model"))
              for section in ("teachers", "compressors") for name, block in config[section].items()]
    found.append(("tokenizer.name", config["tokenizer"].get("name")))
    return [(key, ref["converted"]) for key, ref in found if isinstance(ref, dict) and "converted" in ref]


def undefined_models(config: dict) -> list[str]:
    """One message per ``{converted: <name>}`` that ``models:`` does not define, naming its key."""
    defined = config.get("models", {})
    return [f"config key '{key}': converted model {name!r} is not defined under 'models' (defined: {sorted(defined)})"
            for key, name in model_references(config) if name not in defined]


def check_references(config: dict, schema: dict) -> None:
    problems = (_student_overrides(config, schema) + _endpoints(config) + _prompts(config) + undefined_models(config)
                + _within_site(config) + _gpu_only(config))
    for i, block in enumerate(config["grid"]):
        for factor, known in (("teachers", config["teachers"]), ("students", config["students"]),
                              ("regimes", config["regimes"])):
            problems += [f"config key 'grid.{i}.{factor}': {name!r} is not defined under '{factor}'"
                         for name in block[factor] if name not in known]
        for name in block["targets"]:
            try:
                compressor = Target.parse(name).compressor
            except ValueError as err:
                problems.append(f"config key 'grid.{i}.targets': {err}")
                continue
            if compressor and compressor not in config["compressors"]:
                problems.append(f"config key 'grid.{i}.targets': {name!r} names no compressor under 'compressors'")
            if name == ADAPTIVE and not config["problems"]["validation"]["size"]:
                problems.append(f"config key 'grid.{i}.targets': {name!r} is chosen by pilots judged on a validation "
                                "set: set 'problems.validation.size'")
    for name, student in config["students"].items():
        if "architecture" in student["model"] and not config["tokenizer"]["train"]:
            problems.append(f"config key 'students.{name}.model': a student built from config needs "
                            "'tokenizer.train: true'")
        if "architecture" in student["model"] and "pretrain" not in student:
            problems.append(f"config key 'students.{name}.pretrain': a student built from config must be pre-trained")
    if not config["tokenizer"]["train"] and "name" not in config["tokenizer"]:
        problems.append("config key 'tokenizer.name': required when 'tokenizer.train' is false")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def student_training(config: dict, student: str) -> dict:
    """The training hyperparameters of one student: the global block with the student's overrides."""
    return {**config["training"], **config["students"][student].get("training", {})}
