"""Evaluation: greedy generation on a held-out benchmark with a token cap above the raw traces' lengths, graded with
the dataset's verifier. Reports accuracy with a 95% bootstrap interval over items, mean output tokens, and the share
of outputs that hit the cap.

Any engine kind can run a trained student; the default is ``hf`` (:mod:`compress_distill.engines.hf`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from compress_distill.config.settings import EvaluationSettings, engine_of
from compress_distill.core.verifier import extract_answer, grade_many
from compress_distill.engines.interface import Completion, Request


def engine_spec(settings: EvaluationSettings) -> dict:
    """The evaluation engine (``hf`` unless ``evaluation.engine`` says otherwise), greedy, capped at
    ``max_new_tokens`` whatever the kind calls its cap."""
    cap = settings.max_new_tokens
    engine = engine_of({"engine": settings.engine})
    spec = {"kind": engine["kind"], "batch_size": settings.batch_size, **engine}
    return {**spec, "max_new_tokens": cap, "max_tokens": cap, "temperature": 0.0}


def servable_model(model_dir: str, scratch: str) -> str:
    """A folder any engine can load: LoRA adapters are merged into their base first (servers and vLLM load full
    models)."""
    if not (Path(model_dir) / "adapter_config.json").exists():
        return model_dir
    from compress_distill.models.student import load_student

    model, tokenizer = load_student(model_dir)
    model.save_pretrained(scratch)
    tokenizer.save_pretrained(scratch)
    return scratch


def check_cap(cap: int, longest_training_target: int) -> None:
    if cap <= longest_training_target:
        raise ValueError(f"evaluation.max_new_tokens = {cap} does not exceed the longest training target of this "
                         f"run ({longest_training_target} tokens); raise it so that long outputs are not cut")


def requests_for(items: list[dict]) -> list[Request]:
    """Benchmark prompts: the bare question as one user turn, exactly as in training."""
    return [Request(p["id"], [{"role": "user", "content": p["question"]}], seed=0) for p in items]


def output_record(item: dict, comp: Completion) -> dict:
    return {"id": item["id"], "gold": item["answer"], "text": comp.text, "finish_reason": comp.finish_reason,
            "completion_tokens": comp.completion_tokens}


def bootstrap_ci(correct: list[bool], n_resamples: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over items."""
    x = np.asarray(correct, dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def grade_outputs(records: list[dict], verifier: str, workers: int = 1) -> list[dict]:
    """Each output with its predicted answer and verdict. An output that hit the token cap is wrong whatever its
    final section says: it did not finish (``hit_cap_share`` reports how many)."""
    answers = [extract_answer(r["text"]) for r in records]
    graded = [(r, a) for r, a in zip(records, answers) if a is not None]
    verdicts = iter(grade_many(verifier, [(r["gold"], a) for r, a in graded], workers))
    return [{**r, "predicted": a, "correct": next(verdicts) and r["finish_reason"] != "length" if a is not None
             else False} for r, a in zip(records, answers)]


def summarise(graded: list[dict], cap: int, n_resamples: int, seed: int) -> dict:
    correct = [g["correct"] for g in graded]
    lo, hi = bootstrap_ci(correct, n_resamples, seed)
    return {
        "items": len(graded),
        "accuracy": float(np.mean(correct)),
        "accuracy_ci_low": lo,
        "accuracy_ci_high": hi,
        "mean_output_tokens": float(np.mean([g["completion_tokens"] for g in graded])),
        "hit_cap_share": float(np.mean([g["finish_reason"] == "length" for g in graded])),
        "no_answer_share": float(np.mean([g["predicted"] is None for g in graded])),
        "token_cap": cap,
    }
