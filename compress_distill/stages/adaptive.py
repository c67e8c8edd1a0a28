"""The adaptive target (beyond the paper): compression strength fitted to the student.

Per teacher × student × regime, a pilot trains the student briefly on the same seeded subset of each compressor's
compressed target and evaluates it on the validation set (never a benchmark); a rule picks the compressor, and the
full runs train on that compressor's target. The rule: among the pilots within ``margin_points`` of the most accurate
one's validation accuracy, the one whose outputs are shortest (fewest mean output tokens; config order breaks ties)
— ``margin_points: 0`` takes the most accurate.
"""

from __future__ import annotations

from compress_distill.stages.selection import select


def pilot_examples(examples: list[dict], size: int, seed: int) -> list[dict]:
    """A pilot's training examples: ``size`` of a target's examples (all when it has fewer), chosen by id with one
    seeded permutation, so every compressor's pilot trains on the same problems."""
    keep = set(select([e["id"] for e in examples], min(size, len(examples)), seed))
    return [e for e in examples if e["id"] in keep]


def choose(pilots: dict[str, dict], margin_points: float) -> dict:
    """The choice among ``pilots`` (compressor -> its validation summary, in config order) and its evidence: each
    pilot's validation accuracy, interval, output length, and whether it was within the margin."""
    if not pilots:
        raise ValueError("the adaptive target needs at least one compressor's pilot")
    best = max(s["accuracy"] for s in pilots.values())
    floor = best - margin_points / 100
    within = [c for c, s in pilots.items() if s["accuracy"] >= floor - 1e-12]
    choice = min(within, key=lambda c: (pilots[c]["mean_output_tokens"], list(pilots).index(c)))
    return {
        "choice": choice,
        "rule": {"margin_points": margin_points, "best_accuracy": best, "accuracy_floor": floor},
        "pilots": [{"compressor": c, "items": s["items"], "accuracy": s["accuracy"],
                    "accuracy_ci_low": s["accuracy_ci_low"], "accuracy_ci_high": s["accuracy_ci_high"],
                    "mean_output_tokens": s["mean_output_tokens"], "within_margin": c in within,
                    "chosen": c == choice} for c, s in pilots.items()],
    }
