"""Shared fixtures: a tiny tokenizer and student built by the project's own code (no hub), and the repo root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compress_distill.synthetic import arithmetic

if os.environ.get("PYTEST_XDIST_WORKER"):  # one torch thread per worker, inherited by the processes tests start
    os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
ARITH = {"operations": [["+", "*"], ["*", "+"]], "max_operand": 9, "max_factor": 9}


@pytest.fixture(scope="session")
def arith() -> dict:
    return dict(ARITH)


# `make test` hands each pytest worker whole files in collection order (--dist loadfile --no-loadscope-reorder; xdist
# would otherwise put the files with the most tests first): the longest files, measured, go first, so that no worker
# is left alone with a long file at the end
LONGEST_FIRST = ["test_llm_students.py", "test_llm_lora.py", "test_llm_workflow.py", "test_faults.py", "test_real_model.py",
                 "test_workflow.py", "test_numerics.py", "test_reruns.py", "test_resume.py", "test_distributed.py"]


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory, arith):
    from transformers import AutoTokenizer

    from compress_distill.models import student

    folder = tmp_path_factory.mktemp("tokenizer")
    texts = arithmetic.pretraining_corpus(arith) + ["<think>\nLet me check: 3 + 4 = 7.\n</think>\nThe answer is \\boxed{7}."]
    student.train_tokenizer(texts, 320, folder)
    return AutoTokenizer.from_pretrained(folder)


HUB_CARD = """---
configs:
- config_name: main
  data_files:
  - split: train
    path: main/train-*
  - split: test
    path: main/test-*
---
{description}
"""


def write_hub_dataset(folder: Path, train: list[dict], test: list[dict], description: str) -> None:
    """A dataset in the hub's layout, as ``datasets.load_dataset(folder, "main")`` reads it: a card declaring the
    ``main`` config, one Parquet file per split."""
    import pandas as pd

    (folder / "main").mkdir(parents=True)
    pd.DataFrame(train).to_parquet(folder / "main/train-00000-of-00001.parquet")
    pd.DataFrame(test).to_parquet(folder / "main/test-00000-of-00001.parquet")
    (folder / "README.md").write_text(HUB_CARD.format(description=description))


WORKFLOW_PARTS = ["Snakefile", "config.yaml", "rules", "schemas", "presets", "prompts", "workflow_scripts",
                  "report", "compress_distill", "envs", "profiles", "tests/configs"]


def copy_workflow(dest: Path) -> Path:
    """A scratch copy of the workflow, so tests can run and edit it without touching the repository."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / part)
    return dest


def process_group_gone(pid: int) -> bool:
    """Whether the process group led by ``pid`` (a served model starts one) has no process left."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


TINY_ARCH = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 8, "max_position_embeddings": 256, "tie_word_embeddings": True}


@pytest.fixture
def tiny_model(tiny_tokenizer):
    from compress_distill.models import student

    return student.build_model({"architecture": TINY_ARCH}, tiny_tokenizer, seed=0)


BAD_ROWS = [  # (row, the reason it is dropped)
    ({"question": "Compute 1 + 2.", "answer": 3}, None),
    ({"question": "Compute 1 + 2."}, "missing_field"),
    ({"question": "  ", "answer": "1"}, "empty_question"),
    ({"question": None, "answer": "1"}, "empty_question"),
    ({"question": "Compute 2 + 2.", "answer": None}, "empty_answer"),
    ({"question": ["Compute 2 + 5."], "answer": "7"}, "not_text"),
    ({"question": "Compute 2 + 6.", "answer": {"value": 8}}, "not_text"),
    ({"question": "Compute 2 + 7.", "answer": True}, "not_text"),
    ({"question": "Compute " + "9 + " * 50 + "1.", "answer": "451"}, "question_too_long"),
    ({"question": "compute 1 +  2.", "answer": "3"}, "duplicate_question"),
    ({"question": "Compute 3 + 3.", "answer": "6"}, None),
]


EXAMPLES = [
    {"question": "Compute (2 + 3) * 4.", "completion": "<think>\n2 + 3 = 5.\n5 * 4 = 20.\n</think>\n\\boxed{20}"},
    {"question": "Compute (1 + 1) * 2.", "completion": "<think>\n</think>\n\\boxed{4}"},
    {"question": "Compute (9 * 9) + 9.",
     "completion": "<think>\n9 * 9 = 81.\n81 + 9 = 90.\nCheck: 81 + 9 = 90.\n</think>\n\\boxed{90}"},
]


REDUCED = "tests/configs/reduced.yaml"


def snakemake(cwd: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def planned(cwd: Path, *args: str) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job a dry run plans."""
    out = snakemake(cwd, "-n", *args).stdout
    jobs = []
    for block in re.split(r"\n(?= *(?:local)?rule \w+:)", out):  # a group job's rules are indented
        m = re.match(r" *(?:local)?rule (\w+):", block)
        if m:
            wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            pairs = dict(p.split("=", 1) for p in wc.group(1).split(", ")) if wc else {}
            jobs.append((m.group(1), pairs))
    return jobs


def rules_of(jobs) -> set[str]:
    return {rule for rule, _ in jobs}


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("workflow"))


def own_copy(finished: Path, workdir: Path, dest: Path) -> tuple[Path, Path]:
    """A copy of the session's finished run (workflow, results, Snakemake's metadata) that a test may change or
    damage: (its workflow folder, its run folder). Tests never rewrite the shared run that later tests read."""
    cwd = dest / "wf"
    shutil.copytree(workdir, cwd, symlinks=True)
    return cwd, cwd / finished.relative_to(workdir)


def _run_reduced(cwd: Path) -> None:
    snakemake(cwd, "--configfile", REDUCED, "--cores", "2")
    shutil.copy2(cwd / "results/reduced/manifest.json", cwd / "first-manifest.json")


def built_once(name: str, build, tmp_path_factory, worker_id: str) -> Path:
    """The folder ``build(folder)`` fills, built once per test session: under xdist by the first worker that needs
    it, in a folder the workers share (the others wait for it), so that files a few workers' tests read are not
    computed on each of them."""
    if worker_id == "master":
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / name  # this session's, common to its workers
    with FileLock(f"{shared}.lock"):
        if not (shared / ".built").exists():
            shutil.rmtree(shared, ignore_errors=True)  # what a failed attempt of another worker left
            shared.mkdir()
            build(shared)
            (shared / ".built").touch()
    return shared


@pytest.fixture(scope="session")
def finished(workdir, tmp_path_factory, worker_id) -> Path:
    """A finished reduced run in this worker's workflow copy; its first manifest is kept beside the workflow, since
    later tests rebuild parts. The run is computed once per test session (``built_once``) and copied with
    Snakemake's metadata and file times into each worker's copy (a worker's tests change their copy only)."""
    if worker_id == "master":
        _run_reduced(workdir)
    else:
        shared = built_once("reduced-run", lambda folder: _run_reduced(copy_workflow(folder)), tmp_path_factory,
                            worker_id)
        for part in ("results", ".snakemake"):
            shutil.copytree(shared / part, workdir / part, symlinks=True)
        shutil.copy2(shared / "first-manifest.json", workdir / "first-manifest.json")
    return workdir / "results" / "reduced"
