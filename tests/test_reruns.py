"""Reruns follow content, not clocks, on a finished reduced run: a clone with the results copied in, a `touch` of
every file, and comment or docstring edits plan nothing; real edits rerun their stage and what follows, and never
the expensive generation stages they do not reach; guarded generations stop a run before any job starts."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from compress_distill.infra import identity
from conftest import REDUCED, ROOT, copy_workflow, planned, rules_of, snakemake

GENERATION = {"problems", "teacher_generate", "verify", "compress"}


def touch_all(root: Path, skip=("results", ".snakemake")) -> int:
    now = time.time() + 5  # later than every output, whatever the file system's clock granularity
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            os.utime(Path(dirpath) / name, (now, now))
            count += 1
    return count


@pytest.fixture
def edited(workdir):
    """Change a file of the scratch copy; restore its content and mtime afterwards."""
    saved = []

    def edit(rel: str, old: str | None = None, new: str = "\n_EDIT = 1\n"):
        path = workdir / rel
        saved.append((path, path.read_bytes(), path.stat().st_mtime_ns))
        text = path.read_text()
        assert old is None or old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1) if old else text + new)

    yield edit
    for path, content, mtime in saved:
        path.write_bytes(content)
        os.utime(path, ns=(mtime, mtime))


def test_a_fresh_clone_with_the_results_copied_in_plans_nothing(finished, tmp_path):
    clone = copy_workflow(tmp_path / "clone")
    assert touch_all(clone) > 50  # a clone's files are all newer than the results
    (clone / "results").mkdir()
    subprocess.run(["cp", "-a", str(finished), str(clone / "results")], check=True)  # times kept, no .snakemake/
    assert not (clone / ".snakemake").exists()
    assert planned(clone, "--configfile", REDUCED) == []


def test_touching_every_file_of_the_workflow_plans_nothing(finished, workdir):
    assert touch_all(workdir) > 50  # scripts, package, rules, prompts, presets, config, schemas
    assert planned(workdir, "--configfile", REDUCED) == []


def test_comment_and_docstring_edits_plan_nothing(finished, workdir, edited):
    edited("compress_distill/stages/truncation.py", new="\n# a comment\n")
    edited("compress_distill/stages/teacher.py", old='"""', new='"""A docstring edit. ')
    edited("workflow_scripts/truncate.py", new="\n\n# a comment at the end\n")
    assert planned(workdir, "--configfile", REDUCED) == []


def test_a_real_edit_of_truncation_reruns_truncation_and_what_follows_only(finished, workdir, edited):
    edited("compress_distill/stages/truncation.py")
    jobs = planned(workdir, "--configfile", REDUCED)
    assert "truncate" in rules_of(jobs)
    assert not rules_of(jobs) & (GENERATION | {"tokenizer", "pretrain", "selection"})
    assert {wc["target"] for rule, wc in jobs if rule in ("target", "train")} == {"truncated-lean"}


def test_editing_figure_code_plans_only_figures(finished, workdir, edited):
    edited("compress_distill/analysis/figures.py")
    assert rules_of(planned(workdir, "--configfile", REDUCED)) == {"figures", "manifest", "all"}


def test_a_change_that_regenerates_teacher_traces_says_so_in_the_dry_run(finished, workdir, edited):
    edited("compress_distill/stages/teacher.py")
    out = snakemake(workdir, "-n", "--configfile", REDUCED).stdout
    block = out.split("rule teacher_generate:", 1)[1].split("\n[", 1)[0]
    assert "Params have changed since last execution" in block and "compress_distill/stages/teacher.py" in block
    changed = snakemake(workdir, "--list-changes", "params", "--configfile", REDUCED).stdout
    assert "results/reduced/teachers/verbose/generated/0000.jsonl" in changed


def _finished_copy(finished, workdir, tmp_path) -> Path:
    """A copy of the finished run with Snakemake's metadata, so the shared run is left as it was."""
    copy = copy_workflow(tmp_path / "copy")
    (copy / "results").mkdir()
    subprocess.run(["cp", "-a", str(finished), str(copy / "results")], check=True)
    subprocess.run(["cp", "-a", str(workdir / ".snakemake"), str(copy)], check=True)
    return copy


def test_after_an_upgrade_that_moves_code_touch_once_and_nothing_reruns(finished, workdir, tmp_path):
    """The README's "Upgrading": a release that moves code changes every job's identity, not its results; a user
    with finished results runs `snakemake --touch` once."""
    copy = _finished_copy(finished, workdir, tmp_path)
    start = copy / "compress_distill/infra/jobstart.py"  # every rule's script starts its job with it
    start.write_text(start.read_text() + "\n_EDIT = 1\n")
    assert rules_of(planned(copy, "--configfile", REDUCED)) >= {"problems", "teacher_generate", "train", "tables"}
    snakemake(copy, "--configfile", REDUCED, "--touch", "--cores", "1")
    assert planned(copy, "--configfile", REDUCED) == []


def test_protected_generations_stop_the_run_before_any_job_and_touch_accepts(finished, workdir, tmp_path):
    copy = _finished_copy(finished, workdir, tmp_path)
    cfg = yaml.safe_load((copy / REDUCED).read_text())
    cfg["protect_generations"] = True
    protect = copy / "protect.yaml"
    protect.write_text(yaml.safe_dump(cfg))
    assert planned(copy, "--configfile", str(protect)) == []  # guarding changes no result: nothing to do
    teacher = copy / "compress_distill/stages/teacher.py"
    teacher.write_text(teacher.read_text() + "\n_EDIT = 1\n")
    traces = copy / "results/reduced/teachers/verbose/generated/0000.jsonl"
    before = (traces.read_bytes(), traces.stat().st_mtime_ns)
    proc = snakemake(copy, "--configfile", str(protect), "--cores", "2", check=False)
    assert proc.returncode != 0
    message = proc.stdout + proc.stderr
    assert "protect_generations: this run would regenerate 12 existing" in message  # 4 traces + their 8 compressions
    assert "results/reduced/teachers/verbose/generated/0000.jsonl: code: compress_distill/stages/teacher.py" in message
    assert (traces.read_bytes(), traces.stat().st_mtime_ns) == before  # nothing ran
    snakemake(copy, "--configfile", str(protect), "--touch", "--cores", "1")  # accept the change
    assert planned(copy, "--configfile", str(protect)) == []


def forget_parsed_files():
    """A file is parsed once per process (a Snakemake run never edits code); this test edits it in between."""
    for cached in (identity._parsed, identity.imports_in, identity.source_digest):
        cached.cache_clear()


def test_identity_follows_what_runs_not_how_it_is_written(tmp_path):
    root = tmp_path / "w"
    copy_workflow(root)
    before = identity.code_identity(root, "workflow_scripts/train.py")
    assert {"compress_distill/training/trainer.py", "compress_distill/training/fsdp.py"} <= set(before["code"])
    assert "compress_distill/stages/compressor.py" in identity.code_identity(root, "workflow_scripts/tables.py")["code"]
    assert {"torch", "transformers", "peft"} <= set(before["software"])
    assert "torch" not in identity.code_identity(root, "workflow_scripts/verify.py")["software"]
    trainer = root / "compress_distill/training/trainer.py"
    source = trainer.read_text()
    trainer.write_text(source.replace('"""', '"""Reworded. ', 1) + "\n# note\n")
    forget_parsed_files()
    assert identity.code_identity.__wrapped__(root, "workflow_scripts/train.py") == before
    trainer.write_text(source + "\nX = 1\n")
    forget_parsed_files()
    after = identity.code_identity.__wrapped__(root, "workflow_scripts/train.py")
    assert [f for f in after["code"] if after["code"][f] != before["code"][f]] == ["compress_distill/training/trainer.py"]


def test_every_rule_carries_its_identity_and_no_code_file_is_an_input():
    rules = "".join(p.read_text() for p in (ROOT / "rules").glob("*.smk"))
    blocks = re.split(r"\n(?=rule |use rule )", rules)
    name = lambda block: re.match(r"(?:use rule \w+ as |rule )(\w+)", block).group(1)  # noqa: E731
    # each script rule carries one; a `use rule … with: params:` replaces the params, so it restates it — except the
    # report's pages, whose parameters the report shows: `make report` rebuilds them every time instead
    carrying = {name(b) for b in blocks if re.match(r"(?:use )?rule ", b) and ("script:" in b or "use rule" in b)}
    pages = set(re.search(r"^REPORT_PAGES := (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1).split())
    assert pages < carrying and "--forcerun $(REPORT_PAGES)" in (ROOT / "Makefile").read_text()
    assert {name(b) for b in blocks if "identity=" in b} == carrying - pages and len(carrying - pages) > 10
    assert "code=" not in rules and "compress_distill/" not in rules
