"""Hub revisions: a model, tokenizer or dataset named on the Hugging Face hub may carry a ``revision`` (a commit, a
tag or a branch). At plan time (``pin``) each is resolved to its commit, which goes into the config in place — the
job parameters of everything it feeds, so a new commit reruns them, and the manifest. A job loads exactly that
commit (``local``): from the local hub cache, downloading it first unless ``HF_HUB_OFFLINE`` is set.

A pinned model is carried as ``<name>@<commit>`` (the form every loader receives); a dataset keeps its ``revision``
key, now a commit. Snakemake's jobs parse the workflow again: the main process hands its resolutions to them in the
environment (``PINS_ENV``), so a branch that moves while a run goes on cannot mix two commits in one run. Names
without a revision follow the hub's default branch, unpinned."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

PINS_ENV = "COMPRESS_DISTILL_HUB_PINS"
COMMIT = re.compile(r"[0-9a-f]{40}")
# what loaders read from a model repository (not the alternative weight formats many repositories also hold)
MODEL_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.py", "*.jinja", "*.tiktoken"]


class RevisionError(ValueError):
    pass


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def commit(name: str, revision: str, repo_type: str, key: str) -> str:
    """The commit ``revision`` of hub repository ``name`` names: itself when it is one, else the hub's answer, or
    (offline) the local cache's."""
    if COMMIT.fullmatch(revision):
        return revision
    if not _offline():
        from huggingface_hub import HfApi

        return HfApi().repo_info(name, revision=revision, repo_type=repo_type).sha
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    ref = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=name, repo_type=repo_type) / "refs" / revision
    if ref.is_file():
        return ref.read_text().strip()
    raise RevisionError(f"config key '{key}': revision {revision!r} of {repo_type} {name!r} is not a commit, the "
                        f"hub is offline (HF_HUB_OFFLINE) and the local cache ({constants.HF_HUB_CACHE}) has no such "
                        "reference: give the commit, or resolve it once online")


def _model_refs(config: dict):
    """(config key, the mapping that holds it, its key there) of every setting that names a model."""
    for section in ("teachers", "compressors"):
        for name, block in config[section].items():
            yield f"{section}.{name}.engine.model", block["engine"], "model"
    yield "tokenizer.name", config["tokenizer"], "name"
    for name, spec in config["students"].items():
        yield f"students.{name}.model", spec, "model"


def _dataset_sources(config: dict):
    problems = config["problems"]
    yield "problems.pool", problems["pool"]
    for name, source in problems["benchmarks"].items():
        yield f"problems.benchmarks.{name}", source


def pin(config: dict) -> dict[str, str]:
    """Resolve, in place, every hub revision in ``config``; returns ``{config key: commit}`` (what the manifest's
    config then shows). Resolutions the environment carries (``PINS_ENV``, from the main process) are reused."""
    known = json.loads(os.environ.get(PINS_ENV, "{}"))
    pins = {}

    def resolved(key, name, revision, repo_type):
        pins[key] = known.get(f"{key}={name}@{revision}") or commit(name, revision, repo_type, key)
        known[f"{key}={name}@{revision}"] = pins[key]
        return pins[key]

    for key, holder, field in _model_refs(config):
        ref = holder.get(field)
        if isinstance(ref, dict) and "hub" in ref and ref.get("revision"):
            pinned = f"{ref['hub']}@{resolved(key, ref['hub'], ref['revision'], 'model')}"
            holder[field] = {"hub": pinned} if key.startswith("students.") else pinned
        elif isinstance(ref, dict) and "hub" in ref and not key.startswith("students."):
            holder[field] = ref["hub"]
    for key, source in _dataset_sources(config):
        if source["kind"] == "hub" and source.get("revision"):
            source["revision"] = resolved(f"{key}.revision", source["path"], source["revision"], "dataset")
    os.environ[PINS_ENV] = json.dumps(known, sort_keys=True)
    return pins


def split(ref: str) -> tuple[str, str | None]:
    """``(name, commit)`` of a pinned ``<name>@<commit>``; ``(ref, None)`` for anything else (a folder, a name)."""
    name, _, rev = ref.rpartition("@")
    return (name, rev) if name and COMMIT.fullmatch(rev) and not Path(ref).exists() else (ref, None)


def local(ref: str, repo_type: str = "model", revision: str | None = None) -> str:
    """The folder a job loads ``ref`` from: a pinned model's (or, with ``revision``, a dataset's) snapshot in the
    local hub cache, fetched first unless offline; anything else as it is (a folder, an unpinned name)."""
    name, rev = split(ref) if revision is None else (ref, revision)
    if rev is None:
        return ref
    from huggingface_hub import snapshot_download

    return snapshot_download(name, revision=rev, repo_type=repo_type, local_files_only=_offline(),
                             allow_patterns=MODEL_FILES if repo_type == "model" else None)
