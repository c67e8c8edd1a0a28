"""Config validation: the JSON schema (with its defaults filled in) plus the cross-references a schema cannot
express (names used in the grid must exist). Errors name the bad key, e.g. ``config key 'teachers.a.engine.kind'``.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


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


def validate(config: dict, schema_path: str | Path = SCHEMA) -> dict:
    """Validate ``config`` in place (defaults filled in, keys sorted) and return it; raise ConfigError naming the
    bad key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = _with_defaults(Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"config key '{_key(e.absolute_path)}': {e.message}" for e in errors]
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
    check_references(config)
    sorted_config = canonical(config)
    config.clear()
    config.update(sorted_config)
    return config


def canonical(obj):
    """A copy with every mapping's keys sorted, so that reordering keys in a YAML file changes no rule's params
    (Snakemake compares params by their text) and no manifest."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


EXECUTION_ONLY = ("resources", "chunk_size", "checkpoint_every", "protect_generations")


def result_settings(obj):
    """The config without execution-only keys (resources, chunk sizes): what the results depend on."""
    if isinstance(obj, dict):
        return {k: result_settings(v) for k, v in obj.items() if k not in EXECUTION_ONLY}
    if isinstance(obj, list):
        return [result_settings(v) for v in obj]
    return obj


SECRET_KEYS = ("api_key", "token", "password", "secret")


def _secrets(obj, path=()) -> list[str]:
    """Paths of keys that would hold a secret: config ends up in Snakemake's metadata and in the manifest."""
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in
                ([".".join((*path, k))] if k in SECRET_KEYS else _secrets(v, (*path, k)))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _secrets(v, (*path, str(i)))]
    return []


def check_references(config: dict) -> None:
    problems = [f"config key '{p}': secrets are never read from config (it is stored in .snakemake/metadata and "
                "the manifest); put the key in an environment variable and name it with 'api_key_env'"
                for p in _secrets(config)]
    for i, block in enumerate(config["grid"]):
        for factor, known in (("teachers", config["teachers"]), ("students", config["students"]),
                              ("regimes", config["regimes"])):
            problems += [f"config key 'grid.{i}.{factor}': {name!r} is not defined under '{factor}'"
                         for name in block[factor] if name not in known]
        for target in block["targets"]:
            _, _, compressor = target.partition("-")
            if target.startswith(("compressed-", "truncated-")) and compressor not in config["compressors"]:
                problems.append(f"config key 'grid.{i}.targets': {target!r} names no compressor under 'compressors'")
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
