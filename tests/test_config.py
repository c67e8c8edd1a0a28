"""Config validation, presets, pinned environments and the paper grid."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from compress_distill.config import validation as cd_config
from compress_distill.core import grid
from compress_distill.models import conversion
from conftest import ROOT


def _load(name):
    return yaml.safe_load((ROOT / name).read_text())


@pytest.fixture(params=["config.yaml", "presets/demo.yaml", "presets/single-gpu.yaml", "tests/configs/reduced.yaml",
                        "tests/configs/smollm2.yaml"])
def preset(request):
    return _load(request.param)


def test_presets_are_valid(preset):
    cd_config.validate(preset)


def _error(mutate) -> str:
    cfg = _load("presets/demo.yaml")
    mutate(cfg)
    with pytest.raises(cd_config.ConfigError) as err:
        cd_config.validate(cfg)
    return str(err.value)


def _openai(**spec):
    return lambda c: c["evaluation"].update(engine={"kind": "openai", "model": "m", **spec})


@pytest.mark.parametrize("mutate,key,words", [
    (_openai(base_url="http://user:hunter2@example.org/v1"), "evaluation.engine.base_url",
     "a user or password in a URL"),
    (_openai(base_url="http://h/v1", extra_body={"headers": {"Authorization": "Bearer abcdefgh12345678"}}),
     "evaluation.engine.extra_body.headers.Authorization", "a bearer token"),
    (_openai(base_url="http://h/v1", extra_body={"k": ["sk-abcdefghijklmnop1234"]}), "evaluation.engine.extra_body.k.0",
     "an API key"),
    (_openai(serve={"kind": "vllm", "extra_args": ["--host", "0.0.0.0"]}), "evaluation.engine.serve.extra_args",
     "'--host' is the workflow's to set"),
    (_openai(serve={"kind": "vllm", "extra_args": ["--api-key=abc"]}), "evaluation.engine.serve.extra_args",
     "'--api-key=abc' is the workflow's"),
    (lambda c: c.update(run="abc\n"), "run", "does not match"),
    (lambda c: c["training"].update(lr=float("inf")), "training.lr", "inf is not a finite number"),
    (lambda c: c["training"].update(weight_decay=float("nan")), "training.weight_decay", "nan is not a finite"),
    (lambda c: c["teachers"]["verbose"]["engine"].update(kind="gpt5"), "teachers.verbose.engine.kind", "is not one of"),
    (lambda c: c["training"].update(epochs="three"), "training.epochs", "is not of type 'integer'"),
    (lambda c: c["training"].update(epoch=3), "training", "Additional properties"),
    (lambda c: c.pop("grid"), "<top level>", "'grid' is a required property"),
    (lambda c: c["regimes"]["full"].update(size=0), "regimes.full.size", "less than the minimum"),
    (lambda c: c["grid"][0]["students"].append("huge"), "grid.0.students", "'huge' is not defined"),
    (lambda c: c["grid"][1]["targets"].append("truncated-zip"), "grid.1.targets", "names no compressor"),
    (lambda c: c["grid"][0]["targets"].append("summarised"), "grid.0.targets", "'summarised' is none of raw,"),
    (lambda c: c["teachers"].update({"bad-name": c["teachers"]["verbose"]}), "teachers", "does not match"),
])
def test_bad_config_is_rejected_naming_the_key(mutate, key, words):
    message = _error(mutate)
    assert f"config key '{key}'" in message and words in message


def test_defaults_are_filled_from_the_schema():
    cfg = cd_config.validate(_load("presets/demo.yaml"))
    assert cfg["teachers"]["verbose"]["chunk_size"] == 256
    assert cfg["students"]["small"]["lora"] is None
    assert cfg["students"]["small"]["resources"]["threads"] == 1


def test_student_overrides_apply_to_every_target_of_that_student():
    cfg = cd_config.validate(_load("presets/demo.yaml"))
    tiny, overrides = cd_config.student_training(cfg, "tiny"), cfg["students"]["tiny"]["training"]
    assert overrides and {k: tiny[k] for k in overrides} == overrides
    assert {k: v for k, v in tiny.items() if k not in overrides} == {
        k: v for k, v in cfg["training"].items() if k not in overrides}
    assert cd_config.student_training(cfg, "small") == cfg["training"]


def test_paper_grid_is_48_main_plus_7_truncation_runs():
    runs = grid.runs(cd_config.validate(_load("config.yaml"))["grid"])
    blocks = [r["block"] for r in runs]
    assert (blocks.count("main"), blocks.count("truncation")) == (48, 7)
    assert {r["teacher"] for r in runs if r["block"] == "truncation"} == {"qwen3.5_397b"}
    assert len({tuple(sorted(r.items())) for r in runs}) == 55


def test_grid_exclusions_and_duplicates():
    block = {"name": "m", "teachers": ["a", "b"], "students": ["s"], "regimes": ["r"], "targets": ["raw", "answer-only"],
             "exclude": [{"teacher": "b", "target": "raw"}]}
    runs = grid.runs([block, copy.deepcopy(block) | {"name": "again", "exclude": []}])
    assert [(r["teacher"], r["target"], r["block"]) for r in runs] == [
        ("a", "raw", "m"), ("a", "answer-only", "m"), ("b", "answer-only", "m"), ("b", "raw", "again")]


def _pins(lines):
    return dict(m.groups() for m in (re.match(r"^\s*-?\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s#]+)", l) for l in lines) if m)


def test_conda_env_pins_agree_with_the_constraints_and_are_generated():
    """Every env pins what the venv installs: its own requirements and everything they pull in, at constraints.txt's
    versions (vLLM's env: at the GPU venv's, constraints-gpu.txt, which requirements-vllm.txt's pins agree with)."""
    from compress_distill.planning import environments

    def constrained_by(*files):
        return {k.lower().replace("_", "-"): v
                for f in files for k, v in _pins((ROOT / f).read_text().splitlines()).items()}

    cpu, gpu = constrained_by("constraints.txt", "requirements-models.txt"), constrained_by("constraints-gpu.txt")
    assert constrained_by("requirements-vllm.txt").items() <= gpu.items()
    envs = sorted((ROOT / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        pins = _pins(yaml.safe_load(env.read_text())["dependencies"][-1]["pip"])
        assert pins, env
        constrained = gpu if env.stem in environments.GPU_ENVS else cpu
        assert env.stem not in environments.GPU_ENVS or {"vllm", "torch", "nvidia-nccl-cu13"} <= set(pins)
        for name, version in pins.items():
            assert constrained.get(name.lower().replace("_", "-")) == version, f"{env.name}: {name}=={version}"
        assert environments.render(env) == env.read_text(), f"{env.name}: run `make envs`"
    training = _pins(yaml.safe_load((ROOT / "envs/training.yaml").read_text())["dependencies"][-1]["pip"])
    assert {"safetensors", "huggingface-hub", "sympy"} <= set(training)  # pulled in by torch and transformers


def test_every_rule_names_an_existing_conda_env():
    for smk in (ROOT / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().exists(), f"{smk.name}: {env}"


def test_gpu_hour_estimate_follows_the_planned_jobs_and_their_resources(tmp_path):
    """Read from the jobs Snakemake plans (the paper preset, 4 shards to keep the DAG small), so the estimate is
    what the rules ask for."""
    from compress_distill.planning import budget

    cfg = _load("config.yaml")
    cfg["problems"]["shards"] = 4

    def rows_of(config):
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
        return {(r["stage"], r["model"]): r for r in budget.stages(tmp_path / "c.yaml", ROOT)}

    rows = rows_of(cfg)
    runs = grid.runs(cd_config.validate(copy.deepcopy(cfg))["grid"])
    assert sum(r["jobs"] for (stage, _), r in rows.items() if stage == "training") == len(runs)
    assert {m for stage, m in rows if stage == "generation"} == {r["teacher"] for r in runs}
    big = cfg["teachers"]["qwen3.5_397b"]["resources"]
    gen = rows[("generation", "qwen3.5_397b")]
    assert gen["jobs"] == 4 and gen["gpu_hours"] == 4 * big["gpus"] * big["nodes"] * big["runtime"] / 60
    # halving one student's runtime limit halves that row only
    cfg["students"]["qwen3.5_9b"]["resources"]["runtime"] //= 2
    after = {k: r["gpu_hours"] for k, r in rows_of(cfg).items()}
    assert after[("training", "qwen3.5_9b")] == rows[("training", "qwen3.5_9b")]["gpu_hours"] / 2
    assert all(after[k] == r["gpu_hours"] for k, r in rows.items() if k != ("training", "qwen3.5_9b"))
    assert budget.report(list(rows.values())).splitlines()[-1].startswith("| **all** |")


def test_an_api_key_in_config_is_refused_naming_the_key():
    cfg = yaml.safe_load((ROOT / "tests/configs/reduced.yaml").read_text())
    cfg["teachers"]["verbose"]["engine"]["api_key"] = "sk-not-a-real-key"
    with pytest.raises(cd_config.ConfigError, match=r"config key 'teachers\.verbose\.engine\.api_key'.*api_key_env"):
        cd_config.validate(cfg)


@pytest.mark.parametrize("mutate,key,words", [
    (lambda c: c["teachers"]["verbose"]["engine"].update(verbosty=2), "teachers.verbose.engine",
     "'verbosty' is not one of"),
    (lambda c: c["compressors"]["lean"]["engine"].update(kind="vllm", model="m", temperatur=0.6),
     "compressors.lean.engine", "'temperatur' is not one of"),
    (lambda c: c["compressors"]["lean"]["engine"].pop("keep"), "compressors.lean.engine", "'keep' is a required"),
    (lambda c: c["evaluation"].update(engine={"kind": "openai", "model": "m"}), "evaluation.engine",
     "exactly one of 'serve'"),
    (lambda c: c["evaluation"].update(engine={"kind": "openai", "serve": {"kind": "vllm", "tensor_paralel": 2}}),
     "evaluation.engine.serve", "Additional properties"),
    (lambda c: c["problems"]["pool"].update(feilds={"question": "q"}), "problems.pool", "'feilds' was unexpected"),
    (lambda c: c["problems"]["pool"].update(kind="jsonl"), "problems.pool", "'path' is a required"),
    (lambda c: c["students"]["tiny"]["training"].update(lr="fast"), "students.tiny.training.lr", "is not of type"),
    (lambda c: c["students"]["tiny"]["training"].update(learning_rate=0.1), "students.tiny.training",
     "'learning_rate' was unexpected"),
    (lambda c: c["grid"][0].update(exclude=[{"teachers": "verbose"}]), "grid.0.exclude.0", "'teachers' is not one of"),
])
def test_unknown_or_misspelt_keys_are_rejected_naming_the_key(mutate, key, words):
    message = _error(mutate)
    assert f"config key '{key}'" in message and words in message, message


def test_prompt_templates_must_hold_their_placeholders(tmp_path):
    cfg = _load("presets/demo.yaml")
    no_trace = tmp_path / "compressor.txt"
    no_trace.write_text((ROOT / "prompts/compressor.txt").read_text().replace("{trace}", "the solution"))
    cfg["compressors"]["lean"]["prompt"] = str(no_trace)
    cfg["teachers"]["terse"]["prompt"] = str(tmp_path / "missing.txt")
    with pytest.raises(cd_config.ConfigError) as err:
        cd_config.validate(cfg)
    assert f"config key 'compressors.lean.prompt': prompt template {no_trace} has no {{trace}}" in str(err.value)
    assert "config key 'teachers.terse.prompt'" in str(err.value) and "does not exist" in str(err.value)


def test_each_engine_kind_accepts_exactly_its_engines_settings():
    """The schema's per-kind keys and kinds agree with the engine registry and each engine's SETTINGS, and every
    module of the engines package that is not the machinery around them is a registered kind."""
    from compress_distill.engines import registry

    engine = yaml.safe_load((ROOT / "schemas/config.schema.yaml").read_text())["$defs"]["engine"]
    assert sorted(engine["properties"]["kind"]["enum"]) == sorted(registry.KINDS)
    machinery = {"__init__", "interface", "registry", "chunked", "server", "keyed_transformers", "vllm_process"}
    modules = {f"engines.{p.stem}" for p in (ROOT / "compress_distill/engines").glob("*.py")} - {
        f"engines.{m}" for m in machinery}
    kinds = {registry.module_of(kind) for kind in registry.KINDS}
    assert modules == {m for m in kinds if m.startswith("engines.")}
    assert kinds - modules == {"synthetic.teacher", "synthetic.compressors"}  # the demo's, with its world
    allowed = {rule["if"]["properties"]["kind"]["const"]: set(rule["then"]["propertyNames"]["enum"])
               for rule in engine["allOf"]}
    for kind in registry.KINDS:
        settings = set(registry.engine_class(kind).SETTINGS)
        assert allowed[kind] == settings | {"kind"}, kind
        assert allowed[kind] <= set(engine["properties"]), kind


def test_every_engine_key_is_documented_in_the_schema():
    engine = yaml.safe_load((ROOT / "schemas/config.schema.yaml").read_text())["$defs"]["engine"]
    keys = {**engine["properties"], **{f"serve.{k}": v for k, v in engine["properties"]["serve"]["properties"].items()}}
    assert [k for k, v in keys.items() if not v.get("description")] == []


def test_a_converted_model_must_be_defined_and_is_resolved_to_its_folder():
    cfg = _load("tests/configs/smollm2.yaml")
    cfg["compressors"]["smollm2"]["engine"]["model"] = {"converted": "smollm3"}
    cfg["students"]["smollm2"]["model"] = {"converted": "smollm3"}
    with pytest.raises(cd_config.ConfigError) as err:
        cd_config.validate(cfg)
    for key in ("compressors.smollm2.engine.model", "students.smollm2.model"):
        assert f"config key '{key}': converted model 'smollm3' is not defined under 'models'" in str(err.value)
    cfg = _load("tests/configs/smollm2.yaml")
    cd_config.validate(cfg)
    conversion.resolve(cfg, "results/smollm2/models")
    folder = "results/smollm2/models/smollm2_135m"
    assert cfg["teachers"]["smollm2"]["engine"]["model"] == cfg["tokenizer"]["name"] == folder
    assert cfg["students"]["smollm2"]["model"] == {"converted": "smollm2_135m"}  # an input of training instead


def test_a_first_request_beyond_the_site_limits_stops_the_dry_run():
    cfg = _load("config.yaml")
    cfg["students"]["qwen3.5_9b"]["resources"]["mem_mb"] = cfg["site"]["max_mem_mb"] + 1
    with pytest.raises(cd_config.ConfigError, match=r"config key 'students\.qwen3\.5_9b\.resources\.mem_mb': "
                                                    r"\d+ exceeds the site's limit \d+ \(site\.max_mem_mb\)"):
        cd_config.validate(cfg)


def test_vllm_batch_invariant_mode_is_refused_for_a_model_without_gpus():
    cfg = _load("presets/single-gpu.yaml")
    cfg["teachers"]["qwen3_1.7b"]["engine"]["batch_invariant"] = True
    cd_config.validate(copy.deepcopy(cfg))  # with its GPU
    cfg["teachers"]["qwen3_1.7b"]["resources"]["gpus"] = 0
    with pytest.raises(cd_config.ConfigError, match=r"'teachers.qwen3_1.7b.engine.batch_invariant': .*needs a GPU"):
        cd_config.validate(cfg)


def test_a_jobs_settings_param_holds_only_what_changes_its_results():
    """Execution-only keys ride as resources; a prompt counts by content (its own param), a compressor's size only
    prices compression in the tables: none of them is in the ``settings`` param a rerun compares."""
    from types import SimpleNamespace

    from compress_distill.config import settings

    cfg = cd_config.validate(_load("presets/demo.yaml"))
    tight = cfg["compressors"]["tight"]
    compress = settings.job_settings(cfg, "compress", SimpleNamespace(compressor="tight"))
    assert compress.results() == {k: tight[k] for k in ("engine", "min_reasoning_chars", "retries", "target_share")}
    assert compress.execution() == {"chunk_size": tight["chunk_size"]}
    train = settings.job_settings(cfg, "train", SimpleNamespace(student="tiny"))
    assert "checkpoint_every" not in train.results()
    assert train.results()["lr"] == cfg["students"]["tiny"]["training"]["lr"] != cfg["training"]["lr"]
    rebuilt = settings.TrainingSettings.of_job(SimpleNamespace(params=SimpleNamespace(settings=train.results()),
                                                               resources=train.execution()))
    assert rebuilt == train


def _layered(tmp_path, text: str, *below: str) -> dict:
    """``text`` as a user's config file, validated as Snakemake would load it over the files ``below``."""
    from compress_distill.config import files
    from compress_distill.config.validation import SCHEMA

    mine = tmp_path / "mine.yaml"
    mine.write_text(text)
    paths = [*(str(ROOT / b) for b in below), str(mine)]
    config = {}
    for path in paths:  # Snakemake's merge of several --configfile
        config = files.merged(config, yaml.safe_load(Path(path).read_text()))
    return files.validated(config, paths, ROOT, SCHEMA)


def test_a_file_of_overrides_layers_on_its_base_preset(tmp_path):
    demo = cd_config.validate(_load("presets/demo.yaml"))
    cfg = _layered(tmp_path, "base: presets/demo.yaml\ntraining: {lr: 0.005}\nrun: mine\n")
    assert cfg["training"]["lr"] == 0.005 and cfg["run"] == "mine" and "base" not in cfg
    assert {k: v for k, v in cfg.items() if k not in ("training", "run")} == \
        {k: v for k, v in demo.items() if k not in ("training", "run")}
    assert {k: v for k, v in cfg["training"].items() if k != "lr"} == \
        {k: v for k, v in demo["training"].items() if k != "lr"}
    # the same layering by giving the preset first on the command line
    assert _layered(tmp_path, "training: {lr: 0.005}\nrun: mine\n", "presets/demo.yaml") == cfg


def test_a_bad_override_names_its_file_and_a_lone_override_file_is_told_to_layer(tmp_path):
    with pytest.raises(cd_config.ConfigError, match=r"config key 'training\.epochs': 'many' is not of type 'integer' "
                                                    r"\(set in .*mine\.yaml\)"):
        _layered(tmp_path, "base: presets/demo.yaml\ntraining: {epochs: many}\n")
    with pytest.raises(cd_config.ConfigError, match=r"mine\.yaml lacks keys every config needs: .*base: presets/demo"):
        _layered(tmp_path, "training: {lr: 0.005}\n")
    with pytest.raises(cd_config.ConfigError, match=r"config key 'base': .*nothing\.yaml does not exist"):
        _layered(tmp_path, "base: presets/nothing.yaml\n")


def test_every_config_key_is_documented_and_the_reference_is_generated():
    from compress_distill.config import reference

    schema = cd_config.load_schema(cd_config.SCHEMA)
    assert reference.undocumented(schema) == []
    paths = reference.keys(schema)
    # every key the presets use is in the reference (a name the user chooses reads <name>; a student's training
    # overrides are `training`'s keys)
    for preset in ("config.yaml", "presets/demo.yaml", "presets/single-gpu.yaml"):
        used = {p.replace("students.<name>.training.", "training.")
                for p in _key_paths(_load(preset), set(schema["properties"]) - {"grid"})}
        assert used <= set(paths), used - set(paths)
    assert (ROOT / "docs/config.md").read_text() == reference.render(schema), "run `make config-docs`"
    bare = copy.deepcopy(schema)
    del bare["$defs"]["training"]["properties"]["lr"]["description"]
    assert reference.undocumented(bare) == ["training.lr"]


def _key_paths(config: dict, top: set, prefix: str = "") -> set[str]:
    """The key paths a config uses, names the user chose (teachers, students, …) written <name>."""
    named = {"teachers", "compressors", "students", "regimes", "models", "benchmarks", "fields"}
    out = set()
    for key, value in config.items():
        if not prefix and key not in top:
            continue
        parent = prefix.rsplit(".", 1)[-1]
        step = "<name>" if parent in named else key
        path = f"{prefix}.{step}" if prefix else step
        out.add(path)
        if isinstance(value, dict) and parent != "architecture" and step != "architecture":
            out |= _key_paths(value, top, path)
    return out
