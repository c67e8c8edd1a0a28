"""The ``extractive`` engine: the demo's deterministic, rule-based compressors, which read the raw trace from each
request's ``meta`` instead of a prompt."""

from __future__ import annotations

import re

from ..engine import Completion, Request
from ..verifier import split_trace

EQUATION_RE = re.compile(r"-?\d+ [-+*] -?\d+ = -?\d+")


class ExtractiveCompressor:
    """Deterministic, rule-based compressor. ``spec`` keys:

    - ``keep``: ``equations`` keeps only the equations written in the reasoning (aggressive);
      ``numeric`` keeps every reasoning line that mentions a number, verbatim (light).
    - ``dedupe``: drop a kept line already kept once (self-checks repeat steps).
    """

    SETTINGS = ("keep", "dedupe")  # config keys (schema)

    def __init__(self, spec: dict, **_):
        if spec["keep"] not in ("equations", "numeric"):
            raise ValueError(f"extractive compressor: keep must be 'equations' or 'numeric', not {spec['keep']!r}")
        self.spec = spec

    def compress(self, text: str) -> str:
        reasoning, final = split_trace(text)
        kept: list[str] = []
        for line in reasoning.splitlines():
            if self.spec["keep"] == "equations":
                kept += [eq + "." for eq in EQUATION_RE.findall(line)]
            elif re.search(r"\d", line):
                kept.append(line.strip())
        if self.spec["dedupe"]:
            kept = list(dict.fromkeys(kept))
        return "<think>\n" + "\n".join(kept) + "\n</think>\n" + final

    def generate(self, requests: list[Request]) -> list[Completion]:
        return [Completion(r.id, self.compress(r.meta["trace"]), "stop") for r in requests]
