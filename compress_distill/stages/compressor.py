"""The *compressor*: rewrite a verified trace, in one step, into a short trace with only the essential reasoning and
the answer; then check it.

A compressor is an engine (any kind) whose requests carry the raw trace; LLM compressors read the compressor prompt
template, the demo's ``extractive`` compressors (:mod:`compress_distill.synthetic.compressors`) read the trace directly.
Its strength may be set (``target_share``: the share of the raw reasoning's characters to aim for). Every compressed
trace is checked
(:func:`reject_reason`): it must keep the verified answer, be shorter than the raw trace, keep at least
``min_reasoning_chars`` of reasoning, and have finished. A failing trace may be asked for again (``retries``,
:class:`Retrying`), and is otherwise a counted reject, never dropped silently.
"""

from __future__ import annotations

import dataclasses

from compress_distill.core.prompts import fill_template
from compress_distill.core.trace import in_trace_format, split_trace
from compress_distill.core.verifier import extract_answer, numeric_equal
from compress_distill.engines.interface import Completion, Request
from compress_distill.infra.io import stable_seed

REJECT_REASONS = ("unfinished", "answer_changed", "not_shorter", "no_reasoning")


def target_chars(trace: dict, target_share: float | None) -> int | None:
    """The compression strength for one trace: ``target_share`` of its raw reasoning's characters (None: unset)."""
    return None if target_share is None else max(1, round(target_share * len(split_trace(trace["text"])[0])))


def render_messages(template: str, trace: dict, target_share: float | None = None) -> list[dict]:
    chars = target_chars(trace, target_share)
    if chars is None and "{target_chars}" in template:
        raise ValueError("the compressor prompt names {target_chars}: set the compressor's target_share")
    fields = {"question": trace["question"], "trace": trace["text"], **({"target_chars": str(chars)} if chars else {})}
    return [{"role": "user", "content": fill_template(template, **fields)}]


def requests_for(traces: list[dict], template: str, seed: int, name: str,
                 target_share: float | None = None) -> list[Request]:
    return [
        Request(t["id"], render_messages(template, t, target_share), stable_seed(seed, name, t["id"]),
                meta={"trace": t["text"], "target_chars": target_chars(t, target_share)})
        for t in traces
    ]


def reject_reason(raw: dict, comp: Completion, min_reasoning_chars: int) -> str | None:
    if comp.finish_reason != "stop":
        return "unfinished"
    answer = extract_answer(comp.text)
    if answer is None or not (answer.strip() == raw["answer"].strip() or numeric_equal(raw["answer"], answer)):
        return "answer_changed"
    if len(comp.text) >= len(raw["text"]):
        return "not_shorter"
    if len(split_trace(comp.text)[0]) < min_reasoning_chars:
        return "no_reasoning"
    return None


class Retrying:
    """Wraps a compressor engine: its outputs are put in the trace format (:func:`in_trace_format`), and a
    compressed trace that would be rejected is asked for again, with a new seed derived from the request's, up to
    ``retries`` times. Retries happen inside the chunk, so resumability and determinism are those of the chunk. The
    record keeps how many attempts it took."""

    def __init__(self, inner, traces: dict[str, dict], retries: int, min_reasoning_chars: int):
        self.inner, self.traces, self.retries, self.min_chars = inner, traces, retries, min_reasoning_chars
        self.attempts: dict[str, int] = {}

    def _generate(self, requests: list[Request]) -> list[Completion]:
        return [dataclasses.replace(c, text=in_trace_format(c.text)) for c in self.inner.generate(requests)]

    def generate(self, requests: list[Request]) -> list[Completion]:
        done = dict(zip((r.id for r in requests), self._generate(requests)))
        self.attempts.update({r.id: 1 for r in requests})
        for attempt in range(1, self.retries + 1):
            again = [r for r in requests if reject_reason(self.traces[r.id], done[r.id], self.min_chars)]
            if not again:
                break
            retried = [Request(r.id, r.messages, stable_seed(r.seed, "retry", attempt), r.meta) for r in again]
            for comp in self._generate(retried):
                done[comp.id] = comp
                self.attempts[comp.id] = attempt + 1
        return [done[r.id] for r in requests]


def compressed_record(raw: dict, comp: Completion, min_reasoning_chars: int) -> dict:
    return {
        "id": raw["id"],
        "question": raw["question"],
        "answer": raw["answer"],
        "raw_text": raw["text"],
        "text": comp.text,
        "raw_chars": len(raw["text"]),
        "chars": len(comp.text),
        "reject": reject_reason(raw, comp, min_reasoning_chars),
    }
