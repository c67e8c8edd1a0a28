"""LLM engines in every role, through Snakemake: a teacher and a compressor that are real (small) language models,
reached through the ``openai`` engine (a ``transformers serve`` the job starts) and through the ``hf`` engine.

The models are demo students trained here first (a raw-trace student writes long reasoning, a compressed-trace
student short reasoning), so the served teacher really solves problems and verification has real traces to keep."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from compress_distill import compressor, problems, student, teacher, trainer
from conftest import ARITH, copy_workflow
from test_workflow import REDUCED, snakemake

SERVE = {"kind": "transformers", "device": "cpu", "startup_timeout_s": 120}


def _fine_tune(base_dir, tokenizer, examples, epochs, per_step, out_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir)
    hp = {"max_length": 256, "examples_per_step": per_step, "epochs": epochs, "lr": 1e-3, "weight_decay": 0.01,
          "warmup_ratio": 0.05, "max_tokens_per_microbatch": 8192, "max_grad_norm": 1.0}
    model, _, _ = trainer.train(model, tokenizer, examples, hp, seed=0, log=lambda *_: None)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return str(out_dir)


@pytest.fixture(scope="session")
def llms(tmp_path_factory):
    """(raw-trace student, compressed-trace student) folders, trained on demo-like data from a seed."""
    from transformers import AutoTokenizer

    root = tmp_path_factory.mktemp("llms")
    pool = problems.synthetic_arithmetic(ARITH, {"pool": 800}, seed=11)["pool"]
    spec = {"verbosity": 2, "self_check": 0.6, "error_rate": 0.0, "no_answer_rate": 0.0, "max_tokens": 200}
    reqs = teacher.requests_for(pool, "{question}", 0, "train")
    raw = [c.text for c in teacher.SyntheticTeacher(spec).generate(reqs)]
    lean = compressor.ExtractiveCompressor({"keep": "equations", "dedupe": True})
    student.train_tokenizer([p["question"] + "\n" + t for p, t in zip(pool, raw)]
                            + problems.pretraining_corpus(ARITH), 1024, root / "tok")
    tokenizer = AutoTokenizer.from_pretrained(root / "tok")
    arch = {"hidden_size": 96, "intermediate_size": 384, "num_hidden_layers": 3, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 24, "max_position_embeddings": 512, "tie_word_embeddings": True}
    model = student.build_model({"architecture": arch}, tokenizer, seed=0)
    student.pretrain(model, tokenizer, problems.pretraining_corpus(ARITH),
                     {"steps": 800, "lr": 3e-3, "weight_decay": 0.01, "warmup_ratio": 0.05, "seq_len": 128,
                      "batch_size": 16}, seed=0, log=lambda *_: None)
    model.save_pretrained(root / "base")
    raw_ex = [{"question": p["question"], "completion": t} for p, t in zip(pool, raw)]
    comp_ex = [{"question": e["question"], "completion": lean.compress(e["completion"])} for e in raw_ex]
    return (_fine_tune(root / "base", tokenizer, raw_ex, 12, 8, root / "raw"),
            _fine_tune(root / "base", tokenizer, comp_ex, 12, 8, root / "compressed"))


@pytest.mark.parametrize("served_role", ["teacher", "compressor"])
def test_llm_teacher_and_compressor_through_snakemake(llms, tmp_path, served_role):
    raw_student, compressed_student = llms
    work = copy_workflow(tmp_path / "wf")
    (work / "prompts/bare.txt").write_text("{question}")
    cfg = yaml.safe_load((work / REDUCED).read_text())
    served = lambda model: {"kind": "openai", "model": model, "serve": SERVE, "max_tokens": 160,  # noqa: E731
                            "temperature": 0.0, "concurrency": 4}
    local = lambda model: {"kind": "hf", "model": model, "max_new_tokens": 160, "batch_size": 32}  # noqa: E731
    teacher_engine = served(raw_student) if served_role == "teacher" else local(raw_student)
    compressor_engine = served(compressed_student) if served_role == "compressor" else local(compressed_student)
    cfg["teachers"] = {"llm": {"engine": teacher_engine, "prompt": "prompts/bare.txt"}}
    cfg["compressors"] = {"llm": {"engine": compressor_engine, "prompt": "prompts/bare.txt", "retries": 1}}
    cfg["grid"] = [{"name": "main", "teachers": ["llm"], "students": ["small"], "regimes": ["full"],
                    "targets": ["raw", "compressed-llm", "truncated-llm", "answer-only"]}]
    # students are evaluated through a server they are given in one case, locally in the other
    evaluation_engine = {k: v for k, v in served(None).items() if k != "model"}
    cfg["evaluation"]["engine"] = evaluation_engine if served_role == "teacher" else {"kind": "hf"}
    (work / "llm.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "--configfile", "llm.yaml", "--cores", "2")
    tables = work / "results/reduced/tables"
    verification = pd.read_csv(tables / "verification.csv").iloc[0]
    assert verification["kept"] >= 0.3 * verification["traces"]  # the LLM teacher solves problems
    compression = pd.read_csv(tables / "compression.csv").iloc[0]
    assert compression["traces_out"] >= 0.3 * compression["traces_in"] and compression["char_ratio"] < 0.7
    grid = pd.read_csv(tables / "main_grid.csv")
    assert (grid["train_examples"] > 0).all() and len(grid) == 4
    log = (work / "results/reduced/logs" / ("teacher_generate/llm/0000.log" if served_role == "teacher"
                                            else "compress/llm/llm/0000.log")).read_text()
    assert "served model: healthy" in log
    traces = [json.loads(l) for l in (work / "results/reduced/teachers/llm/verified/0000.jsonl").read_text().splitlines()]
    assert traces and all(t["text"].startswith("<think>") for t in traces)
