"""Synthetic records with the paper's shapes, for the simulator (:mod:`compress_distill.planning.simulate`): problems, teacher
traces with drawn outcomes and long-tailed lengths, compressions at the paper's 8.6–21% of characters, graded
evaluation outputs, and a stand-in tokenizer (the reference tokenizer is on the hub)."""

from __future__ import annotations

import random
from pathlib import Path

CHARS_PER_TOKEN = 3.5
RAW_TOKENS = (8.0, 0.8, 256, 32768)  # lognormal mu, sigma, clipped to [min, max]
COMPRESSED_SHARE = (0.086, 0.21)  # of a raw trace's characters (the paper's range)
OUTCOMES = {"correct": 0.72, "wrong": 0.18, "no_answer": 0.05, "truncated": 0.05}  # teacher traces
COMPRESSOR_REJECTS = 0.04  # compressions that drop the answer
STEP = "Next, {a} + {b} = {c}, which I check once more before going on. "


def raw_tokens(rng: random.Random) -> int:
    mu, sigma, low, high = RAW_TOKENS
    return int(min(high, max(low, rng.lognormvariate(mu, sigma))))


def reasoning_text(chars: int, rng: random.Random) -> str:
    """Arithmetic reasoning lines, about ``chars`` characters."""
    lines, size = [], 0
    while size < chars:
        a, b = rng.randint(1, 999), rng.randint(1, 999)
        lines.append(STEP.format(a=a, b=b, c=a + b))
        size += len(lines[-1])
    return "".join(lines)[:chars]


def problem_records(n: int, prefix: str, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        a, b = rng.randint(10, 9999), rng.randint(10, 9999)
        out.append({"id": f"{prefix}-{i:07d}", "question": f"What is {a} + {b}?", "answer": str(a + b)})
    return out


def generation(problem: dict, rng: random.Random) -> dict:
    """A teacher's record (as ``teacher.trace_record`` writes it) with a drawn outcome and length."""
    from compress_distill.core.trace import answer_line, format_trace

    outcome = rng.choices(list(OUTCOMES), weights=list(OUTCOMES.values()))[0]
    tokens = raw_tokens(rng)
    answer = str(int(problem["answer"]) + rng.randint(1, 9)) if outcome == "wrong" else problem["answer"]
    final = "I stop here." if outcome == "no_answer" else answer_line(answer)
    text = format_trace(reasoning_text(int(tokens * CHARS_PER_TOKEN), rng), final)
    if outcome == "truncated":
        text = text[: len(text) // 2]
    return {"id": problem["id"], "question": problem["question"], "gold": problem["answer"], "text": text,
            "reasoning": None, "finish_reason": "length" if outcome == "truncated" else "stop",
            "completion_tokens": tokens}


def compression(trace: dict, rng: random.Random) -> str:
    from compress_distill.core.trace import answer_line, format_trace, split_trace

    reasoning, _ = split_trace(trace["text"])
    keep = int(len(trace["text"]) * rng.uniform(*COMPRESSED_SHARE))
    answer = trace["answer"] if rng.random() > COMPRESSOR_REJECTS else str(int(trace["answer"]) + 1)
    return format_trace(reasoning[:keep], answer_line(answer))


def graded(item: dict, rng: random.Random) -> dict:
    """A graded evaluation output (as ``evaluation.grade_outputs`` writes it), right half of the time."""
    correct = rng.random() < 0.5
    tokens = raw_tokens(rng) // 4
    return {"id": item["id"], "gold": item["answer"], "text": f"The answer is {item['answer']}.",
            "finish_reason": "stop", "completion_tokens": tokens, "predicted": item["answer"] if correct else "0",
            "correct": correct}


def stand_in_tokenizer(folder: Path) -> str:
    """A byte-level BPE trained on simulated reasoning (the reference tokenizer is on the hub)."""
    from compress_distill.models.student import train_tokenizer

    if not (folder / "tokenizer.json").exists():
        rng = random.Random(0)
        train_tokenizer([reasoning_text(2000, rng) for _ in range(200)], 1024, folder)
    return str(folder)
