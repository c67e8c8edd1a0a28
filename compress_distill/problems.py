"""Problems: a training pool and held-out benchmarks, disjoint by construction and by check, split into shards.

The demo task is multi-step integer arithmetic, ``(a op1 b) op2 c``: two operations, so that writing the
intermediate result down (reasoning) matters.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

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
    """Distinct expressions from one seeded stream, dealt out to the named sets in order (never shared)."""
    rng = random.Random(seed)
    wanted = sum(sizes.values())
    seen: dict[str, Expression] = {}
    for _ in range(wanted * 50):
        expr = sample_expression(rng, arith)
        seen.setdefault(expr.text, expr)
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


def load_records(source: dict) -> list[dict]:
    """Problems from a local JSONL or Parquet file or a Hugging Face dataset, mapped by ``source['fields']``."""
    fields = {"question": "question", "answer": "answer", **source.get("fields", {})}
    if source["kind"] == "jsonl":
        rows = read_jsonl(source["path"])
    elif source["kind"] == "parquet":
        import pandas as pd

        rows = pd.read_parquet(source["path"]).to_dict("records")
    elif source["kind"] == "hub":
        from datasets import load_dataset  # only where a hub source is configured

        rows = list(load_dataset(source["path"], source.get("name"), split=source["split"]))
    else:
        raise ValueError(f"problem source kind {source['kind']!r} is not jsonl, parquet or hub")
    out = []
    for i, row in enumerate(rows):
        missing = [f for f in ("question", "answer") if fields[f] not in row]
        if missing:
            raise ValueError(f"problems: row {i} of {source['path']} has no field {fields[missing[0]]!r} "
                             f"(mapped from '{missing[0]}'); fix the 'fields' mapping in config")
        pid = str(row[fields["id"]]) if "id" in fields and fields["id"] in row else f"row{i:07d}"
        answer = str(row[fields["answer"]])
        if source.get("answer_pattern"):
            match = re.search(source["answer_pattern"], answer, re.S)
            if not match:
                raise ValueError(f"problems: row {i} of {source['path']}: answer {answer[-80:]!r} does not match "
                                 f"'answer_pattern' {source['answer_pattern']!r}")
            answer = match.group(1).strip()
        out.append({"id": pid, "question": str(row[fields["question"]]), "answer": answer})
    return dedupe(out)[: source.get("size") or len(out)]


def dedupe(records: list[dict]) -> list[dict]:
    """First occurrence of each (whitespace/case-normalised) question; ids must be unique."""
    seen, out = set(), []
    for rec in records:
        key = normalise(rec["question"])
        if key not in seen:
            seen.add(key)
            out.append(rec)
    ids = [r["id"] for r in out]
    if len(set(ids)) != len(ids):
        raise ValueError("problems: ids are not unique; map a unique field to 'id' or drop the mapping")
    return out


def load_all(problems_cfg: dict, seed: int) -> tuple[list[dict], dict[str, list[dict]]]:
    """The training pool and every benchmark, checked disjoint (pool vs each benchmark)."""
    sources = {"pool": problems_cfg["pool"], **problems_cfg["benchmarks"]}
    synthetic = {n: s["size"] for n, s in sources.items() if s["kind"] == "synthetic_arithmetic"}
    if synthetic and "arithmetic" not in problems_cfg:
        raise ValueError("problems: synthetic_arithmetic sources need 'problems.arithmetic'")
    sets = synthetic_arithmetic(problems_cfg["arithmetic"], synthetic, seed) if synthetic else {}
    sets.update({n: load_records(s) for n, s in sources.items() if n not in sets})
    pool = sets.pop("pool")
    for bench in sets.values():
        check_disjoint(pool, bench)
    return pool, sets


def normalise(question: str) -> str:
    return " ".join(question.lower().split())


def check_disjoint(pool: list[dict], benchmark: list[dict]) -> None:
    """Raise if any benchmark question (whitespace/case-normalised) also appears in the training pool."""
    pool_questions = {normalise(p["question"]) for p in pool}
    leaked = [b["id"] for b in benchmark if normalise(b["question"]) in pool_questions]
    if leaked:
        raise ValueError(f"problems: {len(leaked)} benchmark items leak into the training pool, e.g. {leaked[:5]}")


def shard(records: list[dict], n_shards: int, index: int) -> list[dict]:
    """Contiguous shard ``index`` of ``n_shards``; together the shards cover every record exactly once."""
    if not 0 <= index < n_shards:
        raise ValueError(f"shard index {index} outside 0..{n_shards - 1}")
    size, extra = divmod(len(records), n_shards)
    start = index * size + min(index, extra)
    return records[start : start + size + (index < extra)]


def pretraining_corpus(spec: dict) -> list[str]:
    """Plain one-operation arithmetic ("Compute 3 + 4. 3 + 4 = 7.") for briefly pre-training students: it teaches
    the facts and the copying that the two-step task needs, in the traces' surface form, without any two-step problem.
    """
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
    return [f"Compute {a} {op} {b}. {a} {op} {b} = {OPS[op](a, b)}." for a, op, b in sorted(facts)]
