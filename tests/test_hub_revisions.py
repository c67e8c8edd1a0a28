"""Hub revisions, offline: a local hub cache holds two commits of a model and of a dataset (``refs/v1`` names the first,
``refs/main`` the second). A revision resolves to its commit at plan time, in the config itself (so in the job
parameters and the manifest); a job loads exactly that commit; a new revision reruns what it feeds."""

from __future__ import annotations

import copy
import json

import pytest
import torch
import yaml

from compress_distill.config.validation import result_settings
from compress_distill.models import hub, student
from conftest import ROOT, TINY_ARCH, copy_workflow, planned, snakemake, write_hub_dataset

COMMITS = {"v1": "1" * 40, "main": "2" * 40}


def _commit_folder(cache, repo_folder, tag):
    """The snapshot folder of ``tag``'s commit, with the cache's ref pointing at it."""
    (cache / repo_folder / "refs").mkdir(parents=True, exist_ok=True)
    (cache / repo_folder / "refs" / tag).write_text(COMMITS[tag])
    return cache / repo_folder / "snapshots" / COMMITS[tag]


@pytest.fixture
def hub_cache(tmp_path, tiny_tokenizer, monkeypatch):
    """The cache (offline), with org/tiny (two students built with different seeds) and org/apples (24 training
    problems at v1, 30 at main)."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    for seed, tag in enumerate(COMMITS):
        folder = _commit_folder(cache, "models--org--tiny", tag)
        student.build_model({"architecture": TINY_ARCH}, tiny_tokenizer, seed=seed).save_pretrained(folder)
        tiny_tokenizer.save_pretrained(folder)
        n = 24 if tag == "v1" else 30
        rows = [{"question": f"Tom has {i} apples and buys {i + 2} more. How many apples does he have now?",
                 "answer": f"He has {2 * i + 2}.\n#### {2 * i + 2}"} for i in range(n + 6)]
        write_hub_dataset(_commit_folder(cache, "datasets--org--apples", tag), rows[:n], rows[n:], f"{n} problems")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv(hub.PINS_ENV, raising=False)
    return cache


def test_a_revision_resolves_to_its_commit_or_names_the_key(hub_cache):
    assert hub.commit("org/tiny", "v1", "model", "k") == COMMITS["v1"]
    assert hub.commit("org/apples", "main", "dataset", "k") == COMMITS["main"]
    assert hub.commit("org/tiny", "a" * 40, "model", "k") == "a" * 40  # a commit is itself
    with pytest.raises(hub.RevisionError, match=r"config key 'students.s.model': revision 'v9' of model 'org/tiny'"):
        hub.commit("org/tiny", "v9", "model", "students.s.model")


def test_pinned_settings_name_the_commit_and_a_job_loads_it(hub_cache, monkeypatch):
    cfg = yaml.safe_load((ROOT / "presets/single-gpu.yaml").read_text())
    cfg["students"]["tiny"] = {"model": {"hub": "org/tiny", "revision": "v1"}}
    cfg["teachers"]["qwen3_1.7b"]["engine"]["model"] = {"hub": "org/tiny", "revision": "main"}
    cfg["tokenizer"] = {"name": {"hub": "org/tiny"}}  # no revision: the hub's default branch, unpinned
    cfg["problems"]["pool"].update(path="org/apples", revision="v1")
    pinned = copy.deepcopy(cfg)
    hub.pin(pinned)
    assert pinned["students"]["tiny"]["model"] == {"hub": f"org/tiny@{COMMITS['v1']}"}
    assert pinned["teachers"]["qwen3_1.7b"]["engine"]["model"] == f"org/tiny@{COMMITS['main']}"
    assert pinned["tokenizer"]["name"] == "org/tiny" and pinned["problems"]["pool"]["revision"] == COMMITS["v1"]
    assert COMMITS["v1"] in json.dumps(result_settings(pinned))  # what the manifest records
    # a job process (which parses the workflow again) takes the main process's resolutions, not the hub's newer one
    (hub_cache / "models--org--tiny/refs/main").write_text(COMMITS["v1"])
    again = copy.deepcopy(cfg)
    hub.pin(again)
    assert again["teachers"]["qwen3_1.7b"]["engine"]["model"] == f"org/tiny@{COMMITS['main']}"
    monkeypatch.delenv(hub.PINS_ENV)

    weights = {tag: dict(student.load_base(f"org/tiny@{sha}")[0].named_parameters()) for tag, sha in COMMITS.items()}
    built = dict(student.build_model({"architecture": TINY_ARCH}, student.load_base(f"org/tiny@{COMMITS['v1']}")[1],
                                     seed=0).named_parameters())
    assert all(torch.equal(weights["v1"][n], w) for n, w in built.items())  # v1's snapshot, seed 0
    assert any(not torch.equal(weights["v1"][n], w) for n, w in weights["main"].items())


def test_a_new_revision_reruns_the_problems_it_feeds(hub_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))  # for Snakemake and its jobs (HF_HUB_OFFLINE: conftest)
    cwd = copy_workflow(tmp_path / "wf")
    cfg = yaml.safe_load((ROOT / "presets/single-gpu.yaml").read_text())
    for source in (cfg["problems"]["pool"], cfg["problems"]["benchmarks"]["gsm8k"]):
        source.update(path="org/apples", revision="v1")
    cfg["problems"]["decontamination"] = {"ngram": None}  # one sentence template: every pair shares 8-grams
    (cwd / "local.yaml").write_text(yaml.safe_dump(cfg))
    summary = cwd / "results" / cfg["run"] / "problems/summary.json"
    target = str(summary.relative_to(cwd))
    env = {"HF_DATASETS_CACHE": str(tmp_path / "datasets")}
    snakemake(cwd, "--configfile", "local.yaml", "--cores", "1", target, env=env)
    assert json.loads(summary.read_text())["rows"]["pool"]["rows"] == 24
    assert not [r for r, _ in planned(cwd, target, "--configfile", "local.yaml")]  # unchanged: nothing to do
    (cwd / "main.yaml").write_text("problems: {pool: {revision: main}}\n")
    config = ["--configfile", "local.yaml", "main.yaml"]
    assert [r for r, _ in planned(cwd, target, *config)] == ["problems"]
    snakemake(cwd, *config, "--cores", "1", target, env=env)
    assert json.loads(summary.read_text())["rows"]["pool"]["rows"] == 30
