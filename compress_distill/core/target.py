"""Training targets: ``raw``, ``compressed-<compressor>``, ``truncated-<compressor>``, ``answer-only``,
``adaptive`` — the kinds registered in :data:`KINDS`, and a target's name parsed once (:class:`Target`). Which
problems and records a target is built from is :mod:`compress_distill.stages.selection`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from compress_distill.core.trace import answer_line, format_trace

ANSWER_ONLY = "answer-only"
ADAPTIVE = "adaptive"
# the traces a target can be made from (rule target_source): raw ones, one compressor's compressed or truncated
# ones, or one of every configured compressor's compressed ones, picked per student ("candidates": the adaptive
# target, compress_distill.stages.adaptive)
SOURCES = ("verified", "compressed", "truncated", "candidates")


def answer_only_text(answer: str) -> str:
    return format_trace("", answer_line(answer))


@dataclass(frozen=True)
class TargetKind:
    """What a kind of target is made from and how: ``source`` names the traces (``verified`` raw traces, or one
    compressor's ``compressed`` or ``truncated`` traces, which makes the kind per compressor); ``completion`` turns
    one source record into the training completion."""

    source: str
    completion: Callable[[dict], str]

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"target kind source {self.source!r} is not one of {SOURCES}")

    @property
    def per_compressor(self) -> bool:
        return self.source in ("compressed", "truncated")


# the registry of target kinds, in the order tables and figures show them
KINDS: dict[str, TargetKind] = {
    "raw": TargetKind("verified", lambda rec: rec["text"]),
    "compressed": TargetKind("compressed", lambda rec: rec["text"]),
    "truncated": TargetKind("truncated", lambda rec: rec["text"]),
    ANSWER_ONLY: TargetKind("verified", lambda rec: answer_only_text(rec["answer"])),
    ADAPTIVE: TargetKind("candidates", lambda rec: rec["text"]),
}


@dataclass(frozen=True)
class Target:
    """A training target, parsed once from its name: a kind of :data:`KINDS` (``raw``, ``answer-only``), or
    ``<kind>-<compressor>`` for a kind made from one compressor's traces (``compressed-lean``)."""

    kind: str
    compressor: str | None = None

    @classmethod
    def parse(cls, name: str) -> "Target":
        if name in KINDS and not KINDS[name].per_compressor:
            return cls(name)
        kind, _, compressor = name.partition("-")
        if kind not in KINDS or not KINDS[kind].per_compressor or not compressor:
            raise ValueError(f"target {name!r} is none of {', '.join(_spellings())}")
        return cls(kind, compressor)

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.compressor}" if self.compressor else self.kind

    @property
    def source(self) -> str:
        return KINDS[self.kind].source

    @property
    def rank(self) -> tuple[int, str]:
        """Sort key: by kind in :data:`KINDS` order, then by name."""
        return list(KINDS).index(self.kind), self.name


def _spellings() -> list[str]:
    return [f"{k}-<compressor>" if kind.per_compressor else k for k, kind in KINDS.items()]


def every_target(compressors) -> list[str]:
    """The names of every target the configured compressors make possible."""
    whole = [k for k, kind in KINDS.items() if not kind.per_compressor]
    return whole + [Target(k, c).name for k, kind in KINDS.items() if kind.per_compressor for c in compressors]
