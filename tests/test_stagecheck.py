"""The GPU stage check at its tiny shape on CPU: the preset's training settings and LoRA reach the trainer, the
``hf`` engine evaluates the trained student, and the result names what ran (speed means nothing here)."""

from __future__ import annotations

import yaml

from compress_distill.checks import stagecheck
from compress_distill.config.validation import student_training
from compress_distill.infra import io
from conftest import ROOT

PRESET = ROOT / "presets/single-gpu.yaml"


def test_stage_check_trains_and_evaluates_a_preset_student(tmp_path):
    result = stagecheck.main(["--config", str(PRESET), "--student", "qwen3_0.6b", "--shape", "tiny",
                              "--examples", "64", "--items", "8", "--max-new-tokens", "8", "--out", str(tmp_path)])
    preset = yaml.safe_load(PRESET.read_text())
    training, evaluation = result["training"], result["evaluation"]
    per_step = student_training(preset, "qwen3_0.6b")["examples_per_step"]
    assert training["examples"] == 64 and training["steps"] == 64 // per_step
    assert 0 < training["trainable_parameters"] < training["parameters"]  # the preset's LoRA was applied
    assert (tmp_path / "model" / "adapter_config.json").exists()
    assert evaluation["items"] == 8 and evaluation["batch_size"] == preset["evaluation"]["batch_size"]
    assert 0 < evaluation["mean_output_tokens"] <= 8 and evaluation["dtype"] == "torch.float32"
    assert io.read_json(tmp_path / "stagecheck.json") == result


def test_examples_are_verified_traces_of_distinct_problems():
    examples, items = stagecheck.examples_and_items(40, 10, seed=3)
    assert len({e["question"] for e in examples} | {i["question"] for i in items}) == 50
    for example in examples:
        assert example["completion"].startswith("<think>\n") and "\\boxed{" in example["completion"]
