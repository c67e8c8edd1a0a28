"""Students: tokenizer, model construction from config, and brief pre-training.

The demo's students are tiny Qwen3-architecture models built from config (random init, seeded) with a BPE tokenizer
trained on the demo corpus, then pre-trained briefly on one-step arithmetic — the paper's students start pre-trained.
The paper's students are hub models (``model: {hub: <name>}``), loaded with their own tokenizers.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from compress_distill.core.trace import MARKERS
from compress_distill.infra.progress import progress

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_ROLES = ("user", "assistant")


def train_tokenizer(texts: list[str], vocab_size: int, out_dir: str | Path) -> None:
    """A byte-level BPE with single-digit tokens (helps arithmetic), Qwen-style chat markers, saved with
    ``save_pretrained`` so that ``AutoTokenizer`` loads it like any hub tokenizer. It also learns the chat template's
    role lines, as often as prompts carry them: the trainer never sees the template, and would spell "assistant" in
    seven tokens in every prompt."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    role_lines = [f"{role}\n" for role in CHAT_ROLES] * len(texts)
    tok.train_from_iterator([*texts, *role_lines], trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None
    )
    fast.add_tokens(MARKERS)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(out_dir))


def build_model(model_cfg: dict, tokenizer, seed: int):
    """A randomly initialised Qwen3 model from the ``architecture`` block of a student's config."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    arch = dict(model_cfg["architecture"])
    unknown = sorted(set(arch) - set(Qwen3Config().to_dict()))
    if unknown:  # Qwen3Config would keep them as inert attributes
        raise ValueError(f"config key 'students.<student>.model.architecture': {unknown} are not Qwen3Config settings")
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        **arch,
    )
    torch.manual_seed(seed)
    return Qwen3ForCausalLM(config)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def pretraining_batches(lines: list[str], tokenizer, seq_len: int, batch_size: int, steps: int, seed: int):
    """Yield ``steps`` batches of ``seq_len`` tokens from shuffled documents joined by newlines (no padding)."""
    import torch

    rng = random.Random(seed)
    line_ids = [tokenizer(line + "\n", add_special_tokens=False)["input_ids"] for line in lines]
    need, ids = steps * batch_size * seq_len, []
    while len(ids) < need:
        rng.shuffle(line_ids)
        ids += [t for one in line_ids for t in one]
    ids = torch.tensor(ids[:need]).view(steps, batch_size, seq_len)
    yield from ids


def pretrain(model, tokenizer, lines: list[str], hp: dict, seed: int, log=print) -> list[float]:
    """Causal-LM pre-training on ``lines`` (:func:`pretraining_documents`); returns the loss per step."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # a GPU job's student trains there
    model.to(device).train()
    # fused on CPU, as in the trainer: one kernel with its own exact sqrt (the unfused update's sqrt is torch's, on
    # MKL's CPU-dependent vector math unless compress_distill.numerics.vecmath is pinned)
    fused = True if next(model.parameters()).device.type == "cpu" else None
    opt = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"], fused=fused)
    sched = get_cosine_schedule_with_warmup(opt, int(hp["warmup_ratio"] * hp["steps"]), hp["steps"])
    losses, start = [], time.perf_counter()
    batches = pretraining_batches(lines, tokenizer, hp["seq_len"], hp["batch_size"], hp["steps"], seed)
    for step, batch in enumerate(batches, 1):
        batch = batch.to(device)
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(), sched.step(), opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if step % max(1, hp["steps"] // 10) == 0:
            log(f"pretrain step {step}/{hp['steps']} loss {loss.item():.4f} "
                + progress(step, hp["steps"] - step, time.perf_counter() - start))
    return losses


def load_base(name_or_path: str):
    """The model a fine-tuning run starts from (a pre-trained folder or a hub name) and its tokenizer, in fp32
    whatever dtype the checkpoint was saved in (transformers 5 keeps a bf16 checkpoint bf16 unless told): the
    trainer keeps fp32 weights and optimiser state and computes under bf16 autocast on GPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from compress_distill.infra import ledger
    from compress_distill.models import hub

    ledger.check(name_or_path)  # a pre-trained folder is checked against its ledger; a hub name has none
    folder = hub.local(name_or_path)  # a pinned hub model: its commit's snapshot
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    return chat_ready(model, AutoTokenizer.from_pretrained(folder))


def load_student(model_dir: str | Path, dtype=None):
    """Model and tokenizer from a trained-student folder; LoRA adapters are merged into their base. ``dtype``:
    the weights' dtype after loading (default float32, the dtype students are trained and saved in)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from compress_distill.infra import ledger

    ledger.check(model_dir)
    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    dtype = dtype or torch.float32
    if (model_dir / "adapter_config.json").exists():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(model_dir, dtype=dtype).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    model, tokenizer = chat_ready(model, tokenizer)
    return model.eval(), tokenizer


def end_of_turn(tokenizer) -> str | None:
    """The special token that closes an assistant turn in the tokenizer's chat template, read from the template
    itself: the first token after a rendered assistant message (None when that is not a special token)."""
    mark = "ANSWER-MARK"
    chat = [{"role": "user", "content": "question"}, {"role": "assistant", "content": mark}]
    text = tokenizer.apply_chat_template(chat, tokenize=False)
    ids = tokenizer(text[text.rindex(mark) + len(mark):].lstrip(" "), add_special_tokens=False)["input_ids"]
    special = {i for i, token in tokenizer.added_tokens_decoder.items() if token.special}
    return tokenizer.convert_ids_to_tokens(ids[0]) if ids and ids[0] in special else None


def chat_ready(model, tokenizer):
    """A model and tokenizer as training and generation use them, whatever the checkpoint ships: ``eos_token`` is
    the token that ends an assistant turn in the chat template (training appends it, generation stops at it; a base
    model's eos is often its end-of-document token instead, e.g. Qwen3-Base's ``<|endoftext|>`` under a template
    that ends turns with ``<|im_end|>``), and a tokenizer without a pad token pads with it (padding is masked). The
    model's generation config follows, so a server stops where the local engine does."""
    turn_end = end_of_turn(tokenizer)
    if turn_end and turn_end != tokenizer.eos_token:
        tokenizer.eos_token = turn_end
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    generation = model.generation_config
    stops = generation.eos_token_id if isinstance(generation.eos_token_id, list) else [generation.eos_token_id]
    if tokenizer.eos_token_id not in stops:
        generation.eos_token_id = [tokenizer.eos_token_id, *(s for s in stops if s is not None)]
    if generation.pad_token_id is None:
        generation.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
