"""The engine kinds: one module per kind, named in config by ``kind``.

Each kind's module holds one class built as ``cls(spec, **context)`` with a ``SETTINGS`` tuple of the config keys it
reads (the schema's per-kind keys are checked against it) and ``generate(requests) -> completions``
(:class:`compress_distill.engine.Engine`). A kind's module is imported only when config uses it, so the ``vllm`` kind
never imports vLLM elsewhere. Adding a kind: a module here, an entry in :data:`KINDS`, its keys in the schema.
"""

from __future__ import annotations

import importlib

# kind -> "module:class", the module under compress_distill.engines
KINDS: dict[str, str] = {
    "synthetic": "synthetic:SyntheticTeacher",  # the demo's programmatic teachers
    "extractive": "extractive:ExtractiveCompressor",  # the demo's rule-based compressors
    "hf": "hf:HFEngine",  # transformers generate
    "openai": "openai:OpenAIEngine",  # any OpenAI-compatible server
    "vllm": "vllm:VLLMEngine",  # offline vllm.LLM
}

# stacks that do not fit the shared env, by engine or server kind: their jobs run in envs/<name>.yaml (vLLM pins its
# own torch; a job that serves with vLLM runs `vllm serve` and, across nodes, Ray)
OWN_ENV = {"vllm": "vllm"}


def env_of(spec: dict, default: str) -> str:
    """The conda env (a file stem under envs/) of a job running the engine ``spec``, or of the server it starts
    (``serve.kind``); ``default`` is the rule's usual env."""
    served = (spec.get("serve") or {}).get("kind")
    return OWN_ENV.get(spec["kind"], OWN_ENV.get(served, default))


def module_of(kind: str) -> str:
    """The package-relative module of ``kind`` (``engines.hf``), for code identity."""
    return "engines." + KINDS[kind].partition(":")[0]


def engine_class(kind: str):
    if kind not in KINDS:
        raise ValueError(f"engine kind {kind!r} is not one of {sorted(KINDS)}")
    module, _, name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
