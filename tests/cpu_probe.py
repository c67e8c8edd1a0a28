"""The torch work of a run in miniature, through the package's own code: pre-training, full and LoRA fine-tuning,
greedy generation, on a demo-shaped student under the pinned numerics. Prints a JSON object of hashes (weights after
each stage, generated tokens). ``tests/test_numerics.py`` runs it on this CPU and on an emulated one and compares.

Usage: python tests/cpu_probe.py SCRATCH_FOLDER  (the environment holds ``numerics.environment("avx2")``)"""

from __future__ import annotations

import copy
import hashlib
import json
import sys

from compress_distill import numerics, problems, student, trainer
from compress_distill.settings import TrainingSettings

ARITH = {"operations": [["+", "*"], ["*", "+"]], "max_operand": 9, "max_factor": 9}
ARCH = {"hidden_size": 96, "intermediate_size": 256, "num_hidden_layers": 3, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 24, "max_position_embeddings": 512, "tie_word_embeddings": True}
LORA = {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "gate_proj", "down_proj"]}
TRAINING = {"epochs": 1, "examples_per_step": 4, "lr": 0.001, "weight_decay": 0.01, "warmup_ratio": 0.05,
            "max_length": 256, "max_tokens_per_microbatch": 8192, "packing": False, "checkpoint_every": 0,
            "max_grad_norm": 1.0, "gradient_checkpointing": False, "distributed": "ddp", "bf16": False}


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

    info = numerics.pin_torch(1)
    rows = examples()
    corpus = problems.pretraining_corpus(ARITH) + [r["question"] + " " + r["completion"] for r in rows]
    student.train_tokenizer(corpus, 320, scratch)
    tokenizer = AutoTokenizer.from_pretrained(scratch)
    quiet = lambda *_: None  # noqa: E731
    model = student.build_model({"architecture": ARCH}, tokenizer, seed=0)
    student.pretrain(model, tokenizer, corpus, {"steps": 4, "lr": 0.003, "seq_len": 64, "batch_size": 4,
                                                "weight_decay": 0.01, "warmup_ratio": 0.05}, seed=0, log=quiet)
    hashes = {"tokenizer": hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest(),
              "pretrained": weights_hash(model)}
    hp = TrainingSettings.of(TRAINING)
    full, *_ = trainer.train(copy.deepcopy(model), tokenizer, rows, hp, seed=0, log=quiet)
    lora, *_ = trainer.train(copy.deepcopy(model), tokenizer, rows, hp, seed=0, lora=LORA, log=quiet)
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
