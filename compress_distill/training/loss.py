"""The training loss: summed next-token cross-entropy over completion tokens, and one worker's backward pass over
its micro-batches of a step (each weighted by the step's global completion-token count)."""

from __future__ import annotations

from compress_distill.training.batching import IGNORE


def _decoder_and_head(model):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft wraps the model
    return base.get_decoder(), base.get_output_embeddings()


def summed_loss(model, batch: dict, chunk_tokens: int = 4096, keep_logits_bytes: int = 2**26):
    """Sum of next-token cross-entropy over the labelled positions, without materialising fp32 logits for the
    whole micro-batch: only labelled positions go through the output layer, ``chunk_tokens`` at a time, each chunk
    recomputed in the backward pass when its logits would take more than ``keep_logits_bytes`` (liger-kernel's fused
    linear cross-entropy replaces this where installed)."""
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
    fused = _liger_loss(hidden)
    if fused is not None:
        return fused(head.weight, hidden, targets)

    def chunk_loss(h, y):
        return F.cross_entropy(head(h).float(), y, reduction="sum")

    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, hidden.size(0), chunk_tokens):
        h, y = hidden[start : start + chunk_tokens], targets[start : start + chunk_tokens]
        small = h.size(0) * head.out_features * 4 <= keep_logits_bytes  # cheaper to keep than to recompute
        total = total + (chunk_loss(h, y) if small else checkpoint(chunk_loss, h, y, use_reentrant=False))
    return total


def _liger_loss(hidden):
    """liger-kernel's fused linear cross-entropy (sum) on GPU where installed, else None."""
    if not hidden.is_cuda:
        return None
    try:
        from liger_kernel.transformers.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyLoss
    except ImportError:
        return None
    return LigerFusedLinearCrossEntropyLoss(reduction="sum")


def backward_step(loss_of, batches: list, n_labels: int, scale: float, device):
    """Backward through this worker's (rows, weight) micro-batches; return its share of the step's mean loss."""
    import torch

    step_loss = torch.zeros((), device=device)
    for rows, weight in batches:
        loss = loss_of(rows) * weight / n_labels
        (loss * scale).backward()
        step_loss += loss.detach()
    return step_loss
