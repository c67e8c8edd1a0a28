"""Problems: a training pool, a validation set held out of it and held-out benchmarks, disjoint by construction and
by check, the pool split into shards. The demo's pool and benchmark are :mod:`compress_distill.synthetic.arithmetic`'s.
"""

from __future__ import annotations

import random
import re
import tempfile
from pathlib import Path

from compress_distill.core.verifier import gradeable
from compress_distill.infra.io import read_jsonl
from compress_distill.synthetic.arithmetic import synthetic_arithmetic

DROP_REASONS = ("missing_field", "not_text", "empty_question", "empty_answer", "answer_pattern_mismatch",
                "ungradeable_answer", "question_too_long", "duplicate_question", "duplicate_id")


def _rows(source: dict) -> list[dict]:
    if source["kind"] == "jsonl":
        return read_jsonl(source["path"])
    if source["kind"] == "parquet":
        import pandas as pd

        return pd.read_parquet(source["path"]).to_dict("records")
    if source["kind"] == "hub":
        from datasets import load_dataset  # only where a hub source is configured

        from compress_distill.models import hub

        if source.get("revision"):  # pinned: its commit's snapshot, read as a local folder in the hub's layout
            source = {**source, "path": hub.local(source["path"], "dataset", source["revision"])}
        if not Path(source["path"]).is_dir():
            return list(load_dataset(source["path"], source.get("name"), split=source["split"]))
        # a local folder is read through a throwaway cache: the datasets cache keys it by path, and would serve
        # edited files stale
        with tempfile.TemporaryDirectory() as cache:
            return list(load_dataset(source["path"], source.get("name"), split=source["split"], cache_dir=cache))
    raise ValueError(f"problem source kind {source['kind']!r} is not jsonl, parquet or hub")


def _blank(value) -> bool:
    """null (JSON null, a missing Parquet cell) or whitespace only."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, float) and value != value)


def _text(value) -> str | None:
    """A field as text: strings as they are, integers and floats written plainly; None for anything else (bytes,
    lists, booleans), which would otherwise become their Python repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _problem(row, fields: dict, source: dict, index: int) -> dict | str:
    """The problem a row holds, or the reason it is dropped (one of DROP_REASONS)."""
    if not isinstance(row, dict) or any(f not in row for f in fields.values()):
        return "missing_field"
    q, a = row[fields["question"]], row[fields["answer"]]
    if _blank(q):
        return "empty_question"
    if _blank(a):
        return "empty_answer"
    question, answer = (q if isinstance(q, str) else None), _text(a)
    pid = _text(row[fields["id"]]) if "id" in fields else f"row{index:07d}"
    if question is None or answer is None or pid is None:
        return "not_text"
    if source.get("answer_pattern"):
        match = re.search(source["answer_pattern"], answer, re.S)
        if not match:
            return "answer_pattern_mismatch"
        answer = match.group(1).strip()
    if not gradeable(source.get("verifier"), answer):  # no output could ever be graded right
        return "ungradeable_answer"
    if source.get("max_question_chars") and len(question) > source["max_question_chars"]:
        return "question_too_long"
    return {"id": pid, "question": question, "answer": answer}


def load_records(source: dict, name: str = "pool") -> tuple[list[dict], dict[str, int]]:
    """Problems from a local JSONL or Parquet file or a Hugging Face dataset, mapped by ``source['fields']``, and
    the counts: rows read, usable, used (``size``), and dropped by reason — a missing, empty, null or non-text field,
    an answer the source's verifier cannot grade, a question longer than ``max_question_chars``, a duplicate question
    or id (the first is kept)."""
    fields = {"question": "question", "answer": "answer", **source.get("fields", {})}
    rows = _rows(source)
    dropped = dict.fromkeys(DROP_REASONS, 0)
    out, questions, ids = [], set(), set()
    for i, row in enumerate(rows):
        problem = _problem(row, fields, source, i)
        if isinstance(problem, dict):
            key = normalise(problem["question"])
            problem = ("duplicate_question" if key in questions else
                       "duplicate_id" if problem["id"] in ids else problem)
        if isinstance(problem, str):
            dropped[problem] += 1
            continue
        questions.add(key)
        ids.add(problem["id"])
        out.append(problem)
    where = f"{source['path']} (config key 'problems.{'pool' if name == 'pool' else 'benchmarks.' + name}')"
    if not rows:
        raise ValueError(f"problems: {where} has no rows")
    if not out:
        worst = max(dropped, key=dropped.get)
        raise ValueError(f"problems: none of the {len(rows)} rows of {where} is usable; most were dropped as "
                         f"{worst!r} ({dropped[worst]}): check its 'fields' mapping and the file")
    used = out[: source.get("size") or len(out)]
    return used, {"rows": len(rows), "usable": len(out), "used": len(used), **dropped}


def load_all(problems_cfg: dict, seed: int) -> tuple[list[dict], list[dict], dict[str, list[dict]],
                                                     dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """The training pool without the problems that overlap a benchmark (:mod:`compress_distill.core.decontamination`)
    or the validation set held out of it (:func:`hold_out`), the validation set, every benchmark, each file source's
    row counts (:func:`load_records`) and, per benchmark and for validation, the overlap counts."""
    from compress_distill.core.decontamination import Settings, decontaminate

    sources = {"pool": problems_cfg["pool"], **problems_cfg["benchmarks"]}
    synthetic = {n: s["size"] for n, s in sources.items() if s["kind"] == "synthetic_arithmetic"}
    if synthetic and "arithmetic" not in problems_cfg:
        raise ValueError("problems: synthetic_arithmetic sources need 'problems.arithmetic'")
    sets = synthetic_arithmetic(problems_cfg["arithmetic"], synthetic, seed) if synthetic else {}
    counts = {}
    for name, source in sources.items():
        if name not in sets:
            sets[name], counts[name] = load_records(source, name)
    pool = sets.pop("pool")
    before = len(pool)
    settings = Settings.of(problems_cfg.get("decontamination"))
    pool, overlap = decontaminate(pool, sets, settings)
    if before and not pool:
        raise ValueError(f"config key 'problems.decontamination': every one of the {before} pool problems overlaps a "
                         f"benchmark ({overlap}); the pool and the benchmarks share a source or a sentence template: "
                         "check their paths, or turn the n-gram check off (ngram: null) for templated problems")
    validation, pool = hold_out(pool, problems_cfg["validation"]["size"], seed)
    if validation:  # a near-duplicate of a validation problem left in the pool would let a pilot see its answer
        pool, held = decontaminate(pool, {"validation": validation}, settings)
        overlap.update(held)
    return pool, validation, sets, counts, overlap


def hold_out(pool: list[dict], size: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(validation, the rest): ``size`` problems drawn from the decontaminated pool by a seeded permutation, each
    part in pool order; teachers never see the validation problems."""
    if size >= len(pool):
        raise ValueError(f"config key 'problems.validation.size': {size} validation problems leave none of the "
                         f"{len(pool)} pool problems for training; lower it or enlarge the pool")
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    held = set(order[:size])
    return [p for i, p in enumerate(pool) if i in held], [p for i, p in enumerate(pool) if i not in held]


def normalise(question: str) -> str:
    return " ".join(question.lower().split())


def shard(records: list[dict], n_shards: int, index: int) -> list[dict]:
    """Contiguous shard ``index`` of ``n_shards``; together the shards cover every record exactly once."""
    if not 0 <= index < n_shards:
        raise ValueError(f"shard index {index} outside 0..{n_shards - 1}")
    size, extra = divmod(len(records), n_shards)
    start = index * size + min(index, extra)
    return records[start : start + size + (index < extra)]
