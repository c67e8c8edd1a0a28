"""The training loss: summed next-token cross-entropy over completion tokens, and one worker's backward pass over
its micro-batches of a step (each weighted by the step's global completion-token count)."""

from __future__ import annotations

from compress_distill.training.batching import IGNORE


def _decoder_and_head(model):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft wraps the model
    return base.get_decoder(), base.get_output_embeddings()


def summed_loss(model, batch: dict, chunk_tokens: int = 4096, keep_logits_bytes: int = 2**26, fused: bool = True):
    """Sum of next-token cross-entropy over the labelled positions, without materialising fp32 logits for the
    whole micro-batch: only labelled positions go through the output layer, ``chunk_tokens`` at a time, each chunk
    recomputed in the backward pass when its logits would take more than ``keep_logits_bytes`` (liger-kernel's fused
    linear cross-entropy replaces this on GPU where installed, unless ``fused`` is off)."""
    import torch
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint

    decoder, head = _decoder_and_head(model)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    # no KV cache: transformers derives per-document masks from position_ids only without one
    hidden = decoder(**inputs, use_cache=False).last_hidden_state[:, :-1]
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    hidden, targets = hidden[keep], targets[keep]
    liger = _liger_loss(hidden) if fused else None
    if liger is not None:
        return liger(head.weight, hidden, targets)

    def chunk_loss(h, y):
        return F.cross_entropy(head(h).float(), y, reduction="sum")

    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, hidden.size(0), chunk_tokens):
        h, y = hidden[start : start + chunk_tokens], targets[start : start + chunk_tokens]
        small = h.size(0) * head.out_features * 4 <= keep_logits_bytes  # cheaper to keep than to recompute
        total = total + (chunk_loss(h, y) if small else checkpoint(chunk_loss, h, y, use_reentrant=False))
    return total


LIGER_CHUNK_TOKENS = 2048  # tokens per logits chunk: 2048 × 151,936 bf16 logits = 0.6 GB, ~16 chunks a 32k step


def liger_chunk_mem_const(vocab: int, hidden: int, tokens: int, chunk: int = LIGER_CHUNK_TOKENS) -> int:
    """liger-kernel's ``chunk_mem_const`` that gives chunks of about ``chunk`` tokens. Its default (1) splits a step
    into ``ceil(vocab / hidden)`` chunks: 128-token chunks for a 151,936-token vocabulary at hidden size 1,024, each
    re-reading the whole head-gradient accumulator."""
    wanted = max(1, -(-tokens // chunk))  # chunks
    return max(1, vocab // (hidden * wanted))


def _liger_loss(hidden):
    """liger-kernel's fused linear cross-entropy (sum, fp32 accumulation, chunks of about
    :data:`LIGER_CHUNK_TOKENS`) on GPU where installed, else None. Its arguments are matched by name: they moved
    between releases."""
    if not hidden.is_cuda:
        return None
    try:
        from liger_kernel.ops.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyFunction
    except ImportError:
        return None
    import inspect

    import torch

    params = inspect.signature(LigerFusedLinearCrossEntropyFunction.forward).parameters
    names = list(params)[1:]  # after ctx

    def loss(weight, h, targets):
        given = {"_input": h, "weight": weight, "target": targets, "reduction": "sum", "accum_dtype": torch.float32,
                 "chunk_mem_const": liger_chunk_mem_const(weight.shape[0], weight.shape[1], h.shape[0])}
        missing = [n for n in names if n not in given and params[n].default is inspect.Parameter.empty]
        if missing:
            raise RuntimeError(f"liger-kernel's fused linear cross-entropy now needs {missing}: update loss.py")
        out = LigerFusedLinearCrossEntropyFunction.apply(*(given.get(n, params[n].default) for n in names))
        return out[0] if isinstance(out, tuple) else out

    return loss


def backward_step(loss_of, batches: list, n_labels: int, scale: float, device):
    """Backward through this worker's (rows, weight) micro-batches; return its share of the step's mean loss."""
    import torch

    step_loss = torch.zeros((), device=device)
    for rows, weight in batches:
        loss = loss_of(rows) * weight / n_labels
        (loss * scale).backward()
        step_loss += loss.detach()
    return step_loss


class NonFiniteLoss(FloatingPointError):
    pass


def check_finite(loss: float, step: int, hp) -> None:
    """Stop at the first step whose loss is not a number: every later step would train on it (the weights are
    already damaged, so no checkpoint is written from here)."""
    import math

    if not math.isfinite(loss):
        raise NonFiniteLoss(f"training: the loss is {loss} at step {step} (training.lr {hp.lr}, warmup_ratio "
                            f"{hp.warmup_ratio}, max_grad_norm {hp.max_grad_norm}); lower training.lr, or look for "
                            "broken targets — the run's last checkpoint, if any, is from before this step")
