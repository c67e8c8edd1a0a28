"""The LLM engines: the ``openai`` engine against a local server that misbehaves, and the ``vllm`` engine's code
around the vLLM call (vLLM itself cannot run on these machines)."""

from __future__ import annotations

import json
import sys
import threading
from types import SimpleNamespace

import pytest
from openai_stub import FAULTS, FlakyServer, answer_for

from compress_distill.core import trace
from compress_distill.engines import chunked, registry, vllm as vllm_engine
from compress_distill.engines.interface import Request
from compress_distill.engines.openai import EndpointError, OpenAIEngine


@pytest.fixture
def server():
    srv = FlakyServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _spec(server, **extra):
    return {"kind": "openai", "base_url": f"http://127.0.0.1:{server.server_address[1]}/v1", "model": "m",
            "max_tokens": 16, "concurrency": 4, "timeout_s": 0.5, "max_retries": 5, **extra}


def _requests(n):
    return [Request(f"q{i:03d}", [{"role": "user", "content": f"question number {i} {'x' * i}"}], seed=i)
            for i in range(n)]


def test_every_record_completes_exactly_once_despite_faults(server, tmp_path):
    reqs = _requests(24)
    records = chunked.run_chunked(registry.make_engine(_spec(server)), reqs, tmp_path / "out.jsonl", 9,
                                 lambda r, c: {"id": r.id, "text": c.text, "tokens": c.completion_tokens})
    assert set(server.faults) == set(FAULTS)  # every kind of fault really happened
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == [r.id for r in reqs] == [r["id"] for r in records]
    for req, rec in zip(reqs, lines):
        assert rec["text"] == f"<think>\nthinking {req.seed}\n</think>\n{answer_for(req.messages[-1]['content'])}"
        assert rec["tokens"] == 7


def test_a_client_error_is_not_retried(server):
    eng = OpenAIEngine(_spec(server))
    with pytest.raises(EndpointError, match="HTTP 400"):
        eng.generate([Request("bad", [{"role": "user", "content": "bad request"}], seed=0)])
    assert server.attempts["bad request"] == 1


def test_completions_mode_and_api_key_from_the_environment(server, monkeypatch, tmp_path):
    monkeypatch.setenv("CD_TEST_KEY", "sk-secret-123")
    spec = _spec(server, mode="completions", api_key_env="CD_TEST_KEY")
    out = tmp_path / "out.jsonl"
    chunked.run_chunked(registry.make_engine(spec), _requests(3), out, 2, lambda r, c: {"id": r.id, "text": c.text})
    assert set(server.auth) == {"Bearer sk-secret-123"}
    assert "sk-secret" not in out.read_text()
    monkeypatch.delenv("CD_TEST_KEY")
    with pytest.raises(EndpointError, match="CD_TEST_KEY"):
        registry.make_engine(spec)


def test_reasoning_is_folded_into_think_tags_from_any_format():
    assert trace.join_reasoning("\\boxed{2}", " a ") == "<think>\na\n</think>\n\\boxed{2}"
    harmony = ("<|channel|>analysis<|message|>1+1=2<|end|><|start|>assistant<|channel|>final<|message|>"
               "\\boxed{2}<|return|>")
    assert trace.join_reasoning(harmony, None) == "<think>\n1+1=2\n</think>\n\\boxed{2}"
    assert trace.join_reasoning("<think>x</think>\\boxed{2}", "ignored") == "<think>x</think>\\boxed{2}"
    assert trace.join_reasoning("plain", None) == "plain"


def test_vllm_engine_parameters_and_parsing_without_vllm():
    assert "vllm" not in sys.modules
    spec = {"model": "org/m", "tensor_parallel_size": 8, "max_model_len": 32768, "temperature": 0.6, "top_p": 0.95,
            "max_tokens": 100, "seed": 3, "kind": "vllm", "batch_invariant": True}
    assert vllm_engine.llm_kwargs(spec, "local/folder") == {"model": "local/folder", "tensor_parallel_size": 8,
                                                             "max_model_len": 32768, "seed": 3}
    assert vllm_engine.sampling_kwargs(spec, 42) == {"max_tokens": 100, "temperature": 0.6, "top_p": 0.95, "seed": 42}
    out = SimpleNamespace(outputs=[SimpleNamespace(text="<think>r</think>\\boxed{1}", finish_reason="length",
                                                   token_ids=[1, 2, 3])])
    comp = vllm_engine.to_completion("a", out)
    assert (comp.text, comp.finish_reason, comp.completion_tokens) == ("<think>r</think>\\boxed{1}", "length", 3)
    with pytest.raises(ModuleNotFoundError, match="vllm"):
        registry.make_engine({**spec, "batch_invariant": False})  # on CPU it is refused first (below)


def test_vllm_keeps_its_caches_and_sockets_in_the_jobs_temp_folder(tmp_path):
    """On CPU also its KV-cache size and its engine core in the job's own process; batch-invariant mode needs a
    GPU and is refused naming the key."""
    from compress_distill.engines import vllm_process

    cpu = vllm_process.environment({"cpu_kv_cache_gb": 4}, str(tmp_path), cuda=False)
    assert cpu["VLLM_CACHE_ROOT"].startswith(str(tmp_path)) and cpu["VLLM_RPC_BASE_PATH"] == str(tmp_path)
    assert cpu["VLLM_CPU_KVCACHE_SPACE"] == "4" and cpu["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"
    gpu = vllm_process.environment({"batch_invariant": True, "cpu_kv_cache_gb": 4}, str(tmp_path), cuda=True)
    assert gpu["VLLM_BATCH_INVARIANT"] == "1" and "VLLM_CPU_KVCACHE_SPACE" not in gpu
    assert "VLLM_ENABLE_V1_MULTIPROCESSING" not in gpu
    with pytest.raises(ValueError, match="engine key 'batch_invariant'.*no GPU"):
        vllm_process.environment({"batch_invariant": True}, str(tmp_path), cuda=False)
