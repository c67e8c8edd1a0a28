"""LLM engines in every role, through Snakemake: a teacher and a compressor that are real (small) language models,
each reached through the ``openai`` engine (a ``transformers serve`` its job starts); the ``hf`` engine evaluates the
students here and plays both roles in tests/test_real_model.py.

The models are demo students trained first (tests/llm_students.py: a raw-trace student writes long reasoning, a
compressed-trace student short reasoning), so the served teacher really solves problems and verification has real
traces to keep."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from conftest import REDUCED, copy_workflow, snakemake
from llm_students import COMPRESS_PROMPT, demo_data, fine_tuned

SERVE = {"kind": "transformers", "device": "cpu", "startup_timeout_s": 120}


@pytest.fixture(scope="module")
def llms(tmp_path_factory, worker_id):
    """(raw-trace student, compressed-trace student) folders, fully fine-tuned; the compressed one first (the
    raw-trace one is also tests/test_llm_students.py's, which builds it meanwhile on its worker)."""
    data = demo_data(tmp_path_factory, worker_id)
    compressed = fine_tuned(data, "compressed", tmp_path_factory, worker_id)
    return fine_tuned(data, "raw", tmp_path_factory, worker_id), compressed


def test_llm_teacher_and_compressor_served_through_snakemake(llms, tmp_path):
    """The raw-trace student as the teacher and the compressed-trace student as the compressor, each served by the
    ``transformers serve`` its job starts (tests/test_real_model.py runs both roles on the ``hf`` engine)."""
    raw_student, compressed_student = llms
    work = copy_workflow(tmp_path / "wf")
    (work / "prompts/bare.txt").write_text("{question}")
    (work / "prompts/compress.txt").write_text(COMPRESS_PROMPT)
    cfg = yaml.safe_load((work / REDUCED).read_text())
    # half the reduced run's problems and benchmark, in one shard (one server per role): served generation and
    # server start-ups are most of this run's time
    cfg["problems"]["pool"]["size"], cfg["problems"]["benchmarks"]["arith"]["size"] = 80, 20
    cfg["problems"]["shards"] = 1
    served = lambda model: {"kind": "openai", "model": model, "serve": SERVE, "max_tokens": 160,  # noqa: E731
                            "temperature": 0.0, "concurrency": 4}
    cfg["teachers"] = {"llm": {"engine": served(raw_student), "prompt": "prompts/bare.txt"}}
    cfg["compressors"] = {"llm": {"engine": served(compressed_student), "prompt": "prompts/compress.txt",
                                  "retries": 1}}
    cfg["grid"] = [{"name": "main", "teachers": ["llm"], "students": ["small"], "regimes": ["full"],
                    "targets": ["raw", "compressed-llm", "truncated-llm", "answer-only"]}]
    cfg["evaluation"]["engine"] = {"kind": "hf"}
    (work / "llm.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "--configfile", "llm.yaml", "--cores", "2")
    tables = work / "results/reduced/tables"
    verification = pd.read_csv(tables / "verification.csv").iloc[0]
    assert verification["kept"] >= 0.3 * verification["traces"]  # the LLM teacher solves problems
    compression = pd.read_csv(tables / "compression.csv").iloc[0]
    assert compression["traces_out"] >= 0.3 * compression["traces_in"] and compression["char_ratio"] < 0.7
    grid = pd.read_csv(tables / "main_grid.csv")
    assert (grid["train_examples"] > 0).all() and len(grid) == 4
    for log in ("teacher_generate/llm/0000.log", "compress/llm/llm/0000.log"):
        assert "served model: healthy" in (work / "results/reduced/logs" / log).read_text()
    verified = (work / "results/reduced/teachers/llm/verified/0000.jsonl").read_text().splitlines()
    traces = [json.loads(line) for line in verified]
    assert traces and all(t["text"].startswith("<think>") for t in traces)
