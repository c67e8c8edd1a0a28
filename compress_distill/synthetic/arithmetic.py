"""The demo's synthetic world, its task: multi-step integer arithmetic, ``(a op1 b) op2 c`` — two operations, so
that writing the intermediate result down (reasoning) matters — and the one-step facts students pre-train on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from compress_distill.core.decontamination import normalised_text

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
