"""The trace format, written and read here only: reasoning inside ``<think>…</think>``, then the final part, which
ends with the answer line. Every producer (teachers, compressors, truncation, targets, the simulator's records) writes
through :func:`format_trace`, every consumer reads through :func:`split_trace` / :func:`final_section`, so the
stages cannot drift apart (tested: every engine's output parses back to what it wrote).
"""

from __future__ import annotations

import re

OPEN, CLOSE = "<think>", "</think>"
MARKERS = [OPEN, CLOSE]  # tokens of their own in a trained tokenizer
THINK_RE = re.compile(rf"{OPEN}(.*?){CLOSE}", re.S)
ANSWER_LINE_RE = re.compile(r"\\boxed\{|answer is", re.I)
HARMONY_RE = re.compile(
    r"<\|channel\|>analysis<\|message\|>(?P<analysis>.*?)<\|end\|>.*?<\|channel\|>final<\|message\|>(?P<final>.*?)"
    r"(?:<\|return\|>|<\|end\|>|$)",
    re.S,
)


def format_trace(reasoning: str, final: str) -> str:
    """A trace from its two parts, taken as given: a producer trims them as its own format requires."""
    return f"{OPEN}\n{reasoning}\n{CLOSE}\n{final}"


def answer_line(answer: str) -> str:
    """The final-answer sentence every trace ends with (the form the verifier reads)."""
    return f"The answer is \\boxed{{{answer}}}."


# a reasoning step, as the truncation table counts them: an arithmetic equation ending in a number ("7 * 5 = 35",
# "(3 + 4) * 5 = 35"), its left side numbers, operators and brackets only
STEP_RE = re.compile(r"(?<![\w.])[-(]*\d[\d\s+\-*/×÷^().,]*=\s*-?\d[\d.,]*(?<![.,])")


def steps(text: str, within: int | None = None) -> int:
    """The distinct steps (equations, each counted once: a check repeats one) in a trace's reasoning; with ``within``,
    only those written whole in its first ``within`` characters."""
    reasoning = split_trace(text)[0]
    return len({" ".join(m.group().split()) for m in STEP_RE.finditer(reasoning)
                if within is None or m.end() <= within})


def has_reasoning_section(text: str) -> bool:
    return OPEN in text


def split_trace(text: str) -> tuple[str, str]:
    """(reasoning, final part): the ``<think>`` body and what follows it; no think block -> ('', text)."""
    match = THINK_RE.search(text)
    if not match:
        return "", text.strip()
    return match.group(1).strip(), text[match.end() :].strip()


def final_section(text: str) -> str:
    """What follows the reasoning: the text after the last ``</think>`` (a chat template may open the think block in
    the prompt); none when a ``<think>`` was never closed (the reasoning was cut off); the whole text when there is
    no reasoning section at all."""
    if CLOSE in text:
        return text.rsplit(CLOSE, 1)[1].strip()
    return "" if OPEN in text else text.strip()


def in_trace_format(text: str) -> str:
    """A teacher's or compressor's text in the trace format. Instruct models without a reasoning section (their chat
    template has none) answer in plain text; there the last line that states the answer (a ``\\boxed{}`` or "answer
    is") and what follows it are the final answer, the lines before it the reasoning. A text with a think block, or
    without an answer line, is left as it is (for verification and the reject policy to judge)."""
    if OPEN in text:
        return text
    lines = text.strip().splitlines()
    last = max((i for i, line in enumerate(lines) if ANSWER_LINE_RE.search(line)), default=None)
    if not last:  # no answer line, or nothing before it: nothing to put in a think block
        return text
    reasoning, final = "\n".join(lines[:last]).strip(), "\n".join(lines[last:]).strip()
    return format_trace(reasoning, final) if reasoning else text


def join_reasoning(content: str, reasoning: str | None) -> str:
    """An engine's answer in the trace format, from a separate reasoning field (servers' reasoning parsers) or
    gpt-oss's harmony channels left in the text; a text already in the format is kept."""
    if reasoning is None and "<|channel|>" in content:
        match = HARMONY_RE.search(content)
        if match:
            reasoning, content = match.group("analysis"), match.group("final")
    if reasoning is None or OPEN in content:
        return content
    return format_trace(reasoning.strip(), content.strip())
