"""Fully sharded data parallelism (FSDP2) for the trainer, for students whose weights and optimiser state do not fit
one GPU (``training.distributed: fsdp``): each decoder layer and the rest of the model are sharded across the
workers ``accelerate launch`` started. The project's loss runs as the root module's forward, so FSDP gathers the
output layer's weights for the chunked cross-entropy and reduce-scatters its gradients like every other layer's.

Its checkpoints are sharded: :func:`compress_distill.training.checkpoints.save_sharded`.
"""

from __future__ import annotations

from compress_distill.training.loss import summed_loss


def _loss_module():
    import torch

    class StepLoss(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, batch):
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
