"""The model as a run trains it: LoRA adapters, attention without a mask on GPU, and the dtypes it trains in.

Weights and optimiser state stay fp32 whatever dtype a checkpoint was saved in (``student.load_base`` loads fp32;
on GPU compute runs under bf16 autocast): at a fine-tuning rate of 1e-5 most updates of a bf16 weight would round
away. The training log states the dtypes of trainable weights, frozen weights and optimiser state.
"""

from __future__ import annotations

from compress_distill.training import attention


def apply_lora(model, lora: dict):
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"], modules_to_save=lora.get("modules_to_save"), task_type="CAUSAL_LM"))


def maskless_attention(model, device, log) -> str | None:
    """On CUDA, a full-attention model attends through :mod:`compress_distill.training.attention` (no mask, no
    L×L square); returns the attention to restore before the model is saved, None where nothing changed. On CPU
    the model keeps transformers' own attention, whose bits the demo's expected results were computed with."""
    if device.type != "cuda" or not attention.enabled_for(model):
        return None
    before = attention.use(model, attention.NAME)
    log(f"attention: {attention.NAME} (packed documents as variable-length sequences, no mask) instead of {before}")
    return before


def dtypes(params, model, opt) -> str:
    """``trainable fp32, frozen bf16, optimiser state fp32``: the dtypes a run really trains with."""
    def names(tensors) -> str:
        found = sorted({str(t.dtype).removeprefix("torch.") for t in tensors})
        return "/".join(found) or "none"

    trainable = {id(p) for p in params}
    frozen = [p for p in model.parameters() if id(p) not in trainable]
    state = [v for s in opt.state.values() for v in s.values() if hasattr(v, "dtype") and v.dim() > 0]
    return f"dtypes: trainable {names(params)}, frozen {names(frozen)}, optimiser state {names(state)}"
