"""A preset's model stages on one device, with a student built from config: the check to run on a GPU before a
long run (bf16 training, the ``hf`` engine's generation speed), since our CI machines have none.

The preset's own code paths and settings: its ``training`` block with the student's overrides and LoRA
(:func:`compress_distill.training.launch.run_job`, bf16 autocast on a GPU), then evaluation through the ``hf`` engine at
the preset's batch size, graded by the benchmark's verifier. What is not the preset's, and why: the student is
random-initialised at a named shape (``--shape``, from :data:`compress_distill.checks.benchmark.SIZES`; no hub here),
its vocabulary padded to that shape's so the output layer costs what it would; the examples are the synthetic
teacher's arithmetic traces; ``--epochs`` and ``--max-new-tokens`` keep the check to minutes (a random-weight
model never stops early, so every item generates the full cap).

    python -m compress_distill.checks.stagecheck --config presets/single-gpu.yaml --student qwen3_0.6b \\
        --shape qwen3-0.6b --out results/stagecheck            # one GPU
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

ARITH = {"operations": [["+", "*"], ["*", "+"]], "max_operand": 99, "max_factor": 99}
TEACHER = {"verbosity": 6, "self_check": 0.8, "error_rate": 0.0, "no_answer_rate": 0.0, "max_tokens": 100000}


def examples_and_items(n_examples: int, n_items: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Training examples (question, synthetic-teacher trace) and held-out benchmark items."""
    from compress_distill.engines.interface import Request
    from compress_distill.synthetic.arithmetic import synthetic_arithmetic
    from compress_distill.synthetic.teacher import SyntheticTeacher

    sets = synthetic_arithmetic(ARITH, {"pool": n_examples, "bench": n_items}, seed)
    teacher = SyntheticTeacher(TEACHER)
    requests = [Request(p["id"], [], seed + i, {"expression": p["expression_parts"]})
                for i, p in enumerate(sets["pool"])]
    traces = teacher.generate(requests)
    examples = [{"id": p["id"], "question": p["question"], "completion": c.text} for p, c in zip(sets["pool"], traces)]
    return examples, sets["bench"]


def base_model(shape: str, out: Path, corpus: list[str], seed: int) -> Path:
    """A student of ``shape`` with a tokenizer trained on ``corpus``, saved where the trainer loads a base from."""
    from transformers import AutoTokenizer

    from compress_distill.checks.benchmark import SIZES
    from compress_distill.models.student import build_model, train_tokenizer

    arch = dict(SIZES[shape]["arch"])
    vocab = arch.pop("vocab_size")
    train_tokenizer(corpus, 1024, out / "tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(out / "tokenizer")
    model = build_model({"architecture": arch}, tokenizer, seed)
    if vocab > len(tokenizer):
        model.resize_token_embeddings(vocab, mean_resizing=False)
    model.save_pretrained(out / "base")
    tokenizer.save_pretrained(out / "base")
    return out / "base"


def train(config: dict, student: str, base: Path, examples_path: Path, out: Path, epochs: int, seed: int) -> dict:
    from compress_distill.config.settings import TrainingSettings, TrainJob
    from compress_distill.config.validation import student_training
    from compress_distill.infra import io
    from compress_distill.training.launch import run_job

    block = {**student_training(config, student), "epochs": epochs}
    block.pop("checkpoint_every", None)
    job = TrainJob(base=str(base), examples=str(examples_path), hp=TrainingSettings.of(block), seed=seed,
                   model=str(out / "model"), metrics=str(out / "metrics.json"), curve=str(out / "curve.csv"),
                   lora=config["students"][student].get("lora"), gpus=int(_cuda()))
    run_job(job)
    return io.read_json(out / "metrics.json")


def evaluate(config: dict, model: Path, items: list[dict], max_new_tokens: int) -> dict:
    from compress_distill.config.settings import EvaluationSettings
    from compress_distill.engines.hf import HFEngine
    from compress_distill.stages.evaluation import grade_outputs, output_record, requests_for, summarise

    settings = EvaluationSettings.of({**config["evaluation"], "max_new_tokens": max_new_tokens})
    spec = {"kind": "hf", "batch_size": settings.batch_size, "max_new_tokens": max_new_tokens, "temperature": 0.0}
    engine = HFEngine(spec, model_path=str(model))
    requests = requests_for(items)
    engine.generate(requests[: spec["batch_size"]])  # warm-up: kernels and allocator, outside the timing
    _sync()
    start = time.perf_counter()
    completions = engine.generate(requests)
    _sync()
    seconds = time.perf_counter() - start
    records = [output_record(item, c) for item, c in zip(items, completions)]
    summary = summarise(grade_outputs(records, "numeric"), max_new_tokens, 200, 0)
    new_tokens = sum(c.completion_tokens for c in completions)
    return {**summary, "dtype": str(engine.model.dtype), "generate_seconds": seconds,
            "new_tokens_per_second": new_tokens / seconds, "batch_size": spec["batch_size"]}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main(argv=None) -> dict:
    from compress_distill.checks.benchmark import SIZES
    from compress_distill.infra import io

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the preset whose training/evaluation is checked")
    parser.add_argument("--student", required=True, help="a student of the preset (its training overrides, LoRA)")
    parser.add_argument("--shape", choices=sorted(SIZES), required=True)
    parser.add_argument("--examples", type=int, default=2048)
    parser.add_argument("--items", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    config = yaml.safe_load(args.config.read_text())
    if args.student not in config["students"]:
        raise SystemExit(f"{args.config}: no student {args.student!r} (students: {sorted(config['students'])})")
    examples, items = examples_and_items(args.examples, args.items, args.seed)
    io.write_jsonl(args.out / "examples.jsonl", examples)
    corpus = [e["question"] + "\n" + e["completion"] for e in examples[:500]]
    base = base_model(args.shape, args.out, corpus, args.seed)
    training = train(config, args.student, base, args.out / "examples.jsonl", args.out, args.epochs, args.seed)
    evaluation = evaluate(config, args.out / "model", items, args.max_new_tokens)
    import torch

    result = {"device": torch.cuda.get_device_name() if _cuda() else "cpu", "torch": torch.__version__,
              "config": str(args.config), "student": args.student, "shape": args.shape, "training": training,
              "evaluation": evaluation}
    io.write_json(args.out / "stagecheck.json", result)
    print(json.dumps(result, indent=1), flush=True)
    return result


if __name__ == "__main__":
    main()
