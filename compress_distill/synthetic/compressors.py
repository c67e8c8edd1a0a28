"""The ``extractive`` engine: the demo's deterministic, rule-based compressors, which read the raw trace from each
request's ``meta`` instead of a prompt."""

from __future__ import annotations

import re

from compress_distill.core.trace import format_trace, split_trace
from compress_distill.engines.interface import Completion, Request

EQUATION_RE = re.compile(r"-?\d+ [-+*] -?\d+ = -?\d+")


class ExtractiveCompressor:
    """Deterministic, rule-based compressor. ``spec`` keys:

    - ``keep``: ``equations`` keeps only the equations written in the reasoning (aggressive);
      ``numeric`` keeps every reasoning line that mentions a number, verbatim (light).
    - ``dedupe``: drop a kept line already kept once (self-checks repeat steps).

    With a compression strength (the compressor's ``target_share``, as characters per request), only the last kept
    lines that fit it stay — the final steps, which reach the answer — and always at least one.
    """

    SETTINGS = ("keep", "dedupe")  # config keys (schema)

    def __init__(self, spec: dict, **_):
        if spec["keep"] not in ("equations", "numeric"):
            raise ValueError(f"extractive compressor: keep must be 'equations' or 'numeric', not {spec['keep']!r}")
        self.spec = spec

    def compress(self, text: str, target_chars: int | None = None) -> str:
        reasoning, final = split_trace(text)
        kept: list[str] = []
        for line in reasoning.splitlines():
            if self.spec["keep"] == "equations":
                kept += [eq + "." for eq in EQUATION_RE.findall(line)]
            elif re.search(r"\d", line):
                kept.append(line.strip())
        if self.spec["dedupe"]:
            kept = list(dict.fromkeys(kept))
        if target_chars is not None:
            kept = _last_within(kept, target_chars)
        return format_trace("\n".join(kept), final)

    def generate(self, requests: list[Request]) -> list[Completion]:
        return [Completion(r.id, self.compress(r.meta["trace"], r.meta.get("target_chars")), "stop")
                for r in requests]


def _last_within(lines: list[str], chars: int) -> list[str]:
    """The last of ``lines`` whose joined length fits ``chars`` (at least the last one)."""
    size, start = len(lines[-1]) if lines else 0, max(0, len(lines) - 1)
    while start > 0 and size + 1 + len(lines[start - 1]) <= chars:
        start -= 1
        size += 1 + len(lines[start])
    return lines[start:]
