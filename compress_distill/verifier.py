"""The *verifier*: extract a final answer from a trace and grade it against the gold answer.

Chosen per dataset in config (``verifier: numeric | math | choice``):

- ``numeric``: the last ``\\boxed{…}`` (else a trailing number after "answer is") compared as a number.
- ``math``:   math-verify's ``verify(parse(gold), parse(pred))`` (gold first: it is asymmetric), run in worker
  processes because its timeouts raise in threads.
- ``choice``: a single multiple-choice letter.

Rejects are counted by reason: ``truncated`` (the engine hit its token cap), ``no_answer``, ``wrong``.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

THINK_RE = re.compile(r"<think>(.*?)</think>", re.S)
ANSWER_LINE_RE = re.compile(r"\\boxed\{|answer is", re.I)
NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")
REJECT_REASONS = ("truncated", "no_answer", "wrong")


def answer_line(answer: str) -> str:
    """The final-answer sentence every trace ends with (the form :func:`extract_answer` reads)."""
    return f"The answer is \\boxed{{{answer}}}."


def split_trace(text: str) -> tuple[str, str]:
    """(reasoning, final part): the ``<think>`` body and what follows it; no think block -> ('', text)."""
    match = THINK_RE.search(text)
    if not match:
        return "", text.strip()
    return match.group(1).strip(), text[match.end() :].strip()


def in_trace_format(text: str) -> str:
    """A teacher's or compressor's text in the trace format: reasoning inside ``<think>…</think>``, then the final
    answer. Instruct models without a reasoning section (their chat template has none) answer in plain text; there
    the last line that states the answer (a ``\\boxed{}`` or "answer is") and what follows it are the final answer,
    the lines before it the reasoning. A text with a think block, or without an answer line, is left as it is (for
    verification and the reject policy to judge)."""
    if "<think>" in text:
        return text
    lines = text.strip().splitlines()
    last = max((i for i, line in enumerate(lines) if ANSWER_LINE_RE.search(line)), default=None)
    if not last:  # no answer line, or nothing before it: nothing to put in a think block
        return text
    reasoning, final = "\n".join(lines[:last]).strip(), "\n".join(lines[last:]).strip()
    return f"<think>\n{reasoning}\n</think>\n{final}" if reasoning else text


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}``, with nested braces balanced."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed{") - 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j].strip()
    return None


def final_section(text: str) -> str:
    """What follows the reasoning: the text after the last ``</think>`` (a chat template may open the think block in
    the prompt); none when a ``<think>`` was never closed (the reasoning was cut off); the whole text when there is
    no reasoning section at all."""
    if "</think>" in text:
        return text.rsplit("</think>", 1)[1].strip()
    return "" if "<think>" in text else text.strip()


def extract_answer(text: str) -> str | None:
    """The answer stated in the final section only: a ``\\boxed{}`` or "answer is" inside unfinished or finished
    reasoning is a step, not an answer."""
    final = final_section(text)
    boxed = last_boxed(final)
    if boxed is not None:
        return boxed
    match = re.search(r"answer is[:\s]*\(?([A-Za-z]|-?[\d./]+)\)?", final)
    return match.group(1).rstrip(".") if match else None


def _as_number(text: str) -> Fraction | None:
    cleaned = text.replace(",", "").replace("$", "").strip()
    if not NUMBER_RE.fullmatch(cleaned):
        return None
    try:
        return Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        return None


def numeric_equal(gold: str, pred: str) -> bool:
    g, p = _as_number(gold), _as_number(pred)
    return g is not None and p is not None and g == p


def choice_equal(gold: str, pred: str) -> bool:
    return pred.strip().strip("().").upper() == gold.strip().upper()


def _math_verify_pair(pair: tuple[str, str]) -> bool:
    from math_verify import parse, verify

    gold, pred = pair
    return bool(verify(parse(f"${gold}$"), parse(f"\\boxed{{{pred}}}")))


def grade_many(kind: str, pairs: list[tuple[str, str]], workers: int = 1) -> list[bool]:
    """Grade (gold, predicted-answer) pairs with the named verifier."""
    if kind == "numeric":
        return [numeric_equal(g, p) for g, p in pairs]
    if kind == "choice":
        return [choice_equal(g, p) for g, p in pairs]
    if kind == "math":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(_math_verify_pair, pairs, chunksize=64))
    raise ValueError(f"verifier kind {kind!r} is not one of numeric, math, choice")


def verify_traces(records: list[dict], kind: str, workers: int = 1) -> tuple[list[dict], Counter]:
    """Keep traces whose final answer is correct; count the rest by reason."""
    rejects: Counter = Counter({r: 0 for r in REJECT_REASONS})
    candidates = []
    for rec in records:
        if rec["finish_reason"] == "length":
            rejects["truncated"] += 1
            continue
        answer = extract_answer(rec["text"])
        if answer is None:
            rejects["no_answer"] += 1
            continue
        candidates.append((rec, answer))
    verdicts = grade_many(kind, [(rec["gold"], ans) for rec, ans in candidates], workers)
    kept = []
    for (rec, answer), ok in zip(candidates, verdicts):
        if ok:
            kept.append({**rec, "answer": answer})
        else:
            rejects["wrong"] += 1
    return kept, rejects
