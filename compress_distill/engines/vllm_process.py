"""vLLM's process settings, shared by the offline ``vllm`` engine and a served vLLM (``engines.server``), with no
vLLM import: a job that only might serve a model does not count vLLM among its software."""

from __future__ import annotations

import os


def environment(spec: dict, scratch: str, cuda: bool, in_process: bool = True) -> dict[str, str]:
    """vLLM's process settings for one job, read by vLLM when it is imported: its caches and RPC sockets under the
    job's ``scratch`` folder; on CPU the KV-cache size and, ``in_process`` (the offline engine), the engine core in
    this process (a rule script is the main module, which a spawned engine process would run again)."""
    if spec.get("batch_invariant") and not cuda:
        raise ValueError("engine key 'batch_invariant': vLLM's batch-invariant mode runs Triton GPU kernels; "
                         "this job has no GPU (remove the key, or give the model GPUs in its resources)")
    env = {"VLLM_CACHE_ROOT": os.path.join(scratch, "vllm-cache"), "VLLM_RPC_BASE_PATH": scratch}
    if spec.get("batch_invariant"):
        env["VLLM_BATCH_INVARIANT"] = "1"
    if not cuda and in_process:
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    if not cuda and "cpu_kv_cache_gb" in spec:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(spec["cpu_kv_cache_gb"])
    return env
