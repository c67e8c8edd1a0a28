"""The GPU script (tests/gpu/check.sh) run as a device call would run it, on CPU at its tiny sizes: every step
exits 0 and writes its file, so a session lent a GPU spends its minutes measuring, not debugging."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT, copy_workflow


def test_the_gpu_script_runs_every_step_and_writes_its_files(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    shutil.copytree(ROOT / "tests/gpu", wf / "tests/gpu")
    cfg = yaml.safe_load((ROOT / "tests/gpu/e2e.yaml").read_text())
    cfg["run"] = "cpu_e2e"
    student = cfg["students"].pop("qwen3_0.6b_shape")
    student["model"]["architecture"] = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
                                        "max_position_embeddings": 256, "tie_word_embeddings": True}
    student["pretrain"].update(steps=10, batch_size=8)
    student["resources"] = cfg["evaluation"]["resources"] = {"threads": 1}
    cfg["students"]["tiny"] = student
    # the smallest run with every stage: two targets, one epoch (the script's steps, not the numbers, are checked)
    cfg["grid"][0].update(students=["tiny"], targets=["raw", "compressed-lean"])
    cfg["training"]["epochs"] = 1
    cfg["problems"]["pool"]["size"], cfg["problems"]["benchmarks"]["arith"]["size"] = 60, 10
    cfg["evaluation"]["bootstrap_resamples"] = 200
    (wf / "cpu.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    # the e2e step's limit is the device call's; this machine's CPU, shared with other tests, is slower
    env = {**os.environ, "OUT": str(out), "SIZE": "tiny", "E2E": "cpu.yaml", "E2E_LIMIT": "600",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "tests/gpu/check.sh"], cwd=wf, env=env, capture_output=True, text=True,
                          timeout=900)
    summary = (out / "summary.txt").read_text()
    assert [line.split(":")[1].split(" after")[0] for line in summary.splitlines()] == [" exit 0"] * 3, (
        summary + proc.stdout[-3000:] + proc.stderr[-3000:])
    assert {p.name for p in out.iterdir()} == {"gpu.txt", "summary.txt", "benchmark.csv", "benchmark.md",
                                               "profile.md", "e2e_stages.md", "e2e_manifest.json", "logs.tar.gz"}
    assert "| train " in (out / "e2e_stages.md").read_text() and "| evaluate " in (out / "e2e_stages.md").read_text()
    assert json.loads((out / "e2e_manifest.json").read_text())["results"]["config"]["run"] == "cpu_e2e"
    assert "## trainer-masked" in (out / "profile.md").read_text()
