"""Training-throughput benchmark: the project's trainer step against plain transformers, one run, same batches.

A student built from config (``qwen3-0.6b``: Qwen3-0.6B's shape, random init, no download; ``tiny`` for CPU tests),
documents whose lengths follow raw-like and compressed-like distributions (lognormal, as in our measurements note), a
fixed token budget per optimiser step, and every method in the trainer's own precision: fp32 weights and AdamW state,
bf16 autocast on GPU. The methods (:data:`METHODS`):

- ``plain-padded``, ``plain-packed``: plain transformers forward with ``labels`` (packed: restarting ``position_ids``,
  from which transformers builds a block-diagonal mask); on running out of memory a plain method halves its
  micro-batch until it fits, and its row says the budget it ran at;
- ``trainer-masked``: the trainer as it was (packed row, transformers' masked sdpa, chunked loss), the reference;
- ``trainer-varlen``: + attention without a mask (:mod:`compress_distill.training.attention`);
- ``trainer-varlen-fused-loss``: + liger-kernel's fused linear cross-entropy (GPU only);
- ``trainer-varlen-fused-all``: + liger-kernel's RMSNorm, RoPE and SwiGLU kernels (GPU only; last, since its RoPE
  patch replaces a module function for the whole process).

Per (lengths, method): real tokens/s, MFU (6·N·tokens/s, N = all parameters) and MFU counting causal attention
FLOPs, over :data:`PEAK_FLOPS`; peak memory; the first step's loss and gradient norm relative to the reference
(every method starts from the same weights and sees the same first step); speed-ups over the reference and over
the fastest plain method. A method that fails gets a row saying how, and the run goes on.

    python -m compress_distill.checks.benchmark --size qwen3-0.6b --out results/benchmark   # one GPU
    python -m compress_distill.checks.benchmark --size tiny --out /tmp/bench                 # CPU, equality only
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

PEAK_FLOPS = 989e12  # H100/H200 dense bf16
QWEN3_06B = {"vocab_size": 151936, "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
             "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 40960,
             "tie_word_embeddings": True}
SIZES = {
    # lengths: (mu, sigma, min, max) of a lognormal in tokens; prompt: masked tokens at the start of each document
    "qwen3-0.6b": {"arch": QWEN3_06B, "tokens_per_step": 16384, "steps": 8, "warmup": 2, "prompt": 96,
                   "lengths": {"raw": (8.0, 0.6, 256, 8192), "compressed": (6.2, 0.5, 64, 2048)}},
    "tiny": {"arch": {"vocab_size": 512, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                      "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
                      "max_position_embeddings": 1024, "tie_word_embeddings": True},
             "tokens_per_step": 1024, "steps": 2, "warmup": 1, "prompt": 6,
             "lengths": {"raw": (4.6, 0.6, 16, 512), "compressed": (2.8, 0.5, 8, 128)}},
}
REFERENCE = "trainer-masked"
# method: (packed, trainer loss, attention without a mask, fused loss, fused elementwise)
METHODS = {"plain-padded": (False, False, False, False, False), "plain-packed": (True, False, False, False, False),
           REFERENCE: (True, True, False, False, False), "trainer-varlen": (True, True, True, False, False),
           "trainer-varlen-fused-loss": (True, True, True, True, False),
           "trainer-varlen-fused-all": (True, True, True, True, True)}


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


def attention_flops(arch: dict, rows) -> float:
    """Causal attention FLOPs of one step, forward and backward (QKᵀ and PV over each document's lower triangle)."""
    per_token_pair = 12 * arch["num_hidden_layers"] * arch["num_attention_heads"] * arch["head_dim"]
    return sum(per_token_pair * len(ids) ** 2 / 2 for ids, _ in rows)


def build(method: str, arch: dict, device, seed: int = 0):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from compress_distill.training import attention

    _, _, maskless, _, elementwise = METHODS[method]
    torch.manual_seed(seed)
    with device:  # initialised where it runs (seconds saved at 0.6B), fp32 as the trainer keeps it
        model = Qwen3ForCausalLM(Qwen3Config(**arch, attn_implementation="sdpa"))
    if maskless:
        attention.use(model, attention.NAME)
    if elementwise:
        _fuse_elementwise(model)
    return model


def _fuse_elementwise(model) -> None:
    if model.device.type != "cuda":
        raise RuntimeError("liger-kernel's elementwise kernels: needs CUDA")
    from liger_kernel.transformers import apply_liger_kernel_to_qwen3

    apply_liger_kernel_to_qwen3(rope=True, rms_norm=True, swiglu=True, cross_entropy=False,
                                fused_linear_cross_entropy=False, model=model)


def step_fn(method: str, model, budget: int):
    """A function (rows) -> (occupied tokens, loss) running the forward and backward passes of one optimiser step of
    ``method`` in micro-batches of at most ``budget`` occupied tokens, each weighted by its share of the labels."""
    import torch

    from compress_distill.training import batching
    from compress_distill.training.loss import summed_loss

    packed, trainer_loss, _, fused_loss, _ = METHODS[method]
    if fused_loss and model.device.type != "cuda":
        raise RuntimeError("liger-kernel's fused loss: needs CUDA")

    def run(rows):
        n_labels = sum(sum(1 for t in y[1:] if t != batching.IGNORE) for _, y in rows)
        occupied, total = 0, 0.0
        for group in batching.micro_batches(rows, budget, packed):
            mb = [rows[i] for i in group]
            batch = batching.collate_packed(mb) if packed else batching.collate(mb, 0)
            batch = {k: v.to(model.device) for k, v in batch.items()}
            with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=model.device.type == "cuda"):
                if trainer_loss:
                    loss = summed_loss(model, batch, fused=fused_loss) / n_labels
                else:
                    share = int((batch["labels"][:, 1:] != batching.IGNORE).sum()) / n_labels
                    loss = model(**batch, use_cache=False).loss * share
            loss.backward()
            occupied, total = occupied + batch["input_ids"].numel(), total + float(loss.detach())
        return occupied, total

    return run


def measure(method: str, size: dict, steps: list, device, budget: int) -> dict:
    import torch

    from compress_distill.training.metrics import peak_memory_bytes

    model = build(method, size["arch"], device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    run = step_fn(method, model, budget)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    real = padded = attn = 0
    for i, rows in enumerate(steps):
        if i == size["warmup"]:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, real, padded, attn = time.perf_counter(), 0, 0, 0
        width, loss = run(rows)
        if i == 0:
            first = {"first_loss": loss, "first_grad_norm": float(torch.nn.utils.get_total_norm(
                [p.grad for p in model.parameters() if p.grad is not None]))}
        opt.step(), opt.zero_grad(set_to_none=True)
        real, padded = real + sum(len(ids) for ids, _ in rows), padded + width
        attn += attention_flops(size["arch"], rows)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tps = real / seconds
    return {"method": method, "budget": budget, "real_tokens_per_s": tps, "padding_share": 1 - real / padded,
            "mfu": 6 * n_params * tps / PEAK_FLOPS, "mfu_with_attention": (6 * n_params * real + attn) / seconds
            / PEAK_FLOPS, "peak_gb": peak_memory_bytes() / 1e9, **first}


def attempt(method: str, size: dict, steps: list, device) -> dict:
    """One method's row: measured, or what stopped it. A plain method that runs out of memory retries at half its
    micro-batch, down to a sixteenth."""
    import torch

    budget = size["tokens_per_step"]
    while True:
        try:
            return measure(method, size, steps, device, budget)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            if METHODS[method][1] or budget <= size["tokens_per_step"] // 16:
                return {"method": method, "budget": budget, "error": "out of memory"}
            budget //= 2
        except Exception as err:  # noqa: BLE001 - a row says how a method failed; the others still run
            return {"method": method, "budget": budget, "error": f"{type(err).__name__}: {err}"[:200]}


def run(size_name: str, methods: list[str], seed: int = 0) -> list[dict]:
    import torch

    size = SIZES[size_name]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    methods = sorted(methods, key=list(METHODS).index)  # fused elementwise last: it patches the process
    rows = []
    for name, lengths in size["lengths"].items():
        steps = documents(lengths, size["prompt"], size["arch"]["vocab_size"], size["tokens_per_step"],
                          size["warmup"] + size["steps"], seed)
        for method in methods:
            row = {"lengths": name, **attempt(method, size, steps, device)}
            print(f"{name:>10} {method:>26}: " + (row["error"] if "error" in row else
                  f"{row['real_tokens_per_s']:,.0f} tok/s, MFU {row['mfu']:.1%} ({row['mfu_with_attention']:.1%} "
                  f"with attention), peak {row['peak_gb']:.1f} GB, first loss {row['first_loss']:.6f}"), flush=True)
            rows.append(row)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return rows


def table(rows: list[dict]):
    import pandas as pd

    df = pd.DataFrame(rows)
    for column in ("real_tokens_per_s", "first_loss", "first_grad_norm"):
        if column not in df:
            df[column] = float("nan")
    for _, group in df.groupby("lengths"):
        ref = group[group["method"] == REFERENCE]
        plain = group[group["method"].str.startswith("plain")]["real_tokens_per_s"].max()
        for column in ("first_loss", "first_grad_norm"):
            base = ref[column].iloc[0] if len(ref) else float("nan")
            df.loc[group.index, f"{column}_vs_reference"] = group[column] / base - 1
        speed = ref["real_tokens_per_s"].iloc[0] if len(ref) else float("nan")
        df.loc[group.index, "speedup_vs_reference"] = group["real_tokens_per_s"] / speed
        df.loc[group.index, "speedup_vs_fastest_plain"] = group["real_tokens_per_s"] / plain
    return df


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="qwen3-0.6b")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--out", type=Path, required=True, help="folder for benchmark.csv and benchmark.md")
    args = parser.parse_args(argv)
    from compress_distill.analysis.table_files import write_table

    df = table(run(args.size, args.methods))
    args.out.mkdir(parents=True, exist_ok=True)
    write_table(df, args.out / "benchmark")
    print((args.out / "benchmark.md").read_text())


if __name__ == "__main__":
    main()
