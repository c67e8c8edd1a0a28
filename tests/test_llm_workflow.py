"""LLM engines in every role, through Snakemake: a teacher and a compressor that are real (small) language models,
each reached through the ``openai`` engine (a ``transformers serve`` its job starts); the ``hf`` engine evaluates the
students here and plays both roles in tests/test_real_model.py.

The models are demo students trained here first (a raw-trace student writes long reasoning, a compressed-trace
student short reasoning), so the served teacher really solves problems and verification has real traces to keep."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from compress_distill.config.settings import TrainingSettings
from compress_distill.core import target
from compress_distill.core.prompts import fill_template
from compress_distill.engines import registry
from compress_distill.models import student
from compress_distill.stages import teacher
from compress_distill.synthetic import arithmetic
from compress_distill.synthetic.compressors import ExtractiveCompressor
from compress_distill.synthetic.teacher import SyntheticTeacher
from compress_distill.training import trainer
from conftest import REDUCED, ROOT, copy_workflow, snakemake

DEMO = yaml.safe_load((ROOT / "presets/demo.yaml").read_text())
# the demo's task: 900 distinct problems up to operand order need its operand range
ARITH = DEMO["problems"]["arithmetic"]

SERVE = {"kind": "transformers", "device": "cpu", "startup_timeout_s": 120}


def _fine_tune(base_dir, tokenizer, examples, epochs, per_step, out_dir, lora=None, lr=1e-3):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir)
    hp = {"max_length": 256, "examples_per_step": per_step, "epochs": epochs, "lr": lr, "weight_decay": 0.01,
          "warmup_ratio": 0.05, "max_tokens_per_microbatch": 8192, "max_grad_norm": 1.0, "packing": False}
    model, _, _ = trainer.train(model, tokenizer, examples, TrainingSettings.of(hp), seed=0, lora=lora,
                                log=lambda *_: None)
    if lora:
        model = model.merge_and_unload()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return str(out_dir)


COMPRESS_PROMPT = "{question}\n{trace}"


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """A base of the demo's `small` size pre-trained on the demo's facts, its tokenizer, and raw / compressed /
    answer-only training examples from the demo's verbose teacher (fine-tuned longer than the demo trains: the
    fine-tunes serve as the LLM teacher and compressor below)."""
    from transformers import AutoTokenizer

    root = tmp_path_factory.mktemp("llms")
    pool = arithmetic.synthetic_arithmetic(ARITH, {"pool": 800}, seed=11)["pool"]
    spec = {"verbosity": 2, "self_check": 0.6, "error_rate": 0.0, "no_answer_rate": 0.0, "max_tokens": 200}
    reqs = teacher.requests_for(pool, "{question}", 0, "train")
    raw = [c.text for c in SyntheticTeacher(spec).generate(reqs)]
    lean = ExtractiveCompressor({"keep": "equations", "dedupe": True})
    student.train_tokenizer([p["question"] + "\n" + t for p, t in zip(pool, raw)]
                            + arithmetic.pretraining_corpus(ARITH), 1024, root / "tok")
    tokenizer = AutoTokenizer.from_pretrained(root / "tok")
    model = student.build_model(DEMO["students"]["small"]["model"], tokenizer, seed=0)
    student.pretrain(model, tokenizer, arithmetic.pretraining_corpus(ARITH),
                     {"steps": 800, "lr": 3e-3, "weight_decay": 0.01, "warmup_ratio": 0.05, "seq_len": 128,
                      "batch_size": 16}, seed=0, log=lambda *_: None)
    model.save_pretrained(root / "base")
    raw_ex = [{"question": p["question"], "completion": t} for p, t in zip(pool, raw)]
    # the compressed-trace student is also the stand-in LLM compressor: it reads what a compressor is sent
    comp_ex = [{"question": fill_template(COMPRESS_PROMPT, question=e["question"], trace=e["completion"]),
                "completion": lean.compress(e["completion"])} for e in raw_ex]
    answer_ex = [{"question": p["question"], "completion": target.answer_only_text(p["answer"])} for p in pool]
    return {"root": root, "tokenizer": tokenizer, "raw": raw_ex, "compressed": comp_ex, "answer-only": answer_ex}


@pytest.fixture(scope="session")
def llms(demo_data):
    """(raw-trace student, compressed-trace student) folders, fully fine-tuned."""
    d = demo_data
    return tuple(_fine_tune(d["root"] / "base", d["tokenizer"], d[t], *SCHEDULE, d["root"] / t)
                 for t in ("raw", "compressed"))


DEMO_LORA = DEMO["students"]["tiny"]["lora"]
# (epochs, examples per step), full fine-tuning and LoRA alike: 1,200 steps. Measured on held-out problems, raw-trace
# students: 77% (full) and 68% (LoRA) after 6 epochs, 5% and 12% after 3; answer-only students 3-5%
SCHEDULE = (6, 4)


def _evaluate(model_dir, n=100):
    """(accuracy, share of outputs that stopped on their own) on held-out problems, greedy, demo's cap."""
    from compress_distill.core.verifier import extract_answer, grade_many

    bench = arithmetic.synthetic_arithmetic(ARITH, {"pool": 800, "bench": n}, seed=11)["bench"]  # after the pool
    eng = registry.make_engine({"kind": "hf", "max_new_tokens": 160, "batch_size": 50}, model_path=model_dir)
    outs = eng.generate(teacher.requests_for(bench, "{question}", 0, "eval"))
    correct = grade_many("numeric", [(p["answer"], extract_answer(o.text) or "") for p, o in zip(bench, outs)])
    return sum(correct) / n, sum(o.finish_reason == "stop" for o in outs) / n


@pytest.mark.parametrize("tuning", ["full", "lora"])
def test_raw_trace_students_stop_on_their_own_and_beat_answer_only(demo_data, llms, tuning):
    """The end-of-turn token is trained: ≥ 95% of held-out outputs stop before the cap; and reasoning traces
    teach more than answers alone, fully fine-tuned and with LoRA."""
    d, lora = demo_data, DEMO_LORA if tuning == "lora" else None
    folders = {t: (llms[0] if t == "raw" and not lora else
                   _fine_tune(d["root"] / "base", d["tokenizer"], d[t], *SCHEDULE, d["root"] / f"{tuning}-{t}",
                              lora=lora, lr=3e-3 if lora else 1e-3))
               for t in ("raw", "answer-only")}
    (raw_acc, raw_stop), (ans_acc, ans_stop) = (_evaluate(folders[t]) for t in ("raw", "answer-only"))
    print(f"{tuning}: raw {raw_acc:.0%} (stopped {raw_stop:.0%}), answer-only {ans_acc:.0%} (stopped {ans_stop:.0%})")
    assert raw_stop >= 0.95 and ans_stop >= 0.95
    assert raw_acc > ans_acc


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
