"""The engine kinds, named in config by ``kind``, and how a job gets its engine.

Each kind is one class built as ``cls(spec, **context)`` with a ``SETTINGS`` tuple of the config keys it reads (the
schema's per-kind keys are checked against it) and ``generate(requests) -> completions``
(:class:`compress_distill.engines.interface.Engine`). A kind's module is imported only when config uses it, so the
``vllm`` kind never imports vLLM elsewhere. Adding a kind: a module, an entry in :data:`KINDS`, its keys in the
schema.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import Iterator

from compress_distill.engines.interface import Engine

PACKAGE = "compress_distill"
# kind -> "module:class", the module relative to the package
KINDS: dict[str, str] = {
    "synthetic": "synthetic.teacher:SyntheticTeacher",  # the demo's programmatic teachers
    "extractive": "synthetic.compressors:ExtractiveCompressor",  # the demo's rule-based compressors
    "hf": "engines.hf:HFEngine",  # transformers generate
    "openai": "engines.openai:OpenAIEngine",  # any OpenAI-compatible server
    "vllm": "engines.vllm:VLLMEngine",  # offline vllm.LLM
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
    return KINDS[kind].partition(":")[0]


def server_modules(spec: dict) -> list[str]:
    """The modules a job that serves its model runs besides its engine's (for code identity): the server, and for
    ``transformers serve`` the key check it runs under."""
    kind = (spec.get("serve") or {}).get("kind")
    return [] if not kind else ["engines.server"] + (["engines.keyed_transformers"] if kind == "transformers" else [])


def engine_class(kind: str):
    if kind not in KINDS:
        raise ValueError(f"engine kind {kind!r} is not one of {sorted(KINDS)}")
    module, _, name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(f"{PACKAGE}.{module}"), name)


def make_engine(spec: dict, **context) -> Engine:
    """Build the engine named by ``spec['kind']``; ``context`` carries run-time paths (e.g. a model folder)."""
    return engine_class(spec.get("kind"))(spec, **context)


@contextlib.contextmanager
def open_engine(spec: dict, log_path: str | os.PathLike, model_path: str | None = None) -> Iterator[Engine]:
    """The engine for a job: for a served model (``spec['serve']``), a server is started for the job and always
    stopped (see :mod:`compress_distill.engines.server`); otherwise the engine is built directly. A pinned hub model
    (``<name>@<commit>``) is loaded from its commit's snapshot."""
    from compress_distill.models import hub

    model = model_path or (hub.local(spec["model"]) if spec.get("model") else None)
    if not spec.get("serve"):
        yield make_engine(spec, model_path=model)
        return
    from compress_distill.engines.server import served

    with served(spec["serve"], model, log_path) as (base_url, api_key):
        yield make_engine(spec, base_url=base_url, api_key=api_key, model_path=model)
