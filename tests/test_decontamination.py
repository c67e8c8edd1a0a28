"""Training problems overlapping a benchmark leave the pool, counted: near-duplicates by word n-grams, reformatted
duplicates by normalised text; the demo's generator deals no operand-swapped twins, and the check proves it."""

from __future__ import annotations

import pytest
import yaml

from compress_distill.core import decontamination
from compress_distill.core.decontamination import Settings
from compress_distill.stages import problems
from compress_distill.synthetic import arithmetic
from conftest import ROOT

BENCHMARK = [
    {"id": "b1", "question": "Let f be a function such that f(x + y) = f(x) + f(y) for all real numbers x and y. "
                             "Find f(0)."},
    {"id": "b2", "question": "Compute $(17 + 4) \\times 9$."},
]


def test_a_planted_near_duplicate_and_a_planted_reformatted_duplicate_are_removed_and_counted():
    pool = [
        {"id": "near", "question": "Suppose that f(x + y) = f(x) + f(y) for all real numbers x and y; what is "
                                   "f(0)?"},  # reworded, sharing an 8-word run
        {"id": "reformatted", "question": "compute 9*(4+17)."},  # operands swapped, plain text, another case
        {"id": "unrelated", "question": "Compute (17 * 4) + 9."},  # the same numbers, other operations
        {"id": "shares_words", "question": "Find f(0) for a function f."},
    ]
    kept, counts = decontamination.decontaminate(pool, {"bench": BENCHMARK}, Settings())
    assert [p["id"] for p in kept] == ["unrelated", "shares_words"]
    assert counts["bench"] == {"items": 2, "pool_flagged_ngram": 1, "pool_flagged_normalised": 1, "pool_removed": 2}
    found = decontamination.overlaps(pool, BENCHMARK, Settings())
    assert found == {"ngram": {"near"}, "normalised": {"reformatted"}}
    # each check can be switched off, and then misses what only it catches
    assert decontamination.overlaps(pool, BENCHMARK, Settings(ngram=None)) == {"normalised": {"reformatted"}}
    assert decontamination.overlaps(pool, BENCHMARK, Settings(normalised=False)) == {"ngram": {"near"}}


def test_the_demo_generator_deals_no_operand_swapped_twins_and_the_check_proves_it():
    demo = yaml.safe_load((ROOT / "presets/demo.yaml").read_text())["problems"]
    sets = arithmetic.synthetic_arithmetic(demo["arithmetic"], {"pool": demo["pool"]["size"],
                                                              "arith": demo["benchmarks"]["arith"]["size"]}, 0)
    assert decontamination.overlaps(sets["pool"], sets["arith"], Settings()) == {"ngram": set(), "normalised": set()}
    # a twin of a benchmark item, planted, is caught
    parts = next(b["expression_parts"] for b in sets["arith"] if b["expression_parts"]["a"] !=
                 b["expression_parts"]["b"] and b["expression_parts"]["op1"] in "+*")
    twin = arithmetic.Expression(parts["b"], parts["op1"], parts["a"], parts["op2"], parts["c"])
    planted = [*sets["pool"], arithmetic.make_problem("twin", twin)]
    assert decontamination.overlaps(planted, sets["arith"], Settings())["normalised"] == {"twin"}


def test_a_pool_that_decontamination_would_empty_is_a_clear_error():
    templated = {"kind": "synthetic_arithmetic", "size": 1, "verifier": "numeric"}
    cfg = {"arithmetic": {"operations": [["+", "*"]], "max_operand": 9, "max_factor": 9},
           "pool": templated, "benchmarks": {"b": templated}, "shards": 1, "decontamination": {"ngram": 1},
           "validation": {"size": 0}}
    with pytest.raises(ValueError, match=r"'problems.decontamination': every one of the 1 pool problems"):
        problems.load_all(cfg, 0)  # one shared word ("compute") is a 1-gram overlap
    assert len(problems.load_all({**cfg, "decontamination": {"ngram": 8}}, 0)[0]) == 1


def test_validation_is_held_out_of_the_pool_disjoint_from_it_and_the_benchmarks_and_decontaminated():
    demo = yaml.safe_load((ROOT / "presets/demo.yaml").read_text())["problems"]
    pool, validation, benches, _, overlap = problems.load_all(demo, 0)
    assert len(validation) == demo["validation"]["size"] and overlap["validation"]["items"] == len(validation)
    ids = [{p["id"] for p in s} for s in (pool, validation, *benches.values())]
    questions = [{p["question"] for p in s} for s in (pool, validation, *benches.values())]
    for sets in (ids, questions):
        assert sum(map(len, sets)) == len(set().union(*sets))  # pairwise disjoint
    for held in (validation, *benches.values()):
        assert decontamination.overlaps(pool, held, Settings()) == {"ngram": set(), "normalised": set()}
    assert problems.load_all(demo, 0)[1] == validation and problems.load_all(demo, 1)[1] != validation  # seeded
    # a pool problem that is a validation problem reformatted leaves the pool, counted
    twin = {**validation[0], "id": "twin", "question": validation[0]["question"].replace(" ", "  ")}
    kept, counts = decontamination.decontaminate([*pool, twin], {"validation": validation}, Settings())
    assert "twin" not in {p["id"] for p in kept} and counts["validation"]["pool_removed"] == 1
    with pytest.raises(ValueError, match=r"'problems.validation.size': 5 validation problems leave none of the 5"):
        problems.hold_out(pool[:5], 5, 0)
