"""The ``synthetic`` engine: the demo's teachers, programmatic solvers of the arithmetic task that write
chain-of-thought inside ``<think>…</think>`` and end with a boxed answer, with a configurable verbosity (wandering
filler, self-checks) and configurable error rates, so that verification has real work: wrong answers, missing
answers, and traces cut at ``max_tokens``. A trace starts with its first step, as a real trace's first tenth holds
reasoning: a raw trace cut to its compression's length keeps some of it (the truncation ablation can fail).
"""

from __future__ import annotations

import random

from compress_distill.core.trace import answer_line, format_trace
from compress_distill.engines.interface import Completion, Request
from compress_distill.synthetic.arithmetic import OPS, Expression

FILLERS = [
    "Hmm, brackets come first.",
    "Let me be careful here.",
    "Order of operations matters.",
    "Two steps, one at a time.",
    "Let me re-read the question.",
    "I keep the result in mind.",
    "Small slips are easy, so slowly.",
    "Okay, that part is clear.",
]
CHECKS = ["Let me check: {s}. Yes.", "Check again: {s}. Right.", "Verify: {s}. Good."]


def format_step(left: int, op: str, right: int, result: int) -> str:
    return f"{left} {op} {right} = {result}"


def language_documents(facts: list[tuple[int, str, int, int]]) -> list[str]:
    """A few lines per one-step fact (a, op, b, result) in the sentences these teachers write — the step, a check, a
    filler, the closing line — never a two-step problem: a pre-trained base knows its teachers' words. Without them a
    LoRA student kept random, frozen embeddings for a fifth of the tokens in raw traces (measured on the demo)."""
    docs = []
    for i, (a, op, b, result) in enumerate(facts):
        step = format_step(a, op, b, result)
        docs.append("\n".join([step + ".", CHECKS[i % len(CHECKS)].format(s=step), FILLERS[i % len(FILLERS)],
                               f"So ({a} {op} {b}) = {result}."]))
    return docs


def _with_error(expr: Expression, rng: random.Random) -> list[tuple[int, str, int, int]]:
    """The expression's steps with one arithmetic slip, carried through to the final result."""
    (a, op1, b, s), (_, op2, c, _) = expr.steps
    s_wrong = s + rng.choice([-2, -1, 1, 2])
    return [(a, op1, b, s_wrong), (s_wrong, op2, c, OPS[op2](s_wrong, c))]


class SyntheticTeacher:
    """A programmatic teacher; ``spec`` keys: verbosity (filler sentences per gap, max), self_check (probability),
    error_rate, no_answer_rate, max_tokens (whitespace words; longer traces are cut, finish_reason 'length')."""

    SETTINGS = ("verbosity", "self_check", "error_rate", "no_answer_rate", "max_tokens")  # config keys (schema)

    def __init__(self, spec: dict, **_):
        self.spec = spec

    def trace(self, expr: Expression, rng: random.Random) -> str:
        spec = self.spec
        steps = _with_error(expr, rng) if rng.random() < spec["error_rate"] else expr.steps
        lines = []
        for i, step in enumerate(steps):  # asides between steps, never before the first or after the last
            if i:
                lines += rng.sample(FILLERS, rng.randint(0, spec["verbosity"]))
            lines.append(format_step(*step) + ".")
            if rng.random() < spec["self_check"]:
                lines.append(rng.choice(CHECKS).format(s=format_step(*step)))
        if spec["verbosity"] > 0:
            lines.append(f"So {expr.text} = {steps[-1][-1]}.")
        with_answer = rng.random() >= spec["no_answer_rate"]
        tail = answer_line(str(steps[-1][-1])) if with_answer else "I have finished the computation."
        return format_trace("\n".join(lines), tail)

    def generate(self, requests: list[Request]) -> list[Completion]:
        out = []
        for req in requests:
            if "expression" not in req.meta:
                raise ValueError("the synthetic teacher solves only the synthetic arithmetic task (no expression)")
            text = self.trace(Expression(**req.meta["expression"]), random.Random(req.seed))
            words = text.split(" ")
            finish = "stop"
            if len(words) > self.spec["max_tokens"]:
                text, finish = " ".join(words[: self.spec["max_tokens"]]), "length"
            out.append(Completion(req.id, text, finish, completion_tokens=None))
        return out
