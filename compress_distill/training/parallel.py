"""Data parallelism: this process's place among the workers ``accelerate launch`` started, and the gradient sum
across them (whole replicas; ``fsdp`` shards instead)."""

from __future__ import annotations


def data_parallel():
    """This process's place among the workers ``accelerate launch`` started (one process otherwise)."""
    import torch
    from accelerate import PartialState

    # without cpu=True accelerate does not see CPU workers (gloo) as distributed
    return PartialState(cpu=not torch.cuda.is_available())


def all_reduce_grads(params) -> None:
    """Sum gradients over the workers, one flat buffer per step. Each worker's loss is already divided by the
    step's global completion-token count, so the sum is exactly the single-process gradient."""
    import torch
    import torch.distributed as dist

    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    offset = 0
    for p, g in zip(params, grads):
        p.grad = flat[offset : offset + g.numel()].view_as(g)
        offset += g.numel()
