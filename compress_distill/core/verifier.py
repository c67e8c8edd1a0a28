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

from compress_distill.core.trace import final_section

NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")
REJECT_REASONS = ("truncated", "no_answer", "wrong")


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


def gradeable(kind: str | None, gold: str) -> bool:
    """Whether any answer could be graded right against ``gold``: ``numeric`` reads plain decimals and fractions
    only (not ``1e3`` or ``inf``), ``choice`` one letter; ``math`` parses anything."""
    if kind == "numeric":
        return _as_number(gold) is not None
    if kind == "choice":
        return bool(re.fullmatch(r"[A-Za-z]", gold.strip()))
    return True


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
