"""Decontamination: training problems that overlap a benchmark item leave the pool, counted per benchmark.

Two checks, each configurable (``problems.decontamination``):

- **n-grams** (open-r1's decontamination, 8 words by default): texts lowercased, LaTeX markup and punctuation
  dropped, split into words; a training problem sharing any word n-gram with a benchmark item overlaps it. A text
  shorter than n words is one n-gram of its whole (open-r1 skips those; short benchmark items would then never be
  checked).
- **normalised text**: the question's words with every arithmetic expression in it parsed and written canonically —
  operands of ``+`` and ``*`` sorted, so ``(b + a) * c`` and ``c \\times (a+b)`` are one form, whatever the spacing,
  markup or multiplication sign. A training problem whose normalised text is a benchmark item's is a reformatted
  duplicate (a shared expression alone is not: "1/2" is in thousands of unrelated problems).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

LATEX_MARKUP = re.compile(r"\\(left|right|displaystyle|mathrm|text|,|;|!)|[${}]")
TIMES = re.compile(r"\\times|\\cdot|×|·")
WORD = re.compile(r"[a-z0-9]+|[-+*/^=<>()]")  # operators are words: (3 + 4) * 5 is not (3 * 4) + 5
EXPRESSION = re.compile(r"[\d(][\d\s+\-*/^().]*[\d)]")


@dataclass(frozen=True)
class Settings:
    ngram: int | None = 8  # words; None: no n-gram check
    normalised: bool = True

    @classmethod
    def of(cls, spec: dict | None) -> "Settings":
        return cls(**(spec or {}))


def _plain(text: str) -> str:
    return LATEX_MARKUP.sub(" ", TIMES.sub("*", text.lower()))


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = WORD.findall(_plain(text))
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _canonical(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return repr(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"(-{_canonical(node.operand)})"
    if isinstance(node, ast.BinOp):
        op = type(node.op).__name__
        if op in ("Add", "Mult"):  # commutative and associative: flatten the chain, sort its operands
            return f"{op}(" + ",".join(sorted(_canonical(n) for n in _chain(node, type(node.op)))) + ")"
        return f"{op}({_canonical(node.left)},{_canonical(node.right)})"
    raise ValueError("not arithmetic")


def _chain(node: ast.AST, op: type) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, op):
        return _chain(node.left, op) + _chain(node.right, op)
    return [node]


def normalised_text(text: str) -> str:
    """The words of ``text``, each arithmetic expression (with at least one operation) in canonical form."""
    def canonical(match: re.Match) -> str:
        try:
            tree = ast.parse(match.group().strip(" ."), mode="eval").body
            return f" {_canonical(tree)} " if isinstance(tree, ast.BinOp) else match.group()
        except (SyntaxError, ValueError, RecursionError):
            return match.group()

    return " ".join(WORD.findall(EXPRESSION.sub(canonical, _plain(text).replace("^", "**")).lower()))


def _key_functions(settings: Settings) -> dict:
    """Per check switched on, the keys it compares of a question (two questions overlap if they share one)."""
    checks = {"ngram": (lambda q: ngrams(q, settings.ngram)) if settings.ngram else None,
              "normalised": (lambda q: {normalised_text(q)}) if settings.normalised else None}
    return {check: keys_of for check, keys_of in checks.items() if keys_of}


def _flagged(pool: list[dict], pool_keys: dict[str, list[set]], benchmark: list[dict], settings: Settings):
    found = {}
    for check, keys_of in _key_functions(settings).items():
        held = set().union(*(keys_of(b["question"]) for b in benchmark)) if benchmark else set()
        found[check] = {p["id"] for p, keys in zip(pool, pool_keys[check]) if not held.isdisjoint(keys)}
    return found


def _pool_keys(pool: list[dict], settings: Settings) -> dict[str, list[set]]:
    """Each check's keys of every pool question, computed once for all benchmarks."""
    return {check: [keys_of(p["question"]) for p in pool] for check, keys_of in _key_functions(settings).items()}


def overlaps(pool: list[dict], benchmark: list[dict], settings: Settings) -> dict[str, set[str]]:
    """Per check (``ngram``, ``normalised``), the ids of pool problems that overlap some benchmark item."""
    return _flagged(pool, _pool_keys(pool, settings), benchmark, settings)


def decontaminate(pool: list[dict], benchmarks: dict[str, list[dict]],
                  settings: Settings) -> tuple[list[dict], dict[str, dict[str, int]]]:
    """The pool without every problem that overlaps any benchmark, and per benchmark how many problems each check
    flagged and how many left the pool because of it."""
    counts, dropped, pool_keys = {}, set(), _pool_keys(pool, settings)
    for name, items in benchmarks.items():
        found = _flagged(pool, pool_keys, items, settings)
        flagged = set().union(*found.values()) if found else set()
        counts[name] = {"items": len(items), **{f"pool_flagged_{c}": len(ids) for c, ids in found.items()},
                        "pool_removed": len(flagged)}
        dropped |= flagged
    return [p for p in pool if p["id"] not in dropped], counts
