"""Data-parallel training: `accelerate launch` with two CPU workers (gloo) ends where one process ends."""

from __future__ import annotations

import json

import pytest
import torch

from compress_distill import io, student, trainer
from conftest import TINY_ARCH
from test_trainer import EXAMPLES

HP = {"max_length": 512, "examples_per_step": 4, "epochs": 2, "lr": 1e-2, "weight_decay": 0.01, "warmup_ratio": 0.1,
      "max_tokens_per_microbatch": 4096, "max_grad_norm": 1.0, "packing": True}


@pytest.fixture(scope="module")
def job(tmp_path_factory, tiny_tokenizer):
    root = tmp_path_factory.mktemp("dp")
    base = root / "base"
    student.build_model({"architecture": TINY_ARCH}, tiny_tokenizer, seed=0).save_pretrained(base)
    tiny_tokenizer.save_pretrained(base)
    io.write_jsonl(root / "examples.jsonl", EXAMPLES * 5)  # 15 examples: 3 steps of 4 per epoch, uneven splits

    def spec(name):
        out = root / name
        out.mkdir()
        return {"base": str(base), "examples": str(root / "examples.jsonl"), "hp": HP, "seed": 0, "lora": None,
                "model": str(out / "model"), "metrics": str(out / "metrics.json"), "curve": str(out / "loss.csv"),
                "meta": {"run": name}, "gpus": 0}
    return spec


def _weights(folder):
    from transformers import AutoModelForCausalLM

    return dict(AutoModelForCausalLM.from_pretrained(folder).named_parameters())


def test_two_gloo_workers_give_the_single_process_result(job, tmp_path):
    one, two = job("one"), job("two")
    trainer.run_job(one, log=lambda *_: None)
    trainer.launch(two, processes=2, threads=2, log_path=tmp_path / "launch.log")
    log = (tmp_path / "launch.log").read_text()
    assert "accelerate" in log and "--num_processes 2" in log
    single, parallel = (json.loads(open(s["metrics"]).read()) for s in (one, two))
    assert (single["workers"], parallel["workers"]) == (1, 2)
    assert single["train_tokens"] == parallel["train_tokens"] and single["steps"] == parallel["steps"]
    for name, value in _weights(one["model"]).items():
        torch.testing.assert_close(_weights(two["model"])[name], value, rtol=1e-4, atol=1e-6, msg=name)
    losses = [open(s["curve"]).read().splitlines()[1:] for s in (one, two)]
    assert [float(r.split(",")[1]) for r in losses[0]] == pytest.approx([float(r.split(",")[1]) for r in losses[1]],
                                                                       abs=1e-5)
    # the control: training moved the weights, so agreeing is not trivially true
    from transformers import AutoModelForCausalLM

    base = dict(AutoModelForCausalLM.from_pretrained(one["base"]).named_parameters())
    assert any(not torch.allclose(base[n], w) for n, w in _weights(one["model"]).items())


def test_a_job_that_sees_fewer_gpus_than_it_asked_for_stops(job):
    spec = {**job("short"), "gpus": 2}
    with pytest.raises(RuntimeError, match="asked for 2 GPU"):
        trainer.run_job(spec, log=lambda *_: None)
