"""Training-throughput benchmark: the project's trainer step against plain transformers baselines, same run.

A student built from config (``qwen3-0.6b``: Qwen3-0.6B's shape, random init, no download; ``tiny`` for CPU tests),
documents whose lengths follow raw-like and compressed-like distributions (lognormal, as in our measurements
note), a fixed token budget per optimiser step (one micro-batch when packed; padded steps split into micro-batches of
at most that many occupied tokens, as the trainer splits them), and these ways to take that step:

- ``trainer``: the project's trainer (padding-free packed row, per-document positions, loss only over completion
  tokens through the chunked / fused cross-entropy);
- ``trainer-padded``, ``trainer-flex``: the same loss over padded rows, or packed rows with flex attention;
- ``sdpa-padded``, ``sdpa-packed`` (position_ids), ``flex-padded``: plain transformers forward with ``labels``.

Printed per (lengths, method): real tokens/s, padding share, MFU (6 · N · tokens/s over 989 TFLOP/s, N = all
parameters: H100/H200 dense bf16 peak), peak memory. Speed figures mean something only on a GPU.

    python -m compress_distill.checks.benchmark --size qwen3-0.6b --out results/benchmark   # one GPU
    python -m compress_distill.checks.benchmark --size tiny --out /tmp/bench                 # CPU, shape only
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

PEAK_FLOPS = 989e12
QWEN3_06B = {"vocab_size": 151936, "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
             "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 40960,
             "tie_word_embeddings": True}
SIZES = {
    # lengths: (mu, sigma, min, max) of a lognormal in tokens; prompt: masked tokens at the start of each document
    "qwen3-0.6b": {"arch": QWEN3_06B, "tokens_per_step": 16384, "steps": 10, "warmup": 2, "prompt": 96,
                   "lengths": {"raw": (8.0, 0.6, 256, 8192), "compressed": (6.2, 0.5, 64, 2048)}},
    "tiny": {"arch": {"vocab_size": 512, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                      "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
                      "max_position_embeddings": 1024, "tie_word_embeddings": True},
             "tokens_per_step": 1024, "steps": 2, "warmup": 1, "prompt": 6,
             "lengths": {"raw": (4.6, 0.6, 16, 512), "compressed": (2.8, 0.5, 8, 128)}},
}
METHODS = {"trainer": ("sdpa", True), "trainer-padded": ("sdpa", False), "trainer-flex": ("flex_attention", True),
           "sdpa-padded": ("sdpa", False), "sdpa-packed": ("sdpa", True), "flex-padded": ("flex_attention", False)}


def documents(lengths: tuple, prompt: int, vocab: int, tokens_per_step: int, steps: int, seed: int):
    """``steps`` lists of (ids, labels): random tokens, prompt masked, each list filling ``tokens_per_step``."""
    from compress_distill.training.batching import IGNORE

    mu, sigma, low, high = lengths
    rng = random.Random(seed)
    out = []
    for _ in range(steps):
        step, total = [], 0
        while True:
            n = int(min(high, max(low, round(math.exp(rng.gauss(mu, sigma))))))
            if step and total + n > tokens_per_step:
                break
            ids = [rng.randrange(vocab) for _ in range(n)]
            k = min(prompt, n - 1)
            step.append((ids, [IGNORE] * k + ids[k:]))
            total += n
        out.append(step)
    return out


def build(arch: dict, attention: str, device, seed: int = 0):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config = Qwen3Config(**arch, attn_implementation=attention)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    with device:  # initialised where it runs: seconds saved per method at 0.6B
        return Qwen3ForCausalLM(config).to(dtype=dtype)


def step_fn(method: str, model, pad_id: int, budget: int):
    """A function (rows) -> occupied tokens that runs the forward and backward passes of one optimiser step of
    ``method``, in micro-batches of at most ``budget`` occupied tokens (as the trainer splits a step), each loss
    weighted by its share of the step's labelled tokens."""
    from compress_distill.training import batching
    from compress_distill.training.loss import summed_loss

    packed = METHODS[method][1]

    def run(rows):
        n_labels = sum(sum(1 for t in y[1:] if t != batching.IGNORE) for _, y in rows)
        occupied = 0
        for group in batching.micro_batches(rows, budget, packed):
            mb = [rows[i] for i in group]
            batch = batching.collate_packed(mb) if packed else batching.collate(mb, pad_id)
            batch = {k: v.to(model.device) for k, v in batch.items()}
            if method.startswith("trainer"):
                loss = summed_loss(model, batch) / n_labels
            else:
                share = int((batch["labels"][:, 1:] != batching.IGNORE).sum()) / n_labels
                loss = model(**batch, use_cache=False).loss * share
            loss.backward()
            occupied += batch["input_ids"].numel()
        return occupied

    return run


def measure(method: str, size: dict, steps: list, device) -> dict:
    import torch

    model = build(size["arch"], METHODS[method][0], device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")
    run = step_fn(method, model, 0, size["tokens_per_step"])
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    real = padded = 0
    for i, rows in enumerate(steps):
        if i == size["warmup"]:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, real, padded = time.perf_counter(), 0, 0
        width = run(rows)
        opt.step(), opt.zero_grad(set_to_none=True)
        real += sum(len(ids) for ids, _ in rows)
        padded += width
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tps = real / seconds
    from compress_distill.training.trainer import peak_memory_bytes

    return {"method": method, "params": n_params, "real_tokens_per_s": tps, "padding_share": 1 - real / padded,
            "mfu": 6 * n_params * tps / PEAK_FLOPS, "peak_gb": peak_memory_bytes() / 1e9, "timed_steps": len(steps)
            - size["warmup"], "seconds": seconds}


def run(size_name: str, methods: list[str], seed: int = 0) -> list[dict]:
    import torch

    size = SIZES[size_name]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    flex = [m for m in methods if METHODS[m][0] == "flex_attention"]
    if device.type == "cpu" and flex:
        print(f"{', '.join(flex)} skipped: flex attention has no backward pass on CPU", flush=True)
        methods = [m for m in methods if m not in flex]
    rows = []
    for name, lengths in size["lengths"].items():
        steps = documents(lengths, size["prompt"], size["arch"]["vocab_size"], size["tokens_per_step"],
                          size["warmup"] + size["steps"], seed)
        for method in methods:
            try:
                result = measure(method, size, steps, device)
            except torch.OutOfMemoryError:  # a row that says so; the other methods are still measured
                result = {"method": method, "real_tokens_per_s": float("nan"), "mfu": float("nan"),
                          "error": "out of memory"}
                print(f"{name:>10} {method:>14}: out of memory", flush=True)
            else:
                print(f"{name:>10} {method:>14}: {result['real_tokens_per_s']:,.0f} tok/s, padding "
                      f"{result['padding_share']:.0%}, MFU {result['mfu']:.1%}, peak {result['peak_gb']:.1f} GB",
                      flush=True)
            rows.append({"lengths": name, **result})
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return rows


def table(rows: list[dict]):
    import pandas as pd

    df = pd.DataFrame(rows)
    for (lengths,), group in df.groupby(["lengths"]):
        fastest = group[~group["method"].str.startswith("trainer")]["real_tokens_per_s"].max()
        df.loc[group.index, "vs_fastest_baseline"] = group["real_tokens_per_s"] / fastest
    return df


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="qwen3-0.6b")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--out", type=Path, required=True, help="folder for benchmark.csv and benchmark.md")
    args = parser.parse_args(argv)
    from compress_distill.analysis.tables import write_table

    df = table(run(args.size, args.methods))
    args.out.mkdir(parents=True, exist_ok=True)
    write_table(df, args.out / "benchmark")
    print((args.out / "benchmark.md").read_text())


if __name__ == "__main__":
    main()
