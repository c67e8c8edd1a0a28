"""The length-matched truncation ablation: does compression beat merely having fewer tokens?

Each raw trace's reasoning keeps its beginning, cut to the length of the same trace's compressed reasoning —
in characters by default, or in tokens of a named tokenizer — and the final answer is kept.
"""

from __future__ import annotations

from .verifier import split_trace


def _cut_tokens(text: str, n: int, tokenizer: str) -> str:
    from .tokens import load_tokenizer

    tok = load_tokenizer(tokenizer)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    return text if n >= len(offsets) else text[: offsets[n][0]] if n > 0 else ""


def truncate(raw_text: str, compressed_text: str, unit: str = "chars", tokenizer: str | None = None) -> str:
    raw_reasoning, final = split_trace(raw_text)
    comp_reasoning, _ = split_trace(compressed_text)
    if unit == "chars":
        cut = raw_reasoning[: len(comp_reasoning)]
    elif unit == "tokens":
        if tokenizer is None:
            raise ValueError("truncation unit 'tokens' needs a tokenizer")
        from .tokens import count_tokens

        cut = _cut_tokens(raw_reasoning, count_tokens(tokenizer, [comp_reasoning])[0], tokenizer)
    else:
        raise ValueError(f"truncation unit must be 'chars' or 'tokens', not {unit!r}")
    return "<think>\n" + cut.rstrip() + "\n</think>\n" + final


def truncated_records(compressed: list[dict], unit: str, tokenizer: str | None) -> list[dict]:
    """One truncated trace per accepted compressed trace (rejected ones have no compressed length to match)."""
    out = []
    for rec in compressed:
        if rec["reject"] is None:
            text = truncate(rec["raw_text"], rec["text"], unit, tokenizer)
            out.append({"id": rec["id"], "question": rec["question"], "answer": rec["answer"], "text": text,
                        "raw_chars": rec["raw_chars"], "compressed_chars": rec["chars"], "chars": len(text)})
    return out
