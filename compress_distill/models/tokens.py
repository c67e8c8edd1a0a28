"""Token counting with a named tokenizer (a local folder, a hub name, or a pinned ``<name>@<commit>``), for ratios
and length matching."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

# what transformers writes for a plain `tokenizers` tokenizer (the one the tokenizer rule trains): it then calls
# the library's own encode_batch, so the library gives the same ids without importing transformers (~6 s of CPU
# per compression job, measured)
PLAIN_BACKEND = "TokenizersBackend"


@lru_cache(maxsize=4)
def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    from compress_distill.infra import ledger
    from compress_distill.models import hub

    ledger.check(name_or_path)
    return AutoTokenizer.from_pretrained(hub.local(name_or_path))


@lru_cache(maxsize=4)
def _counter(name_or_path: str) -> Callable[[list[str]], list[int]]:
    config = Path(name_or_path) / "tokenizer_config.json"
    if config.is_file() and json.loads(config.read_text(encoding="utf-8")).get("tokenizer_class") == PLAIN_BACKEND:
        from tokenizers import Tokenizer

        from compress_distill.infra import ledger

        ledger.check(name_or_path)
        tok = Tokenizer.from_file(str(config.parent / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        return lambda texts: [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]
    tok = load_tokenizer(name_or_path)
    return lambda texts: [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]


def count_tokens(name_or_path: str, texts: list[str]) -> list[int]:
    """Tokens per text, without special tokens: as transformers' ``AutoTokenizer`` counts them."""
    return _counter(name_or_path)(texts)
