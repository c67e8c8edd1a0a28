"""The training grid: blocks of factors (teachers × students × regimes × targets × seeds) minus exclusions."""

from __future__ import annotations

import itertools

FACTORS = ("teacher", "student", "regime", "target", "seed")


def run_key(run: dict) -> tuple:
    """A run's identity: its factors, in order."""
    return tuple(run[f] for f in FACTORS)


def run_id(run: dict) -> str:
    """The same as text (a key in JSON, e.g. the tables rule's input layout)."""
    return "/".join(str(v) for v in run_key(run))


def runs(grid: list[dict]) -> list[dict]:
    """Every training run once, in block order, each tagged with the first block that names it."""
    seen, out = set(), []
    for block in grid:
        product = itertools.product(block["teachers"], block["students"], block["regimes"], block["targets"],
                                    block.get("seeds", [0]))
        for values in product:
            run = dict(zip(FACTORS, values))
            excluded = any(all(run.get(k) == v for k, v in ex.items()) for ex in block.get("exclude", []))
            key = tuple(values)
            if not excluded and key not in seen:
                seen.add(key)
                out.append({**run, "block": block["name"]})
    return out
