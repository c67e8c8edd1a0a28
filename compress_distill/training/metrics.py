"""What a training run reports: real training tokens (non-padding, prompt + completion, over all epochs), completion
tokens, padded tokens, FLOPs (6 · all parameters · real tokens), final loss, and — measured, machine-dependent, kept
apart by name — wall seconds, tokens/s, GPU seconds and peak memory."""

from __future__ import annotations

import resource
import sys

from compress_distill.training.batching import IGNORE


def peak_memory_bytes() -> int:
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def metrics_of(run, state, n_params: int, seconds: float) -> dict:
    """A finished run's metrics from its ``trainer.Run`` and ``trainer.LoopState``."""
    return {
        "examples": len(run.encoded),
        "examples_over_max_length": run.dropped,
        "max_example_tokens": max(len(labels) - labels.count(IGNORE) for _, labels in run.encoded),
        "packing": run.packed,
        "workers": run.workers.num_processes,
        "steps": run.total_steps,
        "parameters": n_params,
        "trainable_parameters": sum(p.numel() for p in run.params),
        "train_tokens": state.real_tokens,
        "completion_tokens": state.completion_tokens,
        "padded_tokens": state.padded_tokens,
        "train_flops": 6 * n_params * state.real_tokens,
        "final_loss": state.curve[-1]["loss"],
        # measured, machine-dependent: kept apart from the deterministic fields by name
        "measured": {"wall_seconds": seconds, "tokens_per_second": state.real_tokens / seconds,
                     "gpu_seconds": seconds * run.workers.num_processes if run.workers.device.type == "cuda" else 0.0,
                     "peak_memory_bytes": peak_memory_bytes()},
    }
