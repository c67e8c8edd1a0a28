"""The real-model study through vLLM on CPU (``make test-vllm-cpu``): the SmolLM2 configuration with the ``vllm``
engine (fp32, eager) for teacher generation, LLM compression and evaluation, through Snakemake. Every stage's content
is checked as ``tests/test_real_model.py`` checks it (``tests/real_model.py``); then the same prompts through the
``hf`` engine give the same texts, and a student served by vLLM's OpenAI server answers as the offline engine did."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import time

import pytest
import yaml

if os.environ.get("REQUIRE_VLLM") != "1":
    pytest.importorskip("vllm")

import real_model  # noqa: E402
from compress_distill.infra import io  # noqa: E402
from conftest import snakemake  # noqa: E402

VLLM = {"kind": "vllm", "dtype": "float32", "enforce_eager": True, "cpu_kv_cache_gb": 2}
GENERATORS = ("teachers", "compressors")
TEACHER = "results/smollm2/teachers/smollm2/generated/0000.jsonl"
COMPRESSED = "results/smollm2/compressors/smollm2/smollm2/0000.jsonl"
EVAL = "results/smollm2/runs/smollm2/smollm2/all/{target}/seed0/eval/apples.jsonl"
TARGETS = ("raw", "compressed-smollm2")


def through_vllm(cfg: dict) -> dict:
    """The configuration with every generating stage on the ``vllm`` engine, greedy, fp32, the same token caps."""
    for section in GENERATORS:
        block = cfg[section]["smollm2"]
        hf = block["engine"]
        block["engine"] = {**VLLM, "model": hf["model"], "max_tokens": hf["max_new_tokens"], "temperature": 0}
    cfg["evaluation"]["engine"] = dict(VLLM)
    return cfg


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """The whole workflow through vLLM."""
    return real_model.run_study(tmp_path_factory.mktemp("real-vllm"), through_vllm)


@pytest.mark.parametrize("check", real_model.CHECKS, ids=lambda check: check.__name__)
def test_each_stage_wrote_what_it_should(real_run, check):
    check(real_run[1], real_run[2])


def _rerun(cwd, tmp_path, cfg: dict, *targets: str):
    """A copy of the finished run with ``cfg``, asked for ``targets``: only the jobs whose engine changed rerun."""
    work = tmp_path / "wf"
    shutil.copytree(cwd, work, symlinks=True)
    (work / "changed.yaml").write_text(yaml.safe_dump(cfg))
    start = time.monotonic()
    snakemake(work, "--configfile", "changed.yaml", "--cores", "1", *targets)
    print(f"\n{len(targets)} outputs again with another engine: {time.monotonic() - start:.0f} s")
    for target in targets:  # rewritten by this run (the copy keeps the first run's times)
        assert (work / target).stat().st_mtime > (cwd / target).stat().st_mtime, target
    return work


def _texts(path) -> list[tuple[str, str]]:
    return [(r["id"], r.get("raw_text", r["text"])) for r in io.read_jsonl(path)]


def test_the_manifest_names_vllm_for_the_stages_it_ran(real_run):
    _, run, _ = real_run
    stages = io.read_json(run / "manifest.json")["provenance"]["stages"]
    installed = importlib.metadata.version("vllm-cpu")
    for stage in ("teacher_generate", "compress", "evaluate"):
        assert stages[stage]["vllm-cpu"] == [installed], stage
    assert "vllm-cpu" not in stages["train"]


def test_teacher_and_compressor_texts_equal_the_hf_engines(real_run, tmp_path):
    """The teacher's and the compressor's prompts through ``hf`` (fp32): the same texts, prompt for prompt."""
    cwd, _, cfg = real_run
    hf = yaml.safe_load(yaml.safe_dump(cfg))
    for section in GENERATORS:
        block = hf[section]["smollm2"]
        vllm = block["engine"]
        block["engine"] = {"kind": "hf", "model": vllm["model"], "max_new_tokens": vllm["max_tokens"],
                           "batch_size": 32, "temperature": 0}
    work = _rerun(cwd, tmp_path, hf, TEACHER, COMPRESSED)
    for output in (TEACHER, COMPRESSED):
        assert _texts(work / output) == _texts(cwd / output), output


def test_evaluation_texts_equal_the_hf_engines(real_run, tmp_path):
    cwd, _, cfg = real_run
    hf = yaml.safe_load(yaml.safe_dump(cfg))
    del hf["evaluation"]["engine"]  # the default: hf
    outputs = [EVAL.format(target=t) for t in TARGETS]
    work = _rerun(cwd, tmp_path, hf, *outputs)
    for output in outputs:
        assert _texts(work / output) == _texts(cwd / output), output


def test_a_student_served_by_vllm_answers_like_the_offline_engine(real_run, tmp_path):
    """The raw-trace student, its LoRA merged, served by vLLM's OpenAI server to the ``openai`` engine."""
    cwd, _, cfg = real_run
    served = yaml.safe_load(yaml.safe_dump(cfg))
    serve = {"kind": "vllm", "dtype": "float32", "enforce_eager": True, "cpu_kv_cache_gb": 2, "startup_timeout_s": 300}
    served["evaluation"]["engine"] = {"kind": "openai", "serve": serve, "concurrency": 8}
    output = EVAL.format(target="raw")
    work = _rerun(cwd, tmp_path, served, output)
    assert "vllm.entrypoints.openai.api_server" in (work / output).with_suffix(".log").read_text()
    answers = io.read_jsonl(work / output)
    offline = io.read_jsonl(cwd / output)
    assert [o["text"] for o in answers] == [o["text"] for o in offline]
    assert [o["predicted"] for o in answers] == [o["predicted"] for o in offline]
