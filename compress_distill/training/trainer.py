"""The *trainer*: fine-tune a student on one target and write a metrics JSON (and a loss-curve CSV).

Same optimisation across targets: an optimiser step always covers ``examples_per_step`` training examples, so raw and
compressed runs take the same number of steps; examples are laid into micro-batches of at most
``max_tokens_per_microbatch`` tokens — padding-free packed rows (``packing: true``, per-document positions) or
right-padded rows — and the loss is the token-weighted mean over every completion token of the step, whatever the
split. Only completion tokens are trained (the prompt is masked); the end-of-turn token is kept in the labels so
students learn to stop. Full fine-tuning, or LoRA via peft (``lora:`` in the student config).

Around it: ``batching`` (examples as token rows, micro-batches), ``loss``, ``checkpoints``, ``fsdp``, ``launch``.

Metrics: real training tokens (non-padding, prompt + completion, over all epochs), completion tokens, padded tokens,
FLOPs (6 · all parameters · real tokens), wall seconds, tokens/s, peak memory, final loss.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from compress_distill.config.settings import TrainingSettings
from compress_distill.infra.progress import progress
from compress_distill.training import attention, checkpoints, model_setup, preemption
from compress_distill.training.batching import (IGNORE, collate, collate_packed, encode_examples, packing_supported,
                                                step_layout, within_max_length)
from compress_distill.training.loss import backward_step, check_finite, summed_loss
from compress_distill.training.metrics import metrics_of
from compress_distill.training.parallel import all_reduce_grads, data_parallel


@dataclass
class LoopState:
    """Where a run stands: what a checkpoint restores besides the weights, optimiser and schedule."""

    step: int = 0
    curve: list = field(default_factory=list)
    real_tokens: int = 0
    completion_tokens: int = 0
    padded_tokens: int = 0
    rng: tuple | None = None  # the example-order RNG's state
    epoch: int = 0
    order: list | None = None  # this epoch's example order


@dataclass
class Run:
    """The fixed parts of one training run, set up once: the model (and its FSDP root), optimiser, schedule,
    encoded examples and the step plan."""

    model: object
    root: object  # what the loss runs through: the FSDP-wrapped model, or the model itself
    params: list
    opt: object
    sched: object
    encoded: list
    dropped: int
    packed: bool
    bf16: bool
    fsdp: bool
    workers: object
    per_step: int
    steps_per_epoch: int
    total_steps: int
    attention: str | None = None  # the attention to restore before saving, where training switched it


def prepare(model, tokenizer, examples: list[dict], hp: TrainingSettings, lora: dict | None, log) -> Run:
    """LoRA and sharding applied, examples encoded (over-long ones dropped), optimiser and schedule built."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    workers = data_parallel()
    if hp.gradient_checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    fsdp = workers.num_processes > 1 and hp.distributed == "fsdp"
    if fsdp and lora:
        raise ValueError("trainer: FSDP shards full fine-tuning; a LoRA student trains with distributed: ddp")
    if lora:
        model = model_setup.apply_lora(model, lora)
    model.to(workers.device)
    before = model_setup.maskless_attention(model, workers.device, log)
    if not examples:
        raise ValueError("trainer: no training examples (every problem was rejected, or the regime is empty)")
    encoded = encode_examples(tokenizer, [(e["question"], e["completion"]) for e in examples])
    fits = within_max_length(encoded, hp.max_length)
    if len(fits) < len(encoded):
        log(f"dropped {len(encoded) - len(fits)} of {len(encoded)} examples longer than max_length "
            f"{hp.max_length} tokens")
    encoded = [encoded[i] for i in fits]
    packed = hp.packing
    if packed and not packing_supported(model):
        packed = False
        log("packing off: this model has linear-attention layers, which position_ids do not separate; padding")
    per_step = hp.examples_per_step
    steps_per_epoch = max(1, len(encoded) // per_step)
    total_steps = steps_per_epoch * hp.epochs
    if fsdp:
        from compress_distill.training.fsdp import shard

        root = shard(model)
    else:
        root = model
    params = [p for p in root.parameters() if p.requires_grad]
    # on CPU the default per-tensor loop cost 3-5 ms of a 20-65 ms demo step (measured); fused is one kernel
    opt = torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay,
                            fused=True if workers.device.type == "cpu" else None)
    sched = get_cosine_schedule_with_warmup(opt, int(hp.warmup_ratio * total_steps), total_steps)
    return Run(model, root, params, opt, sched, encoded, len(examples) - len(encoded), packed,
               workers.device.type == "cuda" and hp.bf16, fsdp, workers, per_step, steps_per_epoch,
               total_steps, before)


def resume(run: Run, folder: Path | None, fingerprint: str, seed: int, log) -> tuple[LoopState, random.Random]:
    """The loop state and example-order RNG: from this job's latest checkpoint, or fresh."""
    rng = random.Random(seed)
    latest = checkpoints.resumable_checkpoint(folder, fingerprint, log) if folder else None
    if not latest:
        return LoopState(), rng
    saved = (checkpoints.load_sharded(latest, run.root, run.opt, run.sched) if run.fsdp
             else checkpoints.load_checkpoint(latest, run.model, run.opt, run.sched))
    state = LoopState(**saved)
    rng.setstate(state.rng)
    log(f"resumed from {folder} at step {state.step}/{run.total_steps}")
    return state, rng


def save(run: Run, folder: Path, state: LoopState, fingerprint: str) -> None:
    rank = run.workers.process_index
    if run.fsdp:
        checkpoints.save_sharded(folder, run.root, run.opt, run.sched, asdict(state), rank, fingerprint)
    elif rank == 0:
        checkpoints.save_checkpoint(folder, run.model, run.opt, run.sched, asdict(state), fingerprint)
    run.workers.wait_for_everyone()


def optimiser_step(run: Run, state: LoopState, step_examples: list, hp: TrainingSettings, loss_of) -> float:
    """One optimiser step over ``step_examples``, split among the workers; returns the step's mean loss."""
    import torch

    world, rank = run.workers.num_processes, run.workers.process_index
    n_labels = sum(sum(1 for t in y if t != IGNORE) for _, y in step_examples)
    layouts, real, occupied = step_layout(step_examples, world, hp.max_tokens_per_microbatch, run.packed)
    state.real_tokens, state.padded_tokens = state.real_tokens + real, state.padded_tokens + occupied
    mine = [(rows, 1.0) for rows in layouts[rank]]
    if run.fsdp:  # FSDP gathers weights in every forward: every worker runs as many micro-batches
        mine += [(step_examples[:1], 0.0)] * (max(map(len, layouts)) - len(mine))
    # FSDP averages gradients over workers; each worker's loss is already its share of the global sum
    step_loss = backward_step(loss_of, mine, n_labels, world if run.fsdp else 1, run.workers.device)
    if world > 1:
        if not run.fsdp:
            all_reduce_grads(run.params)
        torch.distributed.all_reduce(step_loss)
    state.completion_tokens += n_labels
    torch.nn.utils.clip_grad_norm_(run.params, hp.max_grad_norm)
    run.opt.step(), run.sched.step(), run.opt.zero_grad(set_to_none=True)
    return step_loss.item()


def train(model, tokenizer, examples: list[dict], hp: TrainingSettings, seed: int, lora: dict | None = None, log=print,
          checkpoint: str | Path | None = None, fingerprint: str = ""):
    """Fine-tune ``model`` on ``examples`` (question, completion); return (model, metrics, loss curve rows).

    With ``checkpoint`` (a folder outside the job's outputs) the loop state is saved every
    ``hp.checkpoint_every`` steps, and a restarted run resumes from it to the same final weights — only if the
    checkpoint carries this job's ``fingerprint`` (its inputs, settings and code).
    Under ``accelerate launch`` each worker takes every n-th example of a step; gradients are summed across workers
    before the optimiser step (``hp.distributed``: ``ddp``, whole replicas) or reduce-scattered into shards
    (``fsdp``), so the result does not depend on the number of workers."""
    import torch

    from compress_distill.models.student import count_parameters

    torch.manual_seed(seed)
    n_params = count_parameters(model)
    run = prepare(model, tokenizer, examples, hp, lora, log)
    run.model.train()
    folder = Path(checkpoint) if checkpoint else None
    state, rng = resume(run, folder, fingerprint, seed, log)
    saved_order = (state.epoch, state.order) if state.order is not None else None
    first_epoch, first_step = state.step // run.steps_per_epoch, state.step + 1

    def loss_of(rows):
        batch = collate_packed(rows) if run.packed else collate(rows, tokenizer.pad_token_id)
        batch = {key: v.to(run.workers.device) for key, v in batch.items()}
        with torch.autocast(run.workers.device.type, dtype=torch.bfloat16, enabled=run.bf16):
            return run.root(batch) if run.fsdp else summed_loss(run.model, batch)

    start = time.perf_counter()
    with preemption.on_sigterm(run.workers.num_processes) as stop:
        for epoch in range(first_epoch, hp.epochs):
            if saved_order and saved_order[0] == epoch:
                order = saved_order[1]
            else:
                order = list(range(len(run.encoded)))
                rng.shuffle(order)
            done_in_epoch = state.step - epoch * run.steps_per_epoch if epoch == first_epoch else 0
            for s in range(done_in_epoch, run.steps_per_epoch):
                step_examples = [run.encoded[i] for i in order[s * run.per_step : (s + 1) * run.per_step]]
                loss = optimiser_step(run, state, step_examples, hp, loss_of)
                step = state.step = epoch * run.steps_per_epoch + s + 1
                check_finite(loss, step, hp)
                if step == first_step:
                    log(model_setup.dtypes(run.params, run.model, run.opt))
                state.curve.append({"step": step, "loss": round(loss, 6), "lr": run.sched.get_last_lr()[0],
                                    "tokens": state.real_tokens})
                if step % max(1, run.total_steps // 10) == 0 or step == run.total_steps:
                    log(f"step {step}/{run.total_steps} loss {loss:.4f} tokens {state.real_tokens} "
                        + progress(step - first_step + 1, run.total_steps - step, time.perf_counter() - start))
                periodic = hp.checkpoint_every and step % hp.checkpoint_every == 0
                requested = stop.requested()
                if folder and (periodic or requested) and step < run.total_steps:
                    state.rng, state.epoch, state.order = rng.getstate(), epoch, order
                    save(run, folder, state, fingerprint)
                stop.stop(requested, step, run.total_steps, folder)
    seconds = time.perf_counter() - start
    if run.attention:
        attention.use(run.model, run.attention)
    if run.fsdp:
        from compress_distill.training.fsdp import full_model

        return full_model(run.root), metrics_of(run, state, n_params, seconds), state.curve
    return run.model, metrics_of(run, state, n_params, seconds), state.curve
