"""The GPU training path, checked on CPU: fp32 weights and optimiser state whatever a checkpoint was saved in, and
attention without a mask (packed documents as variable-length sequences, padded rows as causal rows) equal to
transformers' masked attention, with the saved model loading back with its default attention."""

from __future__ import annotations

import copy

import pytest
import torch

from compress_distill.config.settings import TrainingSettings
from compress_distill.models import student
from compress_distill.training import attention, batching, model_setup, trainer
from compress_distill.training.loss import summed_loss
from conftest import EXAMPLES

HP = {"max_length": 512, "examples_per_step": 1, "epochs": 2, "lr": 1e-3, "weight_decay": 0.0, "warmup_ratio": 0.0,
      "max_tokens_per_microbatch": 10_000, "max_grad_norm": 1.0, "packing": False}


def _train(model, tokenizer, hp=HP):
    lines = []
    trained, _, curve = trainer.train(model, tokenizer, EXAMPLES, TrainingSettings.of(hp), seed=0, log=lines.append)
    return trained, curve, lines


def test_a_bf16_saved_checkpoint_trains_in_fp32_like_its_fp32_copy(tiny_model, tiny_tokenizer, tmp_path):
    bf16 = copy.deepcopy(tiny_model).to(torch.bfloat16)
    bf16.save_pretrained(tmp_path / "bf16")
    bf16.to(torch.float32).save_pretrained(tmp_path / "fp32")  # the same values, saved in fp32
    for folder in ("bf16", "fp32"):
        tiny_tokenizer.save_pretrained(tmp_path / folder)
    from transformers import AutoModelForCausalLM

    # the trap: transformers 5 keeps a bf16 checkpoint in bf16 unless told otherwise
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "bf16").dtype == torch.bfloat16
    runs = {}
    for folder in ("bf16", "fp32"):
        model, tokenizer = student.load_base(str(tmp_path / folder))
        assert {p.dtype for p in model.parameters()} == {torch.float32}
        trained, curve, lines = _train(model, tokenizer)
        runs[folder] = [row["loss"] for row in curve]
        assert "dtypes: trainable float32, frozen none, optimiser state float32" in lines
    assert runs["bf16"] == runs["fp32"] and len(runs["bf16"]) > 3


def test_a_lora_run_states_its_frozen_and_trainable_dtypes(tiny_model, tiny_tokenizer):
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    lines = []
    trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, EXAMPLES, TrainingSettings.of(HP), seed=0, lora=lora,
                  log=lines.append)
    assert "dtypes: trainable float32, frozen float32, optimiser state float32" in lines


def _loss_and_grads(model, batch):
    model.zero_grad(set_to_none=True)
    loss = summed_loss(model, batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "padded"])
def test_attention_without_a_mask_equals_the_masked_reference(tiny_model, tiny_tokenizer, packed):
    """On a GQA model (4 query heads, 2 key/value heads), fp32."""
    assert tiny_model.config.num_key_value_heads < tiny_model.config.num_attention_heads
    rows = batching.encode_examples(tiny_tokenizer, [(e["question"], e["completion"]) for e in EXAMPLES])
    batch = batching.collate_packed(rows) if packed else batching.collate(rows, tiny_tokenizer.pad_token_id)
    if not packed:
        assert len({len(ids) for ids, _ in rows}) > 1  # real padding
    model = copy.deepcopy(tiny_model)
    reference = _loss_and_grads(model, batch)
    assert attention.use(model, attention.NAME) == "sdpa"
    maskless = _loss_and_grads(model, batch)
    torch.testing.assert_close(maskless[0], reference[0], rtol=1e-6, atol=1e-6)  # a sum over ~100 tokens: relative
    assert reference[1].keys() == maskless[1].keys()
    for name, grad in reference[1].items():
        torch.testing.assert_close(maskless[1][name], grad, rtol=1e-6, atol=1e-6, msg=name)


def test_a_packed_row_really_keeps_documents_apart_without_a_mask(tiny_model, tiny_tokenizer):
    """The control: with every position counted as one document, the same packed row gives another loss."""
    rows = batching.encode_examples(tiny_tokenizer, [(e["question"], e["completion"]) for e in EXAMPLES])
    batch = batching.collate_packed(rows)
    model = copy.deepcopy(tiny_model)
    attention.use(model, attention.NAME)
    apart = summed_loss(model, batch)
    leaking = summed_loss(model, {**batch, "position_ids": torch.arange(batch["input_ids"].shape[1])[None]})
    assert abs(float(apart) - float(leaking)) > 1e-3


def test_a_model_trained_without_a_mask_is_saved_with_its_default_attention(tiny_model, tiny_tokenizer, tmp_path,
                                                                             monkeypatch):
    """Training switches attention only for itself: the saved model loads and generates with transformers' own."""
    from compress_distill.engines.hf import HFEngine
    from compress_distill.engines.interface import Request

    switched = []

    def on_cpu_too(model, device, log):
        switched.append(attention.use(model, attention.NAME))
        return switched[-1]

    monkeypatch.setattr(model_setup, "maskless_attention", on_cpu_too)
    trained, curve, _ = _train(copy.deepcopy(tiny_model), tiny_tokenizer, {**HP, "packing": True})
    assert switched == ["sdpa"] and trained.config._attn_implementation == "sdpa"
    trained.save_pretrained(tmp_path / "model")
    tiny_tokenizer.save_pretrained(tmp_path / "model")
    loaded, _ = student.load_student(tmp_path / "model")
    assert loaded.config._attn_implementation == "sdpa"
    engine = HFEngine({"kind": "hf", "max_new_tokens": 6, "batch_size": 2}, model_path=str(tmp_path / "model"))
    out = engine.generate([Request("a", [{"role": "user", "content": "Compute 2 + 3."}], 0)])
    assert out[0].id == "a" and out[0].completion_tokens and out[0].completion_tokens <= 6


def test_document_starts_follow_the_positions():
    positions = torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3]])
    assert attention.document_starts(positions) == [[0, 3, 5, 9]]
    assert attention.document_starts(torch.arange(4)[None].repeat(2, 1)) == [[0, 4], [0, 4]]


@pytest.mark.parametrize("tokens", [4096, 16384, 32768, 65536])
def test_the_fused_loss_chunks_a_large_vocabulary_in_about_2048_tokens(tokens):
    """liger-kernel's own chunk rule (``next_pow2(ceil(BT / ceil(V / (chunk_mem_const · H))))``) with our
    ``chunk_mem_const``, for Qwen3-0.6B's head: ~2k-token chunks instead of its default 128."""
    from compress_distill.training.loss import LIGER_CHUNK_TOKENS, liger_chunk_mem_const

    vocab, hidden = 151936, 1024

    def liger_chunk(const):
        inc = -(-vocab // (const * hidden))
        return min(1 << (-(-tokens // inc) - 1).bit_length(), tokens)

    assert liger_chunk(1) <= 512  # the default: hundreds of tiny chunks
    assert LIGER_CHUNK_TOKENS / 2 <= liger_chunk(liger_chunk_mem_const(vocab, hidden, tokens)) <= LIGER_CHUNK_TOKENS * 2
