"""The *trainer*: fine-tune a student on one target and write a metrics JSON (and a loss-curve CSV).

Same optimisation across targets: an optimiser step always covers ``examples_per_step`` training examples, so raw
and compressed runs take the same number of steps; examples are laid into micro-batches of at most
``max_tokens_per_microbatch`` tokens — padding-free packed rows (``packing: true``, per-document positions) or
right-padded rows — and the loss is the token-weighted mean over every completion token of the step, whatever the
split. Only completion tokens are trained (the prompt is masked); the end-of-turn token is
kept in the labels so students learn to stop. Full fine-tuning, or LoRA via peft (``lora:`` in the student config).

Metrics: real training tokens (non-padding, prompt + completion, over all epochs), completion tokens, padded tokens,
FLOPs (6 · all parameters · real tokens), wall seconds, tokens/s, peak memory, final loss.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import shutil
import sys
import time
from pathlib import Path

IGNORE = -100


def encode_example(tokenizer, question: str, completion: str) -> tuple[list[int], list[int]]:
    """(input ids, labels): the chat prompt masked, the completion and its end-of-turn token trained."""
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True, tokenize=True, return_dict=False
    )
    answer = tokenizer(completion + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    return prompt + answer, [IGNORE] * len(prompt) + answer


def within_max_length(encoded: list[tuple[list[int], list[int]]], max_length: int) -> list[int]:
    """Indices of the examples that fit ``max_length`` whole. A longer one is dropped (and counted by the caller),
    never cut: a cut example loses its answer and its stop token. A ``max_length`` that leaves no room after the
    longest prompt is a config error."""
    longest_prompt = max(labels.count(IGNORE) for _, labels in encoded)
    if longest_prompt >= max_length:
        raise ValueError(f"config key 'training.max_length': {max_length} tokens leaves no room for a completion after "
                         f"the longest prompt ({longest_prompt} tokens); raise it")
    kept = [i for i, (ids, _) in enumerate(encoded) if len(ids) <= max_length]
    if not kept:
        raise ValueError(f"config key 'training.max_length': every one of the {len(encoded)} examples is longer than "
                         f"{max_length} tokens (shortest {min(len(ids) for ids, _ in encoded)}); raise it")
    return kept


def micro_batches(examples: list[tuple[list[int], list[int]]], budget: int, packed: bool) -> list[list[int]]:
    """Indices of ``examples`` grouped (shortest first, deterministic) so that each group stays within ``budget``
    tokens: its total length when packed, its padded size (n · longest) otherwise. A longer example goes alone."""
    groups, current, longest, total = [], [], 0, 0
    for i in sorted(range(len(examples)), key=lambda i: len(examples[i][0])):
        n = len(examples[i][0])
        size = total + n if packed else (len(current) + 1) * max(longest, n)
        if current and size > budget:
            groups.append(current)
            current, longest, total = [], 0, 0
        current.append(i)
        longest, total = max(longest, n), total + n
    return groups + [current] if current else groups


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict:
    """Right-padded rows with an attention mask."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id)
    labels = torch.full((len(batch), width), IGNORE)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (x, y) in enumerate(batch):
        ids[row, : len(x)], labels[row, : len(y)], mask[row, : len(x)] = torch.tensor(x), torch.tensor(y), 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def collate_packed(batch: list[tuple[list[int], list[int]]]) -> dict:
    """One padding-free row: documents concatenated, positions restarting at 0 for each, and no attention mask, so
    transformers derives per-document causal masks from the positions (flash-attention varlen where installed).
    Each document's first token is never a target, so no token is predicted from another document."""
    import torch

    ids = [t for x, _ in batch for t in x]
    labels = [t for _, y in batch for t in [IGNORE, *y[1:]]]
    positions = [p for x, _ in batch for p in range(len(x))]
    return {"input_ids": torch.tensor([ids]), "labels": torch.tensor([labels]),
            "position_ids": torch.tensor([positions])}


def packing_supported(model) -> bool:
    """Whether position_ids alone keep packed documents apart in ``model``. Linear-attention layers (Qwen3.5 /
    Qwen3-Next hybrids) carry a recurrent state along the row that positions do not reset, so those models train
    padded instead."""
    config = model.config
    layer_types = getattr(getattr(config, "text_config", config), "layer_types", None) or []
    return all(t in ("full_attention", "sliding_attention") for t in layer_types)


def _decoder_and_head(model):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft wraps the model
    return base.get_decoder(), base.get_output_embeddings()


def summed_loss(model, batch: dict, chunk_tokens: int = 4096):
    """Sum of next-token cross-entropy over the labelled positions, without materialising fp32 logits for the
    whole micro-batch: only labelled positions go through the output layer, ``chunk_tokens`` at a time, each chunk
    recomputed in the backward pass (liger-kernel's fused linear cross-entropy replaces this where installed)."""
    import torch
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint

    decoder, head = _decoder_and_head(model)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    # no KV cache: transformers derives per-document masks from position_ids only without one
    hidden = decoder(**inputs, use_cache=False).last_hidden_state[:, :-1]
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    hidden, targets = hidden[keep], targets[keep]
    fused = _liger_loss(hidden)
    if fused is not None:
        return fused(head.weight, hidden, targets)

    def chunk_loss(h, y):
        return F.cross_entropy(head(h).float(), y, reduction="sum")

    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, hidden.size(0), chunk_tokens):
        h, y = hidden[start : start + chunk_tokens], targets[start : start + chunk_tokens]
        total = total + checkpoint(chunk_loss, h, y, use_reentrant=False)
    return total


def _liger_loss(hidden):
    """liger-kernel's fused linear cross-entropy (sum) on GPU where installed, else None."""
    if not hidden.is_cuda:
        return None
    try:
        from liger_kernel.transformers.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyLoss
    except ImportError:
        return None
    return LigerFusedLinearCrossEntropyLoss(reduction="sum")


def peak_memory_bytes() -> int:
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def apply_lora(model, lora: dict):
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(
        r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"], modules_to_save=lora.get("modules_to_save"), task_type="CAUSAL_LM",
    ))


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint in ``folder``: the ``latest`` file names it and is replaced atomically only
    after the checkpoint is fully written, so a kill at any instant leaves the previous one usable."""
    pointer = folder / "latest"
    return folder / pointer.read_text().strip() if pointer.exists() else None


FINGERPRINT = "fingerprint"  # in each checkpoint: the job it was made for (compress_distill.identity)


def resumable_checkpoint(folder: Path, fingerprint: str, log=print) -> Path | None:
    """The latest checkpoint in ``folder`` if it was made for this very job — same inputs, settings, code — else None:
    a stale one (say, from before a learning-rate change) is never resumed; the first new checkpoint replaces it."""
    latest = latest_checkpoint(folder)
    if latest is None:
        return None
    stamp = latest / FINGERPRINT
    made_for = stamp.read_text().strip() if stamp.exists() else "unknown"
    if made_for != fingerprint:
        log(f"checkpoint {latest} was made for other inputs, settings or code (fingerprint {made_for[:16]}, this "
            f"job {fingerprint[:16]}): discarded, training from the start")
        return None
    return latest


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def publish_checkpoint(folder: Path, name: str) -> None:
    """Point ``latest`` at ``folder/name`` (atomically), then drop older checkpoints."""
    from .io import atomic_path

    with atomic_path(folder / "latest") as tmp:
        tmp.write_text(name + "\n")
    for old in folder.glob("step-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(folder: Path, model, opt, sched, state: dict, fingerprint: str) -> None:
    """Trainable weights, optimiser, schedule and loop state, as ``folder/step-N``, stamped with the job's
    fingerprint."""
    import torch

    from .io import atomic_dir

    name = checkpoint_name(state["step"])
    with atomic_dir(folder / name, record=False) as tmp:
        weights = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        torch.save({"weights": weights, "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "torch_rng": torch.get_rng_state(), **state}, tmp / "state.pt")
        (tmp / FINGERPRINT).write_text(fingerprint + "\n")
    publish_checkpoint(folder, name)


def load_checkpoint(latest: Path, model, opt, sched) -> dict:
    """Restore a checkpoint made by :func:`save_checkpoint` (tensors and plain data only: no pickled code runs)."""
    import torch

    saved = torch.load(latest / "state.pt", weights_only=True)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in saved.pop("weights").items():
            params[name].copy_(value)
    opt.load_state_dict(saved.pop("opt"))
    sched.load_state_dict(saved.pop("sched"))
    torch.set_rng_state(saved.pop("torch_rng"))
    return saved


def _width(rows, packed: bool) -> int:
    """Tokens a micro-batch occupies: its real tokens when packed, rows × longest when padded."""
    lengths = [len(x) for x, _ in rows]
    return sum(lengths) if packed else len(lengths) * max(lengths)


def step_layout(step_examples: list, world: int, budget: int, packed: bool):
    """Each worker's micro-batches (lists of rows) for one step — worker w takes every world-th example — and the
    real and occupied tokens of all workers' micro-batches together."""
    layouts = [[[mine[i] for i in group] for group in micro_batches(mine, budget, packed)]
               for mine in (step_examples[w::world] for w in range(world))]
    everything = [rows for layout in layouts for rows in layout]
    return (layouts, sum(len(x) for rows in everything for x, _ in rows),
            sum(_width(rows, packed) for rows in everything))


def backward_step(loss_of, batches: list, n_labels: int, scale: float, device):
    """Backward through this worker's (rows, weight) micro-batches; return its share of the step's mean loss."""
    import torch

    step_loss = torch.zeros((), device=device)
    for rows, weight in batches:
        loss = loss_of(rows) * weight / n_labels
        (loss * scale).backward()
        step_loss += loss.detach()
    return step_loss


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


def train(model, tokenizer, examples: list[dict], hp: dict, seed: int, lora: dict | None = None, log=print,
          checkpoint: str | Path | None = None, fingerprint: str = ""):
    """Fine-tune ``model`` on ``examples`` (question, completion); return (model, metrics, loss curve rows).

    With ``checkpoint`` (a folder outside the job's outputs) the loop state is saved every
    ``hp['checkpoint_every']`` steps, and a restarted run resumes from it to the same final weights — only if the
    checkpoint carries this job's ``fingerprint`` (its inputs, settings and code).
    Under ``accelerate launch`` each worker takes every n-th example of a step; gradients are summed across workers
    before the optimiser step (``hp['distributed']``: ``ddp``, whole replicas) or reduce-scattered into shards
    (``fsdp``), so the result does not depend on the number of workers."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    from .student import count_parameters

    torch.manual_seed(seed)
    workers = data_parallel()
    rank, world = workers.process_index, workers.num_processes
    n_params = count_parameters(model)
    if hp.get("gradient_checkpointing"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    fsdp = world > 1 and hp.get("distributed", "ddp") == "fsdp"
    if fsdp and lora:
        raise ValueError("trainer: FSDP shards full fine-tuning; a LoRA student trains with distributed: ddp")
    if lora:
        model = apply_lora(model, lora)
    model.to(workers.device)
    if not examples:
        raise ValueError("trainer: no training examples (every problem was rejected, or the regime is empty)")
    encoded = [encode_example(tokenizer, e["question"], e["completion"]) for e in examples]
    fits = within_max_length(encoded, hp["max_length"])
    if len(fits) < len(encoded):
        log(f"dropped {len(encoded) - len(fits)} of {len(encoded)} examples longer than max_length "
            f"{hp['max_length']} tokens")
    encoded = [encoded[i] for i in fits]
    per_step, packed = hp["examples_per_step"], hp.get("packing", True)
    if packed and not packing_supported(model):
        packed = False
        log("packing off: this model has linear-attention layers, which position_ids do not separate; padding")
    bf16 = workers.device.type == "cuda" and hp.get("bf16", True)
    steps_per_epoch = max(1, len(encoded) // per_step)
    total_steps = steps_per_epoch * hp["epochs"]
    if fsdp:
        from . import fsdp as sharding

        sharded = sharding.shard(model)
    params = [p for p in (sharded if fsdp else model).parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
    sched = get_cosine_schedule_with_warmup(opt, int(hp["warmup_ratio"] * total_steps), total_steps)
    rng = random.Random(seed)
    model.train()
    state = {"step": 0, "curve": [], "real_tokens": 0, "completion_tokens": 0, "padded_tokens": 0}
    folder = Path(checkpoint) if checkpoint else None
    latest = resumable_checkpoint(folder, fingerprint, log) if folder else None
    resumed = None
    if latest:
        resumed = (sharding.load_checkpoint(latest, sharded, opt, sched) if fsdp
                   else load_checkpoint(latest, model, opt, sched))
    saved_order = None
    if resumed:
        rng.setstate(resumed.pop("rng"))
        saved_order = (resumed.pop("epoch"), resumed.pop("order"))
        state = resumed
        log(f"resumed from {folder} at step {state['step']}/{total_steps}")
    curve = state["curve"]
    real_tokens, completion_tokens, padded_tokens = (state[k] for k in ("real_tokens", "completion_tokens",
                                                                        "padded_tokens"))
    first_epoch = state["step"] // steps_per_epoch

    def loss_of(rows):
        batch = collate_packed(rows) if packed else collate(rows, tokenizer.pad_token_id)
        batch = {key: v.to(workers.device) for key, v in batch.items()}
        with torch.autocast(workers.device.type, dtype=torch.bfloat16, enabled=bf16):
            return sharded(batch) if fsdp else summed_loss(model, batch)

    start = time.perf_counter()
    for epoch in range(first_epoch, hp["epochs"]):
        if saved_order and saved_order[0] == epoch:
            order = saved_order[1]
        else:
            order = list(range(len(encoded)))
            rng.shuffle(order)
        done_in_epoch = state["step"] - epoch * steps_per_epoch if epoch == first_epoch else 0
        for s in range(done_in_epoch, steps_per_epoch):
            step_examples = [encoded[i] for i in order[s * per_step : (s + 1) * per_step]]
            n_labels = sum(sum(1 for t in y if t != IGNORE) for _, y in step_examples)
            layouts, real, occupied = step_layout(step_examples, world, hp["max_tokens_per_microbatch"], packed)
            real_tokens, padded_tokens = real_tokens + real, padded_tokens + occupied
            mine = [(rows, 1.0) for rows in layouts[rank]]
            if fsdp:  # FSDP gathers weights in every forward: every worker runs as many micro-batches
                mine += [(step_examples[:1], 0.0)] * (max(map(len, layouts)) - len(mine))
            # FSDP averages gradients over workers; each worker's loss is already its share of the global sum
            step_loss = backward_step(loss_of, mine, n_labels, world if fsdp else 1, workers.device)
            if world > 1:
                if not fsdp:
                    all_reduce_grads(params)
                torch.distributed.all_reduce(step_loss)
            completion_tokens += n_labels
            torch.nn.utils.clip_grad_norm_(params, hp["max_grad_norm"])
            opt.step(), sched.step(), opt.zero_grad(set_to_none=True)
            step = epoch * steps_per_epoch + s + 1
            curve.append({"step": step, "loss": round(step_loss.item(), 6), "lr": sched.get_last_lr()[0],
                          "tokens": real_tokens})
            if step % max(1, total_steps // 10) == 0 or step == total_steps:
                log(f"step {step}/{total_steps} loss {step_loss.item():.4f} tokens {real_tokens}")
            if folder and hp.get("checkpoint_every") and step % hp["checkpoint_every"] == 0 and step < total_steps:
                loop = {"step": step, "curve": curve, "real_tokens": real_tokens,
                        "completion_tokens": completion_tokens, "padded_tokens": padded_tokens,
                        "rng": rng.getstate(), "epoch": epoch, "order": order}
                if fsdp:
                    sharding.save_checkpoint(folder, sharded, opt, sched, loop, rank, fingerprint)
                elif rank == 0:
                    save_checkpoint(folder, model, opt, sched, loop, fingerprint)
                workers.wait_for_everyone()
    seconds = time.perf_counter() - start
    if fsdp:
        model = sharding.full_model(sharded)
    metrics = {
        "examples": len(encoded),
        "examples_over_max_length": len(examples) - len(encoded),
        "max_example_tokens": max(len(labels) - labels.count(IGNORE) for _, labels in encoded),
        "packing": packed,
        "workers": world,
        "steps": total_steps,
        "parameters": n_params,
        "trainable_parameters": sum(p.numel() for p in params),
        "train_tokens": real_tokens,
        "completion_tokens": completion_tokens,
        "padded_tokens": padded_tokens,
        "train_flops": 6 * n_params * real_tokens,
        "final_loss": curve[-1]["loss"],
        # measured, machine-dependent: kept apart from the deterministic fields by name
        "measured": {"wall_seconds": seconds, "tokens_per_second": real_tokens / seconds,
                     "gpu_seconds": seconds * world if workers.device.type == "cuda" else 0.0,
                     "peak_memory_bytes": peak_memory_bytes()},
    }
    return model, metrics, curve


def write_curve(path, curve: list[dict]) -> None:
    from .io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "loss", "lr", "tokens"])
        writer.writeheader()
        writer.writerows(curve)


# ---- one training job: in this process, or in the workers `accelerate launch` starts (one per GPU)
def check_devices(gpus: int, workers) -> None:
    """A job that asked for GPUs must see them all and run one worker per GPU (a wrong SLURM request or a
    CUDA_VISIBLE_DEVICES mistake otherwise trains silently on fewer GPUs, or on the CPU)."""
    import torch

    if not gpus:
        return
    seen = torch.cuda.device_count()
    if seen < gpus or workers.num_processes != gpus:
        raise RuntimeError(
            f"trainer: the job asked for {gpus} GPU(s) but sees {seen} "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}) and runs {workers.num_processes} "
            "worker(s); check the rule's gpu resource and the SLURM allocation")


def run_job(spec: dict, log=print) -> None:
    """Load the base model and examples, train, and (first worker only) write the model, metrics and curve."""
    from . import io, student

    check_devices(spec.get("gpus", 0), data_parallel())
    model, tokenizer = student.load_base(spec["base"])
    examples = io.read_jsonl(spec["examples"])
    checkpoint = spec.get("checkpoint")
    model, metrics, curve = train(model, tokenizer, examples, spec["hp"], spec["seed"], lora=spec.get("lora"),
                                  log=log, checkpoint=checkpoint, fingerprint=spec.get("fingerprint", ""))
    if data_parallel().process_index != 0:
        return
    metrics.update(spec.get("meta", {}))
    with io.atomic_dir(spec["model"]) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        # the trained bits, for the fingerprints table: equal on every machine that computes the same numbers
        metrics["weights_sha256"] = io.folder_digest(tmp, "*.safetensors")
    write_curve(spec["curve"], curve)
    io.write_json(spec["metrics"], metrics)
    if checkpoint:
        shutil.rmtree(checkpoint, ignore_errors=True)


def launch_command(spec_path: str | Path, processes: int, threads_per_process: int, port: int) -> list[str]:
    """``accelerate launch`` of this module's worker entry point, one process per GPU (CPU processes use gloo)."""
    from .server import executable

    return [executable("accelerate"), "launch", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--main_process_port", str(port), "--mixed_precision", "no",
            "--dynamo_backend", "no", "--num_cpu_threads_per_process", str(threads_per_process),
            "-m", "compress_distill.trainer", str(spec_path)]


def launch(spec: dict, processes: int, threads: int, log_path: str | Path) -> None:
    """Run the job in ``processes`` workers; their output goes to the job's log; a failed worker fails the job."""
    import subprocess

    from .io import write_json
    from .server import free_port

    spec_path = Path(str(spec["model"]) + ".launch.json")
    write_json(spec_path, spec)
    cmd = launch_command(spec_path, processes, max(1, threads // processes), free_port())
    with open(log_path, "a", encoding="utf-8") as log:
        print(f"trainer: {' '.join(cmd)}", file=log, flush=True)
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    spec_path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"trainer: accelerate launch exited with code {done.returncode}; see {log_path}")


def _worker(spec_path: str) -> None:
    import logging

    from .io import read_json
    from .numerics import pin_torch

    spec = read_json(spec_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s", stream=sys.stdout, force=True)
    # accelerate gives each worker its share of the job's threads; the job's environment carries the pins
    logging.info("numerics: %s", pin_torch(int(os.environ.get("OMP_NUM_THREADS", "1"))))
    run_job(spec, log=logging.getLogger("train").info)


if __name__ == "__main__":
    _worker(sys.argv[1])
