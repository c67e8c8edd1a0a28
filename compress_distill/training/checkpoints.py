"""Resumable training checkpoints: the plain one (trainable weights, optimiser, schedule, loop state in one file) and
FSDP's sharded pair. Each is written to ``step-N/`` and published by replacing the ``latest`` pointer atomically,
so a kill at any instant leaves the previous one usable; each carries the fingerprint of the job it was made for
(:mod:`compress_distill.infra.identity`) and is resumed only by that job. Loading runs no pickled code
(``weights_only=True``).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from compress_distill.infra.io import atomic_dir, atomic_path

FINGERPRINT = "fingerprint"  # in each checkpoint: the job it was made for (compress_distill.infra.identity)
FULL_BYTES = 64 * 2**20  # a failed write with less free space than this is taken for a full disk


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint in ``folder``: the ``latest`` file names it and is replaced atomically only
    after the checkpoint is fully written, so a kill at any instant leaves the previous one usable."""
    pointer = folder / "latest"
    return folder / pointer.read_text().strip() if pointer.exists() else None


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
    with atomic_path(folder / "latest") as tmp:
        tmp.write_text(name + "\n")
    for old in folder.glob("step-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def torch_save(obj, path: Path) -> None:
    """``torch.save``, a failed write raised as the OSError it is (naming the file): torch's archive writer says only
    ``[enforce fail at inline_container.cc] unexpected pos …`` on a full disk."""
    import torch

    try:
        torch.save(obj, path)
    except RuntimeError as err:
        if "inline_container" not in str(err) and "PytorchStreamWriter" not in str(err):
            raise
        code = errno.ENOSPC if shutil.disk_usage(path.parent).free < FULL_BYTES else errno.EIO
        raise OSError(code, os.strerror(code), str(path)) from err


def save_checkpoint(folder: Path, model, opt, sched, state: dict, fingerprint: str) -> None:
    """Trainable weights, optimiser, schedule and loop state, as ``folder/step-N``, stamped with the job's
    fingerprint."""
    import torch

    name = checkpoint_name(state["step"])
    with atomic_dir(folder / name, record=False) as tmp:
        weights = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        torch_save({"weights": weights, "opt": opt.state_dict(), "sched": sched.state_dict(),
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


def save_sharded(folder: Path, root, opt, sched, state: dict, rank: int, fingerprint: str) -> None:
    """FSDP's checkpoint (``torch.distributed.checkpoint``): each worker writes its shard, the first one the loop
    state; it is published (``latest``) only once every worker has written."""
    import torch
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    name = checkpoint_name(state["step"])
    if rank == 0:
        shutil.rmtree(folder / name, ignore_errors=True)
    dist.barrier()
    model_state, optim_state = get_state_dict(root, opt)
    dcp.save({"model": model_state, "optim": optim_state}, checkpoint_id=str(folder / name))
    if rank == 0:
        torch_save({"sched": sched.state_dict(), "torch_rng": torch.get_rng_state(), **state},
                   folder / name / "loop.pt")
        (folder / name / FINGERPRINT).write_text(fingerprint + "\n")
    dist.barrier()  # every shard is on disk before the checkpoint is published
    if rank == 0:
        publish_checkpoint(folder, name)
    dist.barrier()


def load_sharded(latest: Path, root, opt, sched) -> dict:
    """Restore a checkpoint made by :func:`save_sharded` into the sharded model and its optimiser."""
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
