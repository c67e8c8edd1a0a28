"""The worked examples of the README and docs/extending.md, applied verbatim to a copy of the workflow and run: a
table, a target kind, an engine kind and a dataset each take the places the pages name, and nothing else; an override
file, the cluster's site settings, and the workflow used as a Snakemake module from a folder of its own."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REDUCED, ROOT, copy_workflow, own_copy, planned, rules_of, snakemake

STEP = re.compile(r"<!-- extend (\w+): (append|create|after|merge) (?:\"([^\"]*)\" )?(\S+)(?: (\S+))? -->\n"
                  r"```\w*\n(.*?)```", re.S)


def steps(example: str) -> list[tuple]:
    pages = "".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    found = [m.groups()[1:] for m in STEP.finditer(pages) if m.group(1) == example]
    assert found, f"neither the README nor docs/ has an '{example}' example"
    return found


def _merge(base, extra):
    """Dicts merged key by key, lists extended (a new kind added to an enum, a rule to allOf)."""
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{k: _merge(base[k], v) if k in base else v for k, v in extra.items()}}
    if isinstance(base, list) and isinstance(extra, list):
        return base + extra
    return extra


def apply(example: str, cwd: Path, config: Path | None = None) -> dict | None:
    """Apply the README's steps for ``example`` in ``cwd``; a ``merge config`` step is merged into a copy of the
    reduced config written to ``config``, whose content is returned."""
    merged = None
    for action, anchor, path, key, text in steps(example):
        if action == "merge" and path == "config":
            merged = _merge(merged or yaml.safe_load((cwd / REDUCED).read_text()), yaml.safe_load(text))
            config.write_text(yaml.safe_dump(merged))
            continue
        target = cwd / path
        if action == "create":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        elif action == "append":
            target.write_text(target.read_text() + "\n\n" + text)
        elif action == "after":
            lines = target.read_text().splitlines(keepends=True)
            at = next(i for i, line in enumerate(lines) if line.strip() == anchor) + 1
            target.write_text("".join(lines[:at]) + text + "".join(lines[at:]))
        else:  # merge into a YAML file, under a $defs-style dotted key
            doc = yaml.safe_load(target.read_text())
            node = doc
            for part in key.split(".")[:-1]:
                node = node[part]
            node[key.split(".")[-1]] = _merge(node[key.split(".")[-1]], yaml.safe_load(text))
            target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return merged


def test_a_new_table_is_built_by_the_tables_job_alone(finished, workdir, tmp_path):
    cwd, run = own_copy(finished, workdir, tmp_path)
    apply("table", cwd)
    # the jobs that write tables, and what reads them: no generation, training or evaluation
    assert rules_of(planned(cwd, "--configfile", REDUCED)) <= {"tables", "dataset_rows", "figures", "manifest",
                                                               "report_table", "report_claims", "report_pages", "all"}
    snakemake(cwd, "--configfile", REDUCED, "--cores", "2")
    table = pd.read_csv(run / "tables/training_volume.csv")
    assert len(table) == len(list(run.glob("runs/*/*/*/*/seed*/metrics.json"))) > 0  # one row per trained run
    for row in table.itertuples():
        metrics = json.loads((run / f"runs/{row.teacher}/{row.student}/{row.regime}/{row.target}/seed{row.seed}"
                                    "/metrics.json").read_text())
        assert (row.train_tokens, row.completion_tokens) == (metrics["train_tokens"], metrics["completion_tokens"])


def test_a_new_target_kind_is_built_from_its_source_and_planned_by_the_grid(finished, workdir, tmp_path):
    cwd, run = own_copy(finished, workdir, tmp_path)
    apply("target", cwd)
    snakemake(cwd, "--configfile", REDUCED, "--cores", "2", "results/reduced/targets/verbose/full/unchecked.jsonl")
    read = lambda name: [json.loads(line) for line in  # noqa: E731
                         (run / f"targets/verbose/full/{name}.jsonl").read_text().splitlines()]
    raw, unchecked = read("raw"), read("unchecked")
    assert [e["id"] for e in unchecked] == [e["id"] for e in raw]
    checks = ("Let me check", "Check again", "Verify")
    for r, u in zip(raw, unchecked):
        kept = [line for line in r["completion"].split("\n") if not line.startswith(checks)]
        assert u["completion"].split("\n") == kept
    assert any(line.startswith(checks) for e in raw for line in e["completion"].split("\n"))
    cfg = yaml.safe_load((cwd / REDUCED).read_text())
    cfg["grid"][0]["targets"].append("unchecked")
    (cwd / "grid.yaml").write_text(yaml.safe_dump(cfg))
    train = [wc for rule, wc in planned(cwd, "--configfile", "grid.yaml") if rule == "train"]
    assert any(wc["target"] == "unchecked" for wc in train)


def test_a_new_engine_kind_compresses_and_its_keys_are_checked(finished, workdir, tmp_path):
    cwd, run = own_copy(finished, workdir, tmp_path)
    config = cwd / "last2.yaml"
    cfg = apply("engine", cwd, config)
    shard = "results/reduced/compressors/last2/verbose/0000.jsonl"
    snakemake(cwd, "--configfile", str(config), "--cores", "2", shard)
    records = [json.loads(line) for line in (cwd / shard).read_text().splitlines()]
    verified = (run / "teachers/verbose/verified/0000.jsonl").read_text().splitlines()
    assert len(records) == len(verified) > 0
    kept = [r for r in records if r["reject"] is None]
    assert kept and all(len(r["text"].split("</think>")[0].strip().splitlines()) <= 3 for r in kept)
    cfg["compressors"]["last2"]["engine"] = {"kind": "lastlines", "line": 2}
    config.write_text(yaml.safe_dump(cfg))
    proc = snakemake(cwd, "-n", "--configfile", str(config), check=False)
    assert proc.returncode != 0 and "compressors.last2.engine" in proc.stdout + proc.stderr
    assert "line" in proc.stdout + proc.stderr


def test_a_new_dataset_is_loaded_and_evaluated(tmp_path):
    cwd = copy_workflow(tmp_path / "wf")
    config = cwd / "wordsums.yaml"
    cfg = apply("dataset", cwd, config)
    snakemake(cwd, "--configfile", str(config), "--cores", "1", "results/reduced/problems/benchmarks/wordsums.jsonl")
    items = [json.loads(line) for line in (cwd / "results/reduced/problems/benchmarks/wordsums.jsonl")
             .read_text().splitlines()]
    rows = [json.loads(line) for line in (cwd / "data/wordsums.jsonl").read_text().splitlines()]
    assert [(i["question"], i["answer"]) for i in items] == [(r["problem"], r["solution"]) for r in rows]
    jobs = planned(cwd, "--configfile", str(config))
    trained = [wc for rule, wc in jobs if rule == "train"]
    assert sum(wc["benchmark"] == "wordsums" for rule, wc in jobs if rule == "evaluate") == len(trained) > 0
    assert cfg["problems"]["benchmarks"]["wordsums"]["path"] == "data/wordsums.jsonl"


@pytest.mark.parametrize("example", ["table", "target", "engine", "dataset"])
def test_every_readme_step_names_a_place_in_the_workflow(example):
    for action, anchor, path, key, _ in steps(example):
        if action in ("append", "after", "merge") and path != "config":
            assert (ROOT / path).exists(), path
        if action == "after":
            assert anchor in [line.strip() for line in (ROOT / path).read_text().splitlines()], (path, anchor)


def test_a_file_of_overrides_runs_over_its_preset(tmp_path):
    """The README's override file, applied verbatim: the demo's plan under the new run name, its training jobs given
    the new learning rate (the rule's settings param) and nothing else changed."""
    cwd = copy_workflow(tmp_path / "wf")
    apply("overrides", cwd)
    mine = planned(cwd, "--configfile", "mine.yaml")
    demo = planned(cwd, "--configfile", "presets/demo.yaml")
    assert sorted((r, sorted(w.items())) for r, w in mine) == sorted((r, sorted(w.items())) for r, w in demo)
    from compress_distill.planning.submissions import planned_dag

    with planned_dag(cwd / "mine.yaml", cwd) as (dag, _):
        trains = [job for job in dag.jobs if job.rule.name == "train"]
        assert trains and all(str(job.output[0]).startswith("results/mine/") for job in trains)
        lr = {job.wildcards.student: job.params.settings["lr"] for job in trains}
    students = yaml.safe_load((cwd / "presets/demo.yaml").read_text())["students"]
    assert lr == {name: s.get("training", {}).get("lr", 0.005) for name, s in students.items()}  # own ones stay


def test_the_readme_cluster_settings_place_every_job(tmp_path):
    """The README's `site:` file, applied verbatim over the paper preset: every job that asks for GPUs goes to the
    GPU partition with the GPU model, every other cluster job to the CPU one, all charged to the account."""
    cwd = copy_workflow(tmp_path / "wf")
    apply("cluster", cwd)
    site = yaml.safe_load((cwd / "site.yaml").read_text())["site"]
    from compress_distill.planning.submissions import planned_dag

    with planned_dag(cwd / "site.yaml", cwd) as (dag, local):
        placed = {(job.rule.name, bool(job.resources.get("gpu")), job.resources.get("slurm_partition"),
                   job.resources.get("slurm_account"), job.resources.get("gpu_model") or "") for job in dag.jobs
                  if job.rule.name not in {"all", "verify", "truncate", *local}}
    gpu_rules = {rule for rule, gpu, *_ in placed if gpu}
    assert {"teacher_generate", "compress", "train", "evaluate"} <= gpu_rules
    for rule, gpu, partition, account, model in placed:
        assert account == site["account"], rule
        assert (partition, model) == ((site["gpu_partition"], site["gpu_model"]) if gpu else
                                      (site["cpu_partition"], "")), rule
    assert any(not gpu for _, gpu, *_ in placed)


def test_the_workflow_runs_as_a_module_in_a_folder_of_its_own(finished, workdir, tmp_path):
    """docs/extending.md's module Snakefile, verbatim, in an empty folder beside a clone of the workflow, with the
    reduced configuration (the docs' demo, at a test's size) and one student's run as the target: every data file
    it writes has the bytes the workflow's own run wrote, and a second run plans nothing (the hooks kept each
    output's record)."""
    copy_workflow(tmp_path / "compress-distill")
    mine = tmp_path / "mystudy"
    mine.mkdir()
    apply("module", mine)
    shutil.copytree(tmp_path / "compress-distill/profiles", mine / "profiles")  # as the docs say
    (mine / "config/config.yaml").write_text(f"base: {REDUCED}\n")
    target = "results/reduced/runs/verbose/tiny/full/raw/seed0/eval/arith.jsonl"
    snakemake(mine, "--cores", "2", target)
    written = sorted(p.relative_to(mine) for p in (mine / "results").rglob("*.jsonl"))
    assert Path(target) in written and len(written) > 5
    for rel in written:
        assert (mine / rel).read_bytes() == (workdir / rel).read_bytes(), rel
    assert planned(mine, target) == []


def test_the_readme_pinned_student_trains_from_the_commit_its_revision_names(tmp_path, monkeypatch):
    """The README's pinned student, applied verbatim, planned offline against a hub cache whose `main` names a
    commit: every training job of that student starts from `<name>@<commit>`, the other student stays unpinned."""
    from huggingface_hub import constants

    from compress_distill.models import hub
    from compress_distill.planning.submissions import planned_dag

    cwd = copy_workflow(tmp_path / "wf")
    apply("models", cwd)
    commit = "c0ffee" + "0" * 34
    refs = tmp_path / "hub/models--Qwen--Qwen3-0.6B-Base/refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv(hub.PINS_ENV, raising=False)
    with planned_dag(cwd / "pinned.yaml", cwd) as (dag, _):
        bases = {(job.wildcards.student, job.params.student["model"]["hub"]) for job in dag.jobs
                 if job.rule.name == "train"}
    monkeypatch.delenv(hub.PINS_ENV, raising=False)  # the plan's resolutions, set in this process
    assert bases == {("qwen3_0.6b", f"Qwen/Qwen3-0.6B-Base@{commit}"), ("qwen3_1.7b", "Qwen/Qwen3-1.7B-Base")}
