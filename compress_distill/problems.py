"""Problems: a training pool and held-out benchmarks, disjoint by construction and by check, split into shards.

The demo task is multi-step integer arithmetic, ``(a op1 b) op2 c``: two operations, so that writing the
intermediate result down (reasoning) matters.
"""

from __future__ import annotations

import random
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .io import read_jsonl

OPS = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}


@dataclass(frozen=True)
class Expression:
    a: int
    op1: str
    b: int
    op2: str
    c: int

    @property
    def text(self) -> str:
        return f"({self.a} {self.op1} {self.b}) {self.op2} {self.c}"

    @property
    def steps(self) -> list[tuple[int, str, int, int]]:
        """The two reasoning steps as (left, op, right, result)."""
        s = OPS[self.op1](self.a, self.b)
        return [(self.a, self.op1, self.b, s), (s, self.op2, self.c, OPS[self.op2](s, self.c))]

    @property
    def value(self) -> int:
        return self.steps[-1][-1]


def _operand_range(op: str, spec: dict) -> tuple[int, int]:
    return (2, spec["max_factor"]) if op == "*" else (1, spec["max_operand"])


def sample_expression(rng: random.Random, spec: dict) -> Expression:
    op1, op2 = rng.choice(spec["operations"])
    a, b = rng.randint(1, spec["max_operand"]), rng.randint(*_operand_range(op1, spec))
    if op1 == "-" and b > a:
        a, b = b, a
    return Expression(a, op1, b, op2, rng.randint(*_operand_range(op2, spec)))


def question_text(expr: Expression) -> str:
    return f"Compute {expr.text}."


def make_problem(pid: str, expr: Expression) -> dict:
    return {
        "id": pid,
        "question": question_text(expr),
        "answer": str(expr.value),
        "expression_parts": {"a": expr.a, "op1": expr.op1, "b": expr.b, "op2": expr.op2, "c": expr.c},
    }


def synthetic_arithmetic(arith: dict, sizes: dict[str, int], seed: int) -> dict[str, list[dict]]:
    """Distinct expressions (up to the order of ``+`` and ``*`` operands) from one seeded stream, dealt out to the
    named sets in order (never shared)."""
    from .decontamination import normalised_text

    rng = random.Random(seed)
    wanted = sum(sizes.values())
    seen: dict[str, Expression] = {}
    for _ in range(wanted * 50):
        expr = sample_expression(rng, arith)
        # distinct up to operand order: a benchmark item's operand-swapped twin is not a new problem
        seen.setdefault(normalised_text(expr.text), expr)
        if len(seen) == wanted:
            break
    else:
        raise ValueError(
            f"problems: only {len(seen)} distinct expressions exist for 'problems.arithmetic', but the synthetic "
            f"sets ask for {wanted}; raise max_operand/max_factor or lower the sizes"
        )
    exprs, out, start = list(seen.values()), {}, 0
    for name, size in sizes.items():
        out[name] = [make_problem(f"{name}-{i:06d}", e) for i, e in enumerate(exprs[start : start + size])]
        start += size
    return out


DROP_REASONS = ("missing_field", "not_text", "empty_question", "empty_answer", "answer_pattern_mismatch",
                "question_too_long", "duplicate_question", "duplicate_id")


def _rows(source: dict) -> list[dict]:
    if source["kind"] == "jsonl":
        return read_jsonl(source["path"])
    if source["kind"] == "parquet":
        import pandas as pd

        return pd.read_parquet(source["path"]).to_dict("records")
    if source["kind"] == "hub":
        from datasets import load_dataset  # only where a hub source is configured

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
    if source.get("max_question_chars") and len(question) > source["max_question_chars"]:
        return "question_too_long"
    return {"id": pid, "question": question, "answer": answer}


def load_records(source: dict, name: str = "pool") -> tuple[list[dict], dict[str, int]]:
    """Problems from a local JSONL or Parquet file or a Hugging Face dataset, mapped by ``source['fields']``, and
    the counts: rows read, usable, used (``size``), and dropped by reason — a missing, empty, null or non-text field,
    a question longer than ``max_question_chars``, a duplicate question or id (the first is kept)."""
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
    if not out:
        worst = max(dropped, key=dropped.get)
        raise ValueError(f"problems: none of the {len(rows)} rows of {source['path']} (config key 'problems."
                         f"{'pool' if name == 'pool' else 'benchmarks.' + name}') is usable; most were dropped as "
                         f"{worst!r} ({dropped[worst]}): check its 'fields' mapping and the file")
    used = out[: source.get("size") or len(out)]
    return used, {"rows": len(rows), "usable": len(out), "used": len(used), **dropped}


def load_all(problems_cfg: dict, seed: int) -> tuple[list[dict], dict[str, list[dict]], dict[str, dict[str, int]],
                                                     dict[str, dict[str, int]]]:
    """The training pool without the problems that overlap a benchmark (:mod:`compress_distill.decontamination`),
    every benchmark, each file source's row counts (:func:`load_records`) and, per benchmark, the overlap counts."""
    from .decontamination import Settings, decontaminate

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
    pool, overlap = decontaminate(pool, sets, Settings.of(problems_cfg.get("decontamination")))
    if before and not pool:
        raise ValueError(f"config key 'problems.decontamination': every one of the {before} pool problems overlaps a "
                         f"benchmark ({overlap}); the pool and the benchmarks share a source or a sentence template: "
                         "check their paths, or turn the n-gram check off (ngram: null) for templated problems")
    return pool, sets, counts, overlap


def normalise(question: str) -> str:
    return " ".join(question.lower().split())


def shard(records: list[dict], n_shards: int, index: int) -> list[dict]:
    """Contiguous shard ``index`` of ``n_shards``; together the shards cover every record exactly once."""
    if not 0 <= index < n_shards:
        raise ValueError(f"shard index {index} outside 0..{n_shards - 1}")
    size, extra = divmod(len(records), n_shards)
    start = index * size + min(index, extra)
    return records[start : start + size + (index < extra)]


def single_step_facts(spec: dict) -> list[tuple[int, str, int, int]]:
    """Every one-operation fact (a, op, b, result) a two-step problem of ``spec`` uses, in sorted order."""
    facts = set()
    for op1, op2 in spec["operations"]:
        lo, hi = _operand_range(op1, spec)
        firsts = set()
        for a in range(1, spec["max_operand"] + 1):
            for b in range(lo, hi + 1):
                if op1 != "-" or a >= b:
                    facts.add((a, op1, b))
                    firsts.add(OPS[op1](a, b))
        lo2, hi2 = _operand_range(op2, spec)
        facts |= {(s, op2, c) for s in firsts for c in range(lo2, hi2 + 1)}
    return [(a, op, b, OPS[op](a, b)) for a, op, b in sorted(facts)]


def pretraining_corpus(spec: dict) -> list[str]:
    """Plain one-operation arithmetic ("Compute 3 + 4. 3 + 4 = 7.") for briefly pre-training students: it teaches
    the facts and the copying that the two-step task needs, in the traces' surface form, without any two-step problem.
    """
    return [fact_line(*fact) for fact in single_step_facts(spec)]


def fact_line(a: int, op: str, b: int, result: int) -> str:
    return f"Compute {a} {op} {b}. {a} {op} {b} = {result}."
