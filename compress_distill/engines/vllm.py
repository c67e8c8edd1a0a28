"""The ``vllm`` engine: offline ``vllm.LLM`` batches, for models that fit one node.

vLLM is imported only inside :class:`VLLMEngine`, so nothing else needs it installed. Everything around the call is
plain functions tested without vLLM: engine arguments, per-request sampling parameters, and output parsing.

``spec`` keys: ``model``, ``tensor_parallel_size``, ``pipeline_parallel_size``, ``data_parallel_size``,
``max_model_len``, ``gpu_memory_utilization``, ``dtype``, ``seed``, ``max_tokens``, ``temperature``, ``top_p``,
``top_k``, ``batch_invariant`` (vLLM's batch-invariant mode: outputs independent of batch composition; GPU only),
``enable_lora``, ``enforce_eager`` (no torch.compile: ~30 s to load on CPU instead of ~97 s), ``cpu_kv_cache_gb``
(vLLM's KV cache on CPU, GiB: unset, vLLM took 20 GiB of a 24 GiB machine).
Each request gets ``SamplingParams(seed=request.seed)``, so a request's sample does not depend on its chunk. vLLM's
caches and sockets go to the job's temp folder, never the home folder.
"""

from __future__ import annotations

import os
import tempfile

from compress_distill.core.trace import join_reasoning
from compress_distill.engines.interface import Completion, Request
from compress_distill.engines.vllm_process import environment

LLM_KEYS = ("tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size", "max_model_len",
            "gpu_memory_utilization", "dtype", "seed", "enable_lora", "trust_remote_code", "enforce_eager")
SAMPLING_KEYS = ("max_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty")


def llm_kwargs(spec: dict, model: str) -> dict:
    return {"model": model, **{k: spec[k] for k in LLM_KEYS if k in spec}}


def sampling_kwargs(spec: dict, seed: int) -> dict:
    return {**{k: spec[k] for k in SAMPLING_KEYS if k in spec}, "seed": seed}


def to_completion(req_id: str, output) -> Completion:
    """A vLLM ``RequestOutput`` (its first sample) as a Completion."""
    sample = output.outputs[0]
    finish = "length" if sample.finish_reason == "length" else "stop"
    return Completion(req_id, join_reasoning(sample.text, None), finish, completion_tokens=len(sample.token_ids))


class VLLMEngine:
    SETTINGS = ("model", "batch_invariant", "cpu_kv_cache_gb", *LLM_KEYS, *SAMPLING_KEYS)  # config keys (schema)

    def __init__(self, spec: dict, model_path: str | None = None, **_):
        import torch

        scratch = tempfile.mkdtemp(prefix="vllm-")  # in the job's temp folder (Snakemake sets TMPDIR per job)
        os.environ.update(environment(spec, scratch, torch.cuda.is_available()))
        from vllm import LLM, SamplingParams

        self.spec, self.sampling = spec, SamplingParams
        self.llm = LLM(**llm_kwargs(spec, model_path or spec["model"]))

    def generate(self, requests: list[Request]) -> list[Completion]:
        params = [self.sampling(**sampling_kwargs(self.spec, r.seed)) for r in requests]
        outputs = self.llm.chat([r.messages for r in requests], sampling_params=params, use_tqdm=False)
        return [to_completion(r.id, o) for r, o in zip(requests, outputs)]
