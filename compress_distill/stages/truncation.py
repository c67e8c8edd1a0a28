"""The length-matched truncation ablation: does compression beat merely having fewer tokens?

Each raw trace's reasoning keeps its beginning, cut to the length of the same trace's compressed reasoning —
in characters by default, or in tokens of a named tokenizer — and the final answer is kept.
"""

from __future__ import annotations

from compress_distill.core.trace import format_trace, split_trace, steps

BATCH = 16  # traces tokenized per call: as fast as larger batches here, without their memory (865 MB at 256)


def _cut_lengths(raw: list[str], compressed: list[str], unit: str, tokenizer: str | None) -> list[int]:
    """Per pair, how many characters of the raw reasoning to keep."""
    if unit == "chars":
        return [len(c) for c in compressed]
    if unit != "tokens":
        raise ValueError(f"truncation unit must be 'chars' or 'tokens', not {unit!r}")
    if tokenizer is None:
        raise ValueError("truncation unit 'tokens' needs a tokenizer")
    from compress_distill.models.tokens import load_tokenizer

    tok, cuts = load_tokenizer(tokenizer), []
    for start in range(0, len(raw), BATCH):
        wanted = tok(compressed[start : start + BATCH], add_special_tokens=False)["input_ids"]
        offsets = tok(raw[start : start + BATCH], add_special_tokens=False,
                      return_offsets_mapping=True)["offset_mapping"]
        cuts += [len(text) if len(n) >= len(off) else off[len(n)][0] if n else 0
                 for text, n, off in zip(raw[start : start + BATCH], wanted, offsets)]
    return cuts


def _cuts(pairs: list[tuple[str, str]], unit: str, tokenizer: str | None) -> list[int]:
    """Per (raw, compressed) trace pair, how many characters of the raw reasoning its truncation keeps."""
    raw, comp = zip(*[(split_trace(r)[0], split_trace(c)[0]) for r, c in pairs]) if pairs else ((), ())
    return _cut_lengths(list(raw), list(comp), unit, tokenizer)


def _cut(raw_text: str, n: int) -> str:
    reasoning, final = split_trace(raw_text)
    return format_trace(reasoning[:n].rstrip(), final)


def truncate_many(pairs: list[tuple[str, str]], unit: str = "chars", tokenizer: str | None = None) -> list[str]:
    """Each (raw, compressed) trace pair's truncated trace."""
    return [_cut(raw, n) for (raw, _), n in zip(pairs, _cuts(pairs, unit, tokenizer))]


def truncate(raw_text: str, compressed_text: str, unit: str = "chars", tokenizer: str | None = None) -> str:
    return truncate_many([(raw_text, compressed_text)], unit, tokenizer)[0]


def truncated_records(compressed: list[dict], unit: str, tokenizer: str | None) -> list[dict]:
    """One truncated trace per accepted compressed trace (rejected ones have no compressed length to match), with the
    steps each of the three keeps."""
    accepted = [rec for rec in compressed if rec["reject"] is None]
    cuts = _cuts([(rec["raw_text"], rec["text"]) for rec in accepted], unit, tokenizer)
    return [_record(rec, n) for rec, n in zip(accepted, cuts)]


def _record(rec: dict, n: int) -> dict:
    text = _cut(rec["raw_text"], n)
    return {"id": rec["id"], "question": rec["question"], "answer": rec["answer"], "text": text,
            "raw_chars": rec["raw_chars"], "compressed_chars": rec["chars"], "chars": len(text),
            # steps written whole in the kept prefix: a cut through a number does not keep its step
            "raw_steps": steps(rec["raw_text"]), "compressed_steps": steps(rec["text"]),
            "steps": steps(rec["raw_text"], within=n)}
