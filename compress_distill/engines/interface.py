"""The *engine* interface: generate text for a list of requests.

An engine is any object with ``generate(requests: list[Request]) -> list[Completion]`` that returns one completion
per request, in order. Engines are named by ``kind`` in config and built by
:func:`compress_distill.engines.registry.make_engine`; :func:`compress_distill.engines.chunked.run_chunked` runs
one resumably.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Request:
    id: str
    messages: list[dict]  # chat messages rendered from the role's prompt template
    seed: int
    meta: dict = field(default_factory=dict)  # role data a programmatic engine may use (problem, trace)


@dataclass
class Completion:
    id: str
    text: str
    finish_reason: str  # "stop" or "length"
    completion_tokens: int | None = None  # as the engine reports; None when it cannot
    reasoning: str | None = None  # a separate reasoning field, where the engine gives one


class Engine(Protocol):
    def generate(self, requests: list[Request]) -> list[Completion]: ...
