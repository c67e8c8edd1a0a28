"""Token counting with a named tokenizer (a local folder or a hub name), for ratios and length matching."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4)
def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    from . import ledger

    ledger.check(name_or_path)
    return AutoTokenizer.from_pretrained(name_or_path)


def count_tokens(name_or_path: str, texts: list[str]) -> list[int]:
    tok = load_tokenizer(name_or_path)
    return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
