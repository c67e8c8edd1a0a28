"""Teacher trace generation: requests from problems and the teacher prompt template, and the trace records.

Real teachers are LLM engines prompted with the teacher template; the demo's teachers are the ``synthetic`` engine
(:mod:`compress_distill.synthetic.teacher`).
"""

from __future__ import annotations

from compress_distill.core.prompts import fill_template
from compress_distill.core.trace import in_trace_format
from compress_distill.engines.interface import Completion, Request
from compress_distill.infra.io import stable_seed


def render_messages(template: str, problem: dict) -> list[dict]:
    """The teacher prompt: the template file's text with ``{question}`` filled in, as one user turn."""
    return [{"role": "user", "content": fill_template(template, question=problem["question"])}]


def requests_for(problems: list[dict], template: str, seed: int, teacher: str) -> list[Request]:
    return [
        Request(
            id=p["id"],
            messages=render_messages(template, p),
            seed=stable_seed(seed, teacher, p["id"]),
            meta={"expression": p["expression_parts"]} if "expression_parts" in p else {},
        )
        for p in problems
    ]


def trace_record(req: Request, comp: Completion, problem: dict) -> dict:
    return {
        "id": req.id,
        "question": problem["question"],
        "gold": problem["answer"],
        "text": in_trace_format(comp.text),
        "reasoning": comp.reasoning,
        "finish_reason": comp.finish_reason,
        "completion_tokens": comp.completion_tokens,
    }
