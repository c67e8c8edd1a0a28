"""The torch work of the demo in miniature, through the package's own code: its `small` student's architecture,
pre-training, fine-tuning (full, and LoRA with `tiny`'s adapter) and greedy generation, a few steps each, under the
pinned numerics. Prints a JSON object of hashes (tokenizer, weights after each stage, generated tokens).
``tests/test_numerics.py`` runs it on this CPU and on an emulated one and compares.

Usage: python tests/cpu_probe.py SCRATCH_FOLDER  (the environment holds ``pins.environment("avx2")``)"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path

import yaml

from compress_distill.config import validation
from compress_distill.config.settings import TrainingSettings
from compress_distill.models import student
from compress_distill.numerics import pins
from compress_distill.synthetic import arithmetic
from compress_distill.training import trainer

DEMO = Path(__file__).resolve().parent.parent / "presets/demo.yaml"
SHORTER = {"steps": 4, "seq_len": 64, "batch_size": 4}  # pre-training: a few short steps, the demo's rates


def examples() -> list[dict]:
    """Two-step problems with a worked, checked trace."""
    rows = []
    for a, b, c in [(2, 3, 4), (7, 2, 5), (9, 9, 9), (4, 6, 3), (8, 1, 7), (3, 3, 2), (6, 5, 1), (5, 8, 6)]:
        s = a + b
        trace = f"<think>\n{a} + {b} = {s}.\nCheck: {a} + {b} = {s}.\n{s} * {c} = {s * c}.\n</think>\n"
        rows.append({"question": f"Compute ({a} + {b}) * {c}.", "completion": trace + f"\\boxed{{{s * c}}}"})
    return rows


def weights_hash(model) -> str:
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main(scratch: str) -> None:
    import torch
    from transformers import AutoTokenizer

    info = pins.pin_torch(1)
    demo = validation.validate(yaml.safe_load(DEMO.read_text()))
    small, tiny = demo["students"]["small"], demo["students"]["tiny"]
    rows = examples()
    corpus = arithmetic.pretraining_corpus(demo["problems"]["arithmetic"]) + [r["question"] + " " + r["completion"]
                                                                           for r in rows]
    student.train_tokenizer(corpus, 320, scratch)
    tokenizer = AutoTokenizer.from_pretrained(scratch)
    quiet = lambda *_: None  # noqa: E731
    model = student.build_model(small["model"], tokenizer, seed=0)
    student.pretrain(model, tokenizer, corpus, {**small["pretrain"], **SHORTER}, seed=0, log=quiet)
    hashes = {"tokenizer": hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest(),
              "pretrained": weights_hash(model)}
    hp = TrainingSettings.of({**validation.student_training(demo, "small"), "epochs": 1})
    full, *_ = trainer.train(copy.deepcopy(model), tokenizer, rows, hp, seed=0, log=quiet)
    lora, *_ = trainer.train(copy.deepcopy(model), tokenizer, rows, hp, seed=0, lora=tiny["lora"], log=quiet)
    hashes.update(full=weights_hash(full), lora=weights_hash(lora))
    full.eval()
    tokenizer.padding_side = "left"
    enc = tokenizer([r["question"] for r in rows[:4]], return_tensors="pt", padding=True)
    with torch.no_grad():
        out = full.generate(**enc, max_new_tokens=16, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    hashes["generated"] = hashlib.sha256(json.dumps(out.tolist()).encode()).hexdigest()
    print(json.dumps({"info": info, "hashes": hashes}))


if __name__ == "__main__":
    main(sys.argv[1])
