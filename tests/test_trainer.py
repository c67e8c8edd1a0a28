"""The trainer: completion-only loss, end-of-turn trained, loss independent of how a step is split."""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest
import torch

from compress_distill.config.settings import TrainingSettings
from compress_distill.stages import evaluation
from compress_distill.training import batching, checkpoints, trainer
from compress_distill.training.loss import summed_loss
from conftest import EXAMPLES

PAIRS = [(e["question"], e["completion"]) for e in EXAMPLES]


def test_prompt_is_masked_and_end_of_turn_is_trained(tiny_tokenizer):
    (ids, labels), = batching.encode_examples(tiny_tokenizer, PAIRS[:1])
    trained = [t for t in labels if t != batching.IGNORE]
    assert trained[-1] == tiny_tokenizer.eos_token_id
    assert tiny_tokenizer.decode(trained[:-1]) == EXAMPLES[0]["completion"]
    first = labels.index(trained[0])
    assert all(t == batching.IGNORE for t in labels[:first]) and first > 0


def test_examples_over_max_length_are_dropped_whole_and_counted(tiny_tokenizer):
    encoded = batching.encode_examples(tiny_tokenizer, PAIRS)
    lengths = sorted(len(ids) for ids, _ in encoded)
    fits = batching.within_max_length(encoded, lengths[1])
    assert sorted(len(encoded[i][0]) for i in fits) == [n for n in lengths if n <= lengths[1]]
    assert len(fits) < len(encoded)
    with pytest.raises(ValueError, match=r"config key 'training.max_length': every one of the \d+ examples"):
        batching.within_max_length(encoded, lengths[0] - 1)
    longest_prompt = max(labels.count(batching.IGNORE) for _, labels in encoded)
    with pytest.raises(ValueError, match=r"config key 'training.max_length': 8 tokens leaves no room"):
        batching.within_max_length(encoded, min(8, longest_prompt))


def _step_grads(model, tokenizer, budget, packing=False, **extra):
    model = copy.deepcopy(model)
    hp = {"max_length": 512, "examples_per_step": 3, "epochs": 1, "lr": 1e-9, "weight_decay": 0.0,
          "warmup_ratio": 0.0, "max_tokens_per_microbatch": budget, "max_grad_norm": 1e9, "packing": packing, **extra}
    grads = {}
    hooks = [p.register_hook(lambda g, n=n: grads.__setitem__(n, grads.get(n, 0) + g.clone()))
             for n, p in model.named_parameters()]
    trained, metrics, curve = trainer.train(model, tokenizer, EXAMPLES, TrainingSettings.of(hp), seed=0,
                                            log=lambda *_: None)
    for h in hooks:
        h.remove()
    return curve[0]["loss"], grads, metrics, trained


def test_loss_and_gradients_do_not_depend_on_micro_batching(tiny_tokenizer, tiny_model):
    one_batch = _step_grads(tiny_model, tiny_tokenizer, budget=10_000)
    one_by_one = _step_grads(tiny_model, tiny_tokenizer, budget=8)  # every example alone (each is longer than 8 tokens)
    assert abs(one_batch[0] - one_by_one[0]) < 1e-5
    for name, g in one_batch[1].items():
        torch.testing.assert_close(g, one_by_one[1][name], rtol=1e-4, atol=1e-6)
    assert one_batch[2]["train_tokens"] == one_by_one[2]["train_tokens"]
    assert one_batch[2]["padded_tokens"] > one_by_one[2]["padded_tokens"]


def test_a_packed_step_equals_the_examples_run_one_by_one(tiny_tokenizer, tiny_model):
    """No token attends to or is predicted from another document: packing changes nothing but the speed."""
    packed = _step_grads(tiny_model, tiny_tokenizer, budget=10_000, packing=True)
    alone = _step_grads(tiny_model, tiny_tokenizer, budget=8, packing=False)
    assert abs(packed[0] - alone[0]) < 1e-5
    for name, g in packed[1].items():
        torch.testing.assert_close(g, alone[1][name], rtol=1e-4, atol=1e-6)
    assert packed[2]["padded_tokens"] == packed[2]["train_tokens"] == alone[2]["train_tokens"]


def test_packing_without_document_boundaries_would_differ(tiny_tokenizer, tiny_model):
    """The check above can fail: the same row without per-document positions mixes documents."""
    batch = batching.collate_packed(batching.encode_examples(tiny_tokenizer, PAIRS))
    with torch.no_grad():
        separate = summed_loss(tiny_model, batch)
        mixed = summed_loss(tiny_model, {k: v for k, v in batch.items() if k != "position_ids"})
    assert abs(separate.item() - mixed.item()) > 1e-3


def _assert_same_step(a, b):
    assert abs(a[0] - b[0]) < 1e-5
    assert a[1].keys() == b[1].keys()
    for name, g in a[1].items():
        torch.testing.assert_close(g, b[1][name], rtol=1e-4, atol=1e-6)


def test_chunked_loss_equals_the_full_logits_loss(tiny_tokenizer, tiny_model):
    """Only labelled positions reach the output layer, a few at a time: same loss and gradients as full logits."""
    import torch.nn.functional as F

    rows = batching.encode_examples(tiny_tokenizer, PAIRS)
    batch = batching.collate(rows, tiny_tokenizer.pad_token_id)
    chunked_model, full_model = copy.deepcopy(tiny_model), copy.deepcopy(tiny_model)
    chunked = summed_loss(chunked_model, batch, chunk_tokens=7)
    logits = full_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    full = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), batch["labels"][:, 1:].reshape(-1),
                           ignore_index=batching.IGNORE, reduction="sum")
    chunked.backward(), full.backward()
    torch.testing.assert_close(chunked, full, rtol=1e-5, atol=1e-5)
    for (name, a), (_, b) in zip(chunked_model.named_parameters(), full_model.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_gradient_checkpointing_changes_memory_not_the_step(tiny_tokenizer, tiny_model):
    checkpointed = _step_grads(tiny_model, tiny_tokenizer, budget=10_000, gradient_checkpointing=True)
    plain = _step_grads(tiny_model, tiny_tokenizer, budget=10_000)
    assert checkpointed[3].is_activation_checkpointing and not plain[3].is_activation_checkpointing
    _assert_same_step(checkpointed, plain)


def _hybrid_model(tokenizer):
    """A tiny Qwen3.5-style hybrid (a gated delta-net linear-attention layer, then a full-attention layer)."""
    from transformers import AutoModelForCausalLM, Qwen3_5TextConfig

    config = Qwen3_5TextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=8,
        linear_value_head_dim=8, layer_types=["linear_attention", "full_attention"], max_position_embeddings=256,
        tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config)


def test_a_linear_attention_hybrid_trains_padded_and_equals_one_by_one(tiny_tokenizer):
    model = _hybrid_model(tiny_tokenizer)
    assert not batching.packing_supported(model)
    asked_packed = _step_grads(model, tiny_tokenizer, budget=10_000, packing=True)
    assert asked_packed[2]["packing"] is False
    _assert_same_step(asked_packed, _step_grads(model, tiny_tokenizer, budget=8))
    # the fallback is needed: in a packed row the linear layer's state leaks from one document into the next
    rows = batching.encode_examples(tiny_tokenizer, PAIRS[:2])
    packed = batching.collate_packed(rows)
    with torch.no_grad():
        second_packed = model.model(**{k: v for k, v in packed.items() if k != "labels"},
                                    use_cache=False).last_hidden_state[0, len(rows[0][0]):]
        second_alone = model.model(input_ids=torch.tensor([rows[1][0]]), use_cache=False).last_hidden_state[0]
    assert (second_packed - second_alone).abs().max() > 1e-2


def test_metrics_count_real_tokens_and_flops(tiny_tokenizer, tiny_model):
    metrics = _step_grads(tiny_model, tiny_tokenizer, budget=10_000)[2]
    real = sum(len(ids) for ids, _ in batching.encode_examples(tiny_tokenizer, PAIRS))
    assert metrics["train_tokens"] == real
    assert metrics["train_flops"] == 6 * metrics["parameters"] * real
    assert metrics["measured"]["wall_seconds"] > 0 and metrics["measured"]["peak_memory_bytes"] > 0


def test_lora_trains_only_the_adapter(tiny_tokenizer, tiny_model):
    hp = {"max_length": 512, "examples_per_step": 3, "epochs": 1, "lr": 1e-2, "weight_decay": 0.0,
          "warmup_ratio": 0.0, "max_tokens_per_microbatch": 10_000, "max_grad_norm": 1.0}
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    before = {n: p.clone() for n, p in tiny_model.named_parameters()}
    model, metrics, _ = trainer.train(tiny_model, tiny_tokenizer, EXAMPLES, TrainingSettings.of(hp), seed=0, lora=lora,
                                      log=lambda *_: None)
    assert 0 < metrics["trainable_parameters"] < metrics["parameters"]
    merged = model.merge_and_unload()
    changed = {n for n, p in merged.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all("q_proj" in n or "v_proj" in n for n in changed)


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    correct = [True] * 30 + [False] * 70
    lo, hi = evaluation.bootstrap_ci(correct, 1000, seed=0)
    assert lo < 0.3 < hi and hi - lo < 0.25
    assert (lo, hi) == evaluation.bootstrap_ci(correct, 1000, seed=0)
    assert evaluation.bootstrap_ci([True] * 10, 100, seed=0) == (1.0, 1.0)


HP = TrainingSettings.of({"max_length": 512, "examples_per_step": 2, "epochs": 3, "lr": 1e-2, "weight_decay": 0.01,
                         "warmup_ratio": 0.1, "max_tokens_per_microbatch": 4096, "checkpoint_every": 2})


class Killed(Exception):
    pass


def _weights(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("kill_at_call", [2, 5, 9, 12])
@pytest.mark.parametrize("lora", [None, {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}])
def test_a_killed_run_resumes_to_the_same_final_weights(tiny_tokenizer, tiny_model, tmp_path, monkeypatch,
                                                        kill_at_call, lora):
    examples = EXAMPLES * 3  # 9 examples, 2 per step: 4 steps per epoch, 12 steps
    clean, clean_metrics, clean_curve = trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, HP, seed=0,
                                                      lora=lora, log=lambda *_: None)
    calls, real_loss = {"n": 0}, trainer.summed_loss

    def dying_loss(model, batch):
        calls["n"] += 1
        if calls["n"] == kill_at_call:
            raise Killed
        return real_loss(model, batch)

    ckpt = tmp_path / "ckpt"
    monkeypatch.setattr(trainer, "summed_loss", dying_loss)
    with pytest.raises(Killed):
        trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, HP, seed=0, lora=lora,
                      log=lambda *_: None, checkpoint=ckpt)
    monkeypatch.setattr(trainer, "summed_loss", real_loss)
    messages = []
    resumed, metrics, curve = trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, HP, seed=0, lora=lora,
                                            log=messages.append, checkpoint=ckpt)
    assert any("resumed" in m for m in messages) == (kill_at_call > 2)
    for name, value in _weights(clean).items():
        torch.testing.assert_close(_weights(resumed)[name], value, rtol=0, atol=0)
    assert curve == clean_curve
    assert {k: metrics[k] for k in ("train_tokens", "padded_tokens", "completion_tokens")} == {
        k: clean_metrics[k] for k in ("train_tokens", "padded_tokens", "completion_tokens")}


def test_sigterm_saves_the_step_it_came_in_and_the_rerun_resumes_from_there(tiny_tokenizer, tiny_model, tmp_path,
                                                                            monkeypatch):
    """What SLURM sends before a preemption or the time limit: the run stops at the next step boundary with that
    step's checkpoint (here step 3, between the periodic ones at 2 and 4), and its rerun ends with the clean run's
    weights and loss curve."""
    import os
    import signal

    examples = EXAMPLES * 3  # 12 steps
    clean, _, clean_curve = trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, HP, seed=0,
                                          log=lambda *_: None)
    calls, real_loss = {"n": 0}, trainer.summed_loss

    def signalled_loss(model, batch):  # one micro-batch per step: call 3 is step 3
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_loss(model, batch)

    monkeypatch.setattr(trainer, "summed_loss", signalled_loss)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(trainer.preemption.Preempted, match=r"stopped by SIGTERM after step 3/12; its state at step 3"):
        trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, HP, seed=0, log=lambda *_: None,
                      checkpoint=ckpt)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is the training loop's only
    assert checkpoints.latest_checkpoint(ckpt).name == checkpoints.checkpoint_name(3)
    monkeypatch.setattr(trainer, "summed_loss", real_loss)
    messages = []
    resumed, _, curve = trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, HP, seed=0,
                                      log=messages.append, checkpoint=ckpt)
    assert any("at step 3/12" in m for m in messages)
    for name, value in _weights(clean).items():
        torch.testing.assert_close(_weights(resumed)[name], value, rtol=0, atol=0)
    assert curve == clean_curve


def test_a_checkpoint_made_for_other_settings_is_discarded_not_resumed(tiny_tokenizer, tiny_model, tmp_path,
                                                                       monkeypatch):
    """Killed after a checkpoint at lr 1e-2; rerun at lr 1e-3 (another fingerprint): the result is the clean
    lr 1e-3 run, not a resumed mix of the two."""
    examples = EXAMPLES * 3
    new_hp = dataclasses.replace(HP, lr=1e-3)
    clean, _, clean_curve = trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, new_hp, seed=0,
                                          log=lambda *_: None)
    calls, real_loss = {"n": 0}, trainer.summed_loss

    def dying_loss(model, batch):
        calls["n"] += 1
        if calls["n"] == 9:
            raise Killed
        return real_loss(model, batch)

    ckpt = tmp_path / "ckpt"
    monkeypatch.setattr(trainer, "summed_loss", dying_loss)
    with pytest.raises(Killed):
        trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, HP, seed=0, log=lambda *_: None,
                      checkpoint=ckpt, fingerprint="job-at-lr-1e-2")
    monkeypatch.setattr(trainer, "summed_loss", real_loss)
    assert checkpoints.latest_checkpoint(ckpt) is not None
    messages = []
    rerun, _, curve = trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, examples, new_hp, seed=0,
                                    log=messages.append, checkpoint=ckpt, fingerprint="job-at-lr-1e-3")
    assert any("discarded" in m for m in messages) and not any("resumed" in m for m in messages)
    for name, value in _weights(clean).items():
        torch.testing.assert_close(_weights(rerun)[name], value, rtol=0, atol=0)
    assert curve == clean_curve and max(row["lr"] for row in curve) <= 1e-3


def test_an_unknown_architecture_key_is_refused(tiny_tokenizer):
    from compress_distill.models import student

    with pytest.raises(ValueError, match=r"\['hiden_size'\] are not Qwen3Config settings"):
        student.build_model({"architecture": {"hiden_size": 32}}, tiny_tokenizer, seed=0)


def test_a_tokenizer_is_made_chat_ready_from_its_template(tiny_tokenizer, tmp_path):
    """A base model's tokenizer whose eos is its end-of-document token and that has no pad token (as Qwen3-Base and
    Llama ship): training and generation use the template's end-of-turn token, padding uses it too."""
    from transformers import AutoTokenizer

    from compress_distill.models import student
    from conftest import TINY_ARCH

    tiny_tokenizer.save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    tok.eos_token, tok.pad_token = "<|endoftext|>", None
    model = student.build_model({"architecture": TINY_ARCH}, tiny_tokenizer, seed=0)
    model.generation_config.eos_token_id = tok.convert_tokens_to_ids("<|endoftext|>")
    model, tok = student.chat_ready(model, tok)
    end = tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.eos_token == tok.pad_token == "<|im_end|>"
    assert model.generation_config.eos_token_id == [end, tok.convert_tokens_to_ids("<|endoftext|>")]
    (ids, labels), = batching.encode_examples(tok, [("1 + 2?", "3")])
    assert ids[-1] == labels[-1] == end  # the trained stop is the one the chat template ends turns with


def test_a_loss_that_is_not_a_number_stops_training_naming_the_step(tiny_tokenizer, tiny_model, tmp_path):
    """An infinite learning rate (what `.inf` in a config would give, were the schema not refusing it): the first
    step's loss is finite, the next is not, and no checkpoint is written from it."""
    hp = dataclasses.replace(HP, lr=float("inf"), checkpoint_every=1)
    with pytest.raises(FloatingPointError, match=r"the loss is nan at step 2 \(training.lr inf"):
        trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, EXAMPLES, hp, seed=0, log=lambda *_: None,
                      checkpoint=tmp_path / "ckpt")
    assert checkpoints.latest_checkpoint(tmp_path / "ckpt").name == checkpoints.checkpoint_name(1)


def test_a_full_disk_while_checkpointing_says_so_naming_the_file(tiny_tokenizer, tiny_model, tmp_path):
    """A real full file system (a 256 KiB tmpfs, mounted as root: CI runs as root): torch's own error is
    `inline_container.cc … unexpected pos`; the job's one-line failure names the disk and the file."""
    import subprocess

    from compress_distill.infra.jobstart import failure_line

    tiny = tmp_path / "tiny"
    tiny.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(tiny)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    try:
        with pytest.raises(OSError) as err:
            trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, EXAMPLES * 3, HP, seed=0, log=lambda *_: None,
                          checkpoint=tiny / "ckpt")
    finally:
        subprocess.run(["umount", "--lazy", str(tiny)], check=True)  # torch may still hold the torn file open
    line = failure_line("train", err.value, "train.log")
    assert line.startswith(f"train failed: no space left on the device writing {tiny}/ckpt/") and "state.pt" in line


def test_the_training_log_gives_the_rate_and_time_left(tiny_tokenizer, tiny_model):
    messages = []
    trainer.train(copy.deepcopy(tiny_model), tiny_tokenizer, EXAMPLES * 3, HP, seed=0, log=messages.append)
    steps = [m for m in messages if m.startswith("step ")]
    assert steps and all(re.search(r"\(\d+\.\d\d s/step, ETA \d+h\d\dm\d\ds\)$", m) for m in steps)
    assert steps[-1].startswith("step 12/12") and steps[-1].endswith("ETA 0h00m00s)")
