"""Attention for training without a mask: packed rows as variable-length documents, padded rows as causal rows.

transformers turns a packed row's restarting ``position_ids`` into a ``(1, 1, L, L)`` block-diagonal mask, and sdpa
with an explicit mask takes no flash kernel, computes the whole L×L square and copies K/V heads. Registered under
:data:`NAME` (a name outside transformers' mask registry, so the model builds no mask at all), this function instead
splits each row into its documents by ``position_ids`` and attends causally within each: on CUDA one
``torch.nn.attention.varlen.varlen_attn`` call over the whole batch (FlashAttention-2 varlen, GQA without copying
heads where the installed torch allows); elsewhere an exact per-document sdpa loop (tested equal to the masked
reference). A right-padded row is one document: its real tokens never see the padding after them, whose outputs the
loss ignores. Only for full-attention models (a linear-attention layer carries state across documents).
"""

from __future__ import annotations

import inspect
from functools import lru_cache

NAME = "compress_distill_varlen"


def register() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, varlen_attention)


def document_starts(position_ids) -> list[list[int]]:
    """Per row, where each document starts (its position 0), plus the row's end."""
    width = position_ids.shape[-1]
    return [[*(i for i, p in enumerate(row) if p == 0 or i == 0), width] for row in position_ids.tolist()]


def varlen_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, position_ids=None,
                     **kwargs):
    """``(batch, heads, length, dim)`` in, ``(batch, length, heads, dim)`` out, as transformers' attention
    functions; ``attention_mask`` is None (no mask is built for this name)."""
    if dropout or getattr(module, "sliding_window", None):
        raise NotImplementedError(f"{NAME}: attention dropout and sliding windows are not supported")
    batch, _, length, _ = query.shape
    starts = document_starts(position_ids) if position_ids is not None else [[0, length]]
    if len(starts) == 1 and batch > 1:  # positions shared by every row (transformers' default for padded rows)
        starts = starts * batch
    if query.is_cuda and _varlen() is not None:
        out = _flash_varlen(query, key, value, starts, scaling)
    else:
        out = _per_document(query, key, value, starts, scaling)
    return out.transpose(1, 2).contiguous(), None


def _per_document(query, key, value, starts, scaling):
    import torch
    import torch.nn.functional as F

    if all(len(s) == 2 for s in starts):  # one document a row: one causal call, no mask
        return F.scaled_dot_product_attention(query, key, value, is_causal=True, scale=scaling, enable_gqa=True)
    rows = []
    for b, bounds in enumerate(starts):
        rows.append(torch.cat([
            F.scaled_dot_product_attention(query[b:b + 1, :, s:e], key[b:b + 1, :, s:e], value[b:b + 1, :, s:e],
                                           is_causal=True, scale=scaling, enable_gqa=True)
            for s, e in zip(bounds, bounds[1:])], dim=2))
    return torch.cat(rows)


@lru_cache(maxsize=1)
def _varlen():
    """torch's varlen attention and its keyword names (probed once, not in every layer's call), or None."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    return varlen_attn, frozenset(inspect.signature(varlen_attn).parameters)


def _flash_varlen(query, key, value, starts, scaling):
    """One varlen call over every document of the batch; its keyword for causality and GQA differ across torch
    releases (2.10 ``is_causal``, later ``window_size=(-1, 0)``; ``enable_gqa`` from 2.12), so they are probed."""
    import torch

    varlen_attn, params = _varlen()
    batch, heads, length, dim = query.shape
    kv_heads = key.shape[1]
    cuts = [b * length + s for b, bounds in enumerate(starts) for s in bounds[:-1]] + [batch * length]
    cu = torch.tensor(cuts, dtype=torch.int32, device=query.device)
    longest = max(e - s for bounds in starts for s, e in zip(bounds, bounds[1:]))
    causal = {"window_size": (-1, 0)} if "window_size" in params else {"is_causal": True}
    if kv_heads != heads and "enable_gqa" not in params:
        key, value = (t.repeat_interleave(heads // kv_heads, dim=1) for t in (key, value))
    gqa = {"enable_gqa": True} if kv_heads != heads and "enable_gqa" in params else {}

    def flat(t):
        return t.transpose(1, 2).reshape(batch * length, t.shape[1], dim)

    out = varlen_attn(flat(query), flat(key), flat(value), cu, cu, longest, longest, scale=scaling, **causal, **gqa)
    return out.reshape(batch, length, heads, dim).transpose(1, 2)


def enabled_for(model) -> bool:
    """Whether every attention layer of ``model`` is full attention (packing then needs no mask)."""
    config = getattr(model.config, "text_config", model.config)
    return all(t == "full_attention" for t in (getattr(config, "layer_types", None) or ["full_attention"]))


def use(model, name: str) -> str:
    """Switch ``model`` (a transformers model, or peft around one) to attention ``name``; the previous name."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    before = base.config._attn_implementation
    if name == NAME:
        register()
    base.set_attn_implementation(name)
    return before
