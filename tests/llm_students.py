"""The demo's students as real (small) language models, shared by the LLM tests: ``tests/test_llm_students.py``
(reasoning traces teach more than answers, fully fine-tuned), ``tests/test_llm_lora.py`` (with LoRA) and
``tests/test_llm_workflow.py`` (a raw-trace student serves as the teacher, a compressed-trace one as the compressor).
Each model is built once per test session (``conftest.built_once``), so that these files run on workers of their own.

A base of the demo's `small` size is pre-trained on the demo's facts; raw / compressed / answer-only training
examples come from the demo's verbose teacher (fine-tuned longer than the demo trains)."""

from __future__ import annotations

from pathlib import Path

import yaml

from compress_distill.config.settings import TrainingSettings
from compress_distill.core import target
from compress_distill.core.prompts import fill_template
from compress_distill.engines import registry
from compress_distill.infra import io
from compress_distill.models import student
from compress_distill.stages import teacher
from compress_distill.synthetic import arithmetic
from compress_distill.synthetic.compressors import ExtractiveCompressor
from compress_distill.synthetic.teacher import SyntheticTeacher
from compress_distill.training import trainer
from conftest import ROOT, built_once

DEMO = yaml.safe_load((ROOT / "presets/demo.yaml").read_text())
# the demo's task: 900 distinct problems up to operand order need its operand range
ARITH = DEMO["problems"]["arithmetic"]
DEMO_LORA = DEMO["students"]["tiny"]["lora"]
COMPRESS_PROMPT = "{question}\n{trace}"
TARGETS = ("raw", "compressed", "answer-only")
# (epochs, examples per step), full fine-tuning and LoRA alike: 1,200 steps. Measured on held-out problems, raw-trace
# students: 77% (full) and 68% (LoRA) after 6 epochs, 5% and 12% after 3; answer-only students 3-5%
SCHEDULE = (6, 4)


def _build_data(root: Path) -> None:
    from transformers import AutoTokenizer

    pool = arithmetic.synthetic_arithmetic(ARITH, {"pool": 800}, seed=11)["pool"]
    spec = {"verbosity": 2, "self_check": 0.6, "error_rate": 0.0, "no_answer_rate": 0.0, "max_tokens": 200}
    raw = [c.text for c in SyntheticTeacher(spec).generate(teacher.requests_for(pool, "{question}", 0, "train"))]
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
    examples = {"raw": raw_ex,
                "compressed": [{"question": fill_template(COMPRESS_PROMPT, question=e["question"],
                                                          trace=e["completion"]),
                                "completion": lean.compress(e["completion"])} for e in raw_ex],
                "answer-only": [{"question": p["question"], "completion": target.answer_only_text(p["answer"])}
                                for p in pool]}
    for name, rows in examples.items():
        io.write_jsonl(root / f"{name}.jsonl", rows)


def demo_data(tmp_path_factory, worker_id) -> dict:
    """The pre-trained base's folder, its tokenizer and the training examples of each target."""
    from transformers import AutoTokenizer

    root = built_once("llm-data", _build_data, tmp_path_factory, worker_id)
    return {"root": root, "tokenizer": AutoTokenizer.from_pretrained(root / "tok"),
            **{name: io.read_jsonl(root / f"{name}.jsonl") for name in TARGETS}}


def fine_tuned(data: dict, name: str, tmp_path_factory, worker_id, lora=None) -> str:
    """The base fine-tuned on ``name``'s examples (LoRA merged), built once per session: its folder."""

    def build(out_dir):
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(data["root"] / "base")
        hp = {"max_length": 256, "examples_per_step": SCHEDULE[1], "epochs": SCHEDULE[0], "lr": 3e-3 if lora else 1e-3,
              "weight_decay": 0.01, "warmup_ratio": 0.05, "max_tokens_per_microbatch": 8192, "max_grad_norm": 1.0,
              "packing": False}
        model, _, _ = trainer.train(model, data["tokenizer"], data[name], TrainingSettings.of(hp), seed=0, lora=lora,
                                    log=lambda *_: None)
        (model.merge_and_unload() if lora else model).save_pretrained(out_dir)
        data["tokenizer"].save_pretrained(out_dir)

    return str(built_once(f"llm-{'lora' if lora else 'full'}-{name}", build, tmp_path_factory, worker_id))


def evaluate(model_dir, n=100):
    """(accuracy, share of outputs that stopped on their own) on held-out problems, greedy, demo's cap."""
    from compress_distill.core.verifier import extract_answer, grade_many

    bench = arithmetic.synthetic_arithmetic(ARITH, {"pool": 800, "bench": n}, seed=11)["bench"]  # after the pool
    eng = registry.make_engine({"kind": "hf", "max_new_tokens": 160, "batch_size": 50}, model_path=model_dir)
    outs = eng.generate(teacher.requests_for(bench, "{question}", 0, "eval"))
    correct = grade_many("numeric", [(p["answer"], extract_answer(o.text) or "") for p, o in zip(bench, outs)])
    return sum(correct) / n, sum(o.finish_reason == "stop" for o in outs) / n


def assert_traces_teach_more_than_answers(data, tmp_path_factory, worker_id, lora=None) -> None:
    """The end-of-turn token is trained: ≥ 95% of held-out outputs stop before the cap; and a raw-trace student is
    more accurate than an answer-only one."""
    (raw_acc, raw_stop), (ans_acc, ans_stop) = (
        evaluate(fine_tuned(data, t, tmp_path_factory, worker_id, lora)) for t in ("raw", "answer-only"))
    print(f"{'lora' if lora else 'full'}: raw {raw_acc:.0%} (stopped {raw_stop:.0%}), answer-only {ans_acc:.0%} "
          f"(stopped {ans_stop:.0%})")
    assert raw_stop >= 0.95 and ans_stop >= 0.95
    assert raw_acc > ans_acc
