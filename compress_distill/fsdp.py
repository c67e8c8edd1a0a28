"""Fully sharded data parallelism (FSDP2) for the trainer, for students whose weights and optimiser state do not fit
one GPU (``training.distributed: fsdp``): each decoder layer and the rest of the model are sharded across the
workers ``accelerate launch`` started. The project's loss runs as the root module's forward, so FSDP gathers the
output layer's weights for the chunked cross-entropy and reduce-scatters its gradients like every other layer's.

Checkpoints are sharded (``torch.distributed.checkpoint``): each worker writes its shard, the first one the loop
state, and the checkpoint is published (the trainer's ``latest`` pointer) only once every worker has written.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _loss_module():
    import torch

    class StepLoss(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, batch):
            from .trainer import summed_loss

            return summed_loss(self.model, batch)

    return StepLoss


def shard(model):
    """The model wrapped for FSDP2: one parameter group per decoder layer, one for the rest."""
    from torch.distributed.fsdp import fully_shard

    root = _loss_module()(model)
    for layer in model.get_decoder().layers:
        fully_shard(layer)
    fully_shard(root)
    return root


def full_model(root):
    """The trained model, unsharded, on the first worker's CPU (None on the others; all workers must call this)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    from transformers import AutoModelForCausalLM

    state = get_model_state_dict(root.model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not state:  # cpu_offload gathers on the first worker only
        return None
    model = AutoModelForCausalLM.from_config(root.model.config)
    model.load_state_dict(state)
    return model


def save_checkpoint(folder: Path, root, opt, sched, state: dict, rank: int, fingerprint: str) -> None:
    import torch
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    from .trainer import FINGERPRINT, checkpoint_name, publish_checkpoint

    name = checkpoint_name(state["step"])
    if rank == 0:
        shutil.rmtree(folder / name, ignore_errors=True)
    dist.barrier()
    model_state, optim_state = get_state_dict(root, opt)
    dcp.save({"model": model_state, "optim": optim_state}, checkpoint_id=str(folder / name))
    if rank == 0:
        torch.save({"sched": sched.state_dict(), "torch_rng": torch.get_rng_state(), **state},
                   folder / name / "loop.pt")
        (folder / name / FINGERPRINT).write_text(fingerprint + "\n")
    dist.barrier()  # every shard is on disk before the checkpoint is published
    if rank == 0:
        publish_checkpoint(folder, name)
    dist.barrier()


def load_checkpoint(latest: Path, root, opt, sched) -> dict:
    import torch
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    model_state, optim_state = get_state_dict(root, opt)
    both = {"model": model_state, "optim": optim_state}
    dcp.load(both, checkpoint_id=str(latest))
    set_state_dict(root, opt, model_state_dict=both["model"], optim_state_dict=both["optim"])
    saved = torch.load(latest / "loop.pt", weights_only=True)
    sched.load_state_dict(saved.pop("sched"))
    torch.set_rng_state(saved.pop("torch_rng"))
    return saved
