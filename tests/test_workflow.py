"""The workflow end to end through Snakemake, on a reduced demo in a scratch copy of the repository:
a full run, partial rebuilds, byte-identical reruns, lint, and the paper preset's planned grid."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REDUCED, ROOT, copy_workflow, own_copy, planned, rules_of, snakemake


def test_every_stage_has_data(finished):
    reduced = yaml.safe_load((ROOT / REDUCED).read_text())
    grid = pd.read_csv(finished / "tables" / "main_grid.csv")
    n_runs = sum(len(b["teachers"]) * len(b["students"]) * len(b["regimes"]) * len(b["targets"])
                 for b in reduced["grid"])
    assert len(grid) == n_runs * len(reduced["problems"]["benchmarks"])
    assert grid["accuracy"].between(0, 1).all() and (grid["mean_output_tokens"] > 0).all()
    assert (grid["accuracy_ci_low"] <= grid["accuracy"]).all() and (grid["accuracy"] <= grid["accuracy_ci_high"]).all()
    verification = pd.read_csv(finished / "tables" / "verification.csv")
    assert (verification["kept"] > 0).all() and (verification["kept"] < verification["traces"]).all()
    compression = pd.read_csv(finished / "tables" / "compression.csv").set_index(["teacher", "compressor"])
    assert (compression["traces_out"] > 0).all() and (compression["char_ratio"] < 1).all()
    # terse trains on `lean` only: `light` removes nothing there, has no trained ratio; verbose's adaptive target
    # may be made from either (its pilots pick per student), so both narrow verbose's problems
    for teacher, used in (("terse", ["lean"]), ("verbose", ["lean", "light"])):
        chosen = json.loads((finished / "targets" / teacher / "full" / "selection.json").read_text())
        assert chosen["compressors"] == used
        lean, light = compression.loc[(teacher, "lean")], compression.loc[(teacher, "light")]
        assert lean["trained_traces"] == len(chosen["ids"]) and lean["trained_char_ratio"] < 1
        assert lean["problems_removed_from_targets"] == lean["traces_in"] - lean["traces_out"]
        assert (light["problems_removed_from_targets"] > 0) == (teacher == "verbose") and light["traces_out"] > 0
    adaptive = pd.read_csv(finished / "tables" / "adaptive.csv")
    assert set(adaptive.student) == {"small", "tiny"} and (adaptive.groupby("student").chosen.sum() == 1).all()
    truncation = pd.read_csv(finished / "tables" / "truncation.csv")
    assert (truncation["traces"] > 0).all()
    for run in grid.itertuples():
        examples = finished / "targets" / run.teacher / run.regime / f"{run.target}.jsonl"
        if run.target == "adaptive":  # the chosen compressor's target, byte for byte
            chosen = adaptive[(adaptive.student == run.student) & adaptive.chosen].compressor.item()
            adapted = finished / "adaptive" / run.teacher / run.student / run.regime / "target.jsonl"
            examples = examples.with_name(f"compressed-{chosen}.jsonl")
            assert adapted.read_bytes() == examples.read_bytes()
        assert len(examples.read_text().splitlines()) == run.train_examples > 0
    selection = json.loads((finished / "targets" / "verbose" / "full" / "selection.json").read_text())
    ids = {json.loads(l)["id"] for l in (finished / "targets/verbose/full/raw.jsonl").read_text().splitlines()}
    assert ids == set(selection["ids"])
    for name in ("accuracy_vs_output_tokens", "flops_vs_accuracy", "per_token_efficiency", "ablation", "timings"):
        assert (finished / "figures" / f"{name}.png").stat().st_size > 1000
    manifest = json.loads((finished / "manifest.json").read_text())
    results = manifest["results"]
    assert "tables/main_grid.csv" in results["deterministic"] and "tables/timings.csv" in results["measured"]
    assert results["prompts"] and manifest["provenance"]["versions"]["torch"]
    assert not list(finished.glob("runs/**/*.ckpt"))  # checkpoints (every 2 steps here) are removed after the run
    metrics = json.loads(next(finished.glob("runs/*/*/*/raw/seed0/metrics.json")).read_text())
    assert {"train_tokens", "train_flops", "final_loss"} <= metrics.keys()
    assert {"wall_seconds", "tokens_per_second", "peak_memory_bytes"} <= metrics["measured"].keys()


# tables are written with 6 significant digits (tablefiles), so a value read back is within 5e-6 of itself
SIX_DIGITS = {"rel": 1e-5}


def _verdicts(finished, run, benchmark) -> np.ndarray:
    path = finished / "runs" / run.teacher / run.student / run.regime / run.target / f"seed{run.seed}/eval"
    return np.array([json.loads(line)["correct"] for line in (path / f"{benchmark}.jsonl").open()], dtype=float)


def test_every_claims_row_is_a_paired_difference_recomputed_from_the_runs(finished):
    """Each claims row, recomputed here from main_grid and the evaluation outputs: one comparison (a target against
    raw, or compression against truncation to its lengths) in one cell, on the seeds both sides trained, item by
    item; its interval holds the difference, a direction is read only where it excludes 0, ratios come from means."""
    tables_dir = finished / "tables"
    grid, claims = pd.read_csv(tables_dir / "main_grid.csv"), pd.read_csv(tables_dir / "claims.csv")
    cell = ["teacher", "student", "regime", "benchmark"]
    expected_pairs = set()
    for key, runs in grid.groupby(cell):
        targets = set(runs.target)
        expected_pairs |= {(*key, t, "raw") for t in targets if "raw" in targets and t not in ("raw", "answer-only")}
        expected_pairs |= {(*key, t, "truncated-" + t.split("-", 1)[1]) for t in targets
                           if t.startswith("compressed-") and "truncated-" + t.split("-", 1)[1] in targets}
    assert set(claims[[*cell, "target", "reference"]].itertuples(index=False, name=None)) == expected_pairs
    assert {"compressed-lean"} < set(claims.target) and "truncated-lean" in set(claims.reference)
    for row in claims.itertuples():
        runs = grid[(grid[cell] == [getattr(row, c) for c in cell]).all(axis=1)]
        a, b = runs[runs.target == row.target], runs[runs.target == row.reference]
        seeds = sorted(set(a.seed) & set(b.seed))
        assert row.seeds == len(seeds) > 0
        a, b = a[a.seed.isin(seeds)].sort_values("seed"), b[b.seed.isin(seeds)].sort_values("seed")
        per_seed = [(_verdicts(finished, x, row.benchmark) - _verdicts(finished, y, row.benchmark)).mean()
                    for x, y in zip(a.itertuples(), b.itertuples())]
        assert row.accuracy_difference == pytest.approx(np.mean(per_seed), abs=1e-6)
        assert row.difference_ci_low <= row.accuracy_difference <= row.difference_ci_high
        sign = np.sign(row.accuracy_difference)  # no direction, no agreement
        agree = sum(np.sign(d) == sign for d in per_seed) if sign else 0
        assert row.seeds_agreeing == f"{agree} of {len(seeds)}"
        assert row.reading == ("target ahead" if row.difference_ci_low > 0 else "reference ahead"
                               if row.difference_ci_high < 0 else "within noise")
        assert row.train_tokens_pct == pytest.approx(100 * a.train_tokens.mean() / b.train_tokens.mean(), **SIX_DIGITS)
        assert row.output_length_reduction_x == pytest.approx(
            b.mean_output_tokens.mean() / a.mean_output_tokens.mean(), **SIX_DIGITS)
        assert row.interval_over == ("seeds and items" if len(seeds) > 1 else "items only (one seed)")
        # a speed-up only from fair timings: jobs that shared the CPU cores (two at once here) are not claimed
        assert np.isnan(row.speedup_x) and isinstance(row.speedup_note, str)


def test_job_logs_read_as_lines_with_rate_and_eta(finished):
    """Logs are files: no carriage-return progress bars in them; generation, compression, evaluation and training say
    how far they are, how fast and how long is left."""
    logs = [p for p in finished.rglob("*.log") if p.is_file()]
    assert len(logs) > 40 and not [p for p in logs if "\r" in p.read_text()]
    eta = re.compile(r"\(\d+\.\d\d s/(request|step), ETA \dh\d\dm\d\ds\)")
    for pattern in ("logs/teacher_generate/*/*.log", "logs/compress/*/*/*.log", "runs/*/*/*/*/seed0/eval/*.log",
                    "runs/*/*/*/*/seed0/train.log"):
        found = sorted(finished.glob(pattern))
        assert found and all(eta.search(p.read_text()) for p in found), pattern


def test_a_finished_run_plans_nothing(finished, workdir):
    assert planned(workdir, "--configfile", REDUCED) == []


def test_changing_one_compressor_reruns_only_what_depends_on_it(finished, workdir, tmp_path):
    cfg = yaml.safe_load((workdir / REDUCED).read_text())
    cfg["compressors"]["light"]["engine"]["dedupe"] = True
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(cfg))
    jobs = planned(workdir, "--configfile", str(changed))
    assert {wc["compressor"] for rule, wc in jobs if rule in ("compress", "truncate")} == {"light"}
    assert not rules_of(jobs) & {"problems", "teacher_generate", "verify", "tokenizer", "pretrain"}
    # only the verbose teacher's adaptive target is made from `light` (its pilots pick among every compressor): the
    # terse teacher's problem ids, targets and runs do not depend on it
    assert {wc["teacher"] for rule, wc in jobs if rule in ("selection", "target", "train", "evaluate")} == {"verbose"}
    assert {"pilot_train", "adaptive_target", "tables", "figures", "manifest"} <= rules_of(jobs)
    cfg["compressors"]["lean"]["engine"]["dedupe"] = False  # one that both teachers' targets are made from
    changed.write_text(yaml.safe_dump(cfg))
    jobs = planned(workdir, "--configfile", str(changed))
    assert {wc["teacher"] for rule, wc in jobs if rule in ("selection", "train")} == {"verbose", "terse"}


def test_the_adaptive_choice_reads_the_validation_set_never_a_benchmark(finished, workdir, tmp_path):
    """Benchmark items changed (fewer of them): the problems job reruns, the pool and the validation set come out the
    same, and so do the pilots' validation outputs and each student's choice."""
    cwd, run = own_copy(finished, workdir, tmp_path)
    choices = sorted(run.glob("adaptive/*/*/*/choice.json"))
    kept = [*choices, *sorted(run.glob("adaptive/*/*/*/pilot/*/validation.jsonl"))]
    before = {p: p.read_bytes() for p in kept}
    bench = run / "problems/benchmarks/arith.jsonl"
    bench_before = bench.read_bytes()
    cfg = yaml.safe_load((cwd / REDUCED).read_text())
    cfg["problems"]["benchmarks"]["arith"]["size"] -= 10
    (cwd / "changed.yaml").write_text(yaml.safe_dump(cfg))
    targets = [str(p.relative_to(cwd)) for p in choices]
    out = snakemake(cwd, *targets, "--configfile", "changed.yaml", "--cores", "2", "--forcerun", "problems").stderr
    assert "rule pilot_train" in out and "rule adaptive_target" in out  # recomputed, not left alone
    assert bench.read_bytes() != bench_before  # the benchmark did change
    assert len(choices) == 2 and {p: p.read_bytes() for p in kept} == before
    validation = len((run / "problems/validation.jsonl").read_text().splitlines())
    for choice in choices:  # the evidence is the validation set's
        assert {p["items"] for p in json.loads(choice.read_text())["pilots"]} == {validation}


def test_execution_settings_rerun_nothing(finished, workdir, tmp_path):
    cfg = yaml.safe_load((workdir / REDUCED).read_text())
    cfg["teachers"]["verbose"]["chunk_size"] = 7
    cfg["students"]["small"]["resources"] = {"runtime": 999, "mem_mb": 1234}
    cfg["evaluation"]["chunk_size"] = 3
    cfg["training"]["checkpoint_every"] = 5
    changed = tmp_path / "execution.yaml"
    changed.write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert planned(workdir, "--configfile", str(changed)) == []


# Snakemake's machine-readable lints: its CLI drops `--lint json` (9.27 prints text), so through its API
LINT_JSON = """
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

with SnakemakeApi(OutputSettings()) as api:
    api.workflow(resource_settings=ResourceSettings(), snakefile=Path("Snakefile").resolve(), workdir=Path.cwd(),
                 config_settings=ConfigSettings(configfiles=[Path(sys.argv[1]).resolve()])).lint(json=True)
"""


def lints(cwd, preset) -> dict:
    proc = subprocess.run([sys.executable, "-c", LINT_JSON, preset], cwd=cwd, capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout[proc.stdout.index("{"):])


@pytest.mark.parametrize("preset", ["presets/demo.yaml", "presets/single-gpu.yaml", "config.yaml"])
def test_lint_is_clean(workdir, preset):
    found = lints(workdir, preset)
    assert found == {"snakefiles": [], "rules": []}, json.dumps(found, indent=1)[:3000]


def test_lint_would_see_a_rule_without_a_log(workdir, tmp_path):
    cwd = copy_workflow(tmp_path / "wf")
    with open(cwd / "rules/report.smk", "a") as fh:
        fh.write('\n\nrule unlogged:\n    output:\n        "unlogged.txt",\n    shell:\n        "touch {output}"\n')
    found = lints(cwd, "presets/demo.yaml")
    assert [r["for"]["rule"] for r in found["rules"]] == ["unlogged"]
    assert "No log directive defined" in [lint["title"] for lint in found["rules"][0]["lints"]]


def test_paper_preset_plans_48_plus_7_training_runs_without_gpu_or_hub(workdir):
    jobs = planned(workdir)  # the paper preset is the default config
    train = [wc for rule, wc in jobs if rule == "train"]
    assert len(train) == 55
    assert sum(wc["target"].startswith("truncated-") for wc in train) == 7
    assert len([1 for rule, _ in jobs if rule == "evaluate"]) == 55 * 2


def test_a_bad_config_stops_snakemake_naming_the_key(workdir, tmp_path):
    cfg = yaml.safe_load((workdir / REDUCED).read_text())
    cfg["evaluation"]["max_new_tokens"] = "many"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = snakemake(workdir, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "config key 'evaluation.max_new_tokens'" in proc.stdout + proc.stderr


def _rebuild(workdir, root: str, config: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compress_distill.infra.ledger", "rebuild", root, "--", "--configfile",
                           config, "--cores", "1"], cwd=workdir, capture_output=True, text=True)


def test_make_verify_names_a_bad_config_and_refuses_another_runs_config(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    cfg = yaml.safe_load((workdir / REDUCED).read_text())
    cfg["evaluation"]["max_new_tokens"] = "many"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    (workdir / f"results/{cfg['run']}").mkdir(parents=True)
    proc = _rebuild(workdir, f"results/{cfg['run']}", str(tmp_path / "bad.yaml"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "config key 'evaluation.max_new_tokens'" in proc.stderr
    (workdir / "results/other").mkdir()
    proc = _rebuild(workdir, "results/other", REDUCED)
    assert proc.returncode == 2 and "makes no file under results/other: it is another run's" in proc.stderr


def test_a_key_written_twice_in_a_config_file_stops_snakemake_naming_file_line_and_key(workdir, tmp_path):
    text = (workdir / REDUCED).read_text()
    assert "\ntraining:\n" in text
    twice = tmp_path / "twice.yaml"
    twice.write_text(text.replace("\ntraining:\n", "\ntraining:\n  lr: 0.5\n  lr: 0.25\n", 1))
    proc = snakemake(workdir, "-n", "--configfile", str(twice), check=False)
    line = text[: text.index("\ntraining:\n")].count("\n") + 4
    assert proc.returncode != 0
    assert f"config file {twice}, line {line}: key 'lr' is written twice" in proc.stdout + proc.stderr


def test_a_served_lora_student_is_evaluated_through_snakemake(finished, workdir, tmp_path):
    """Evaluation through the openai engine against a transformers server the job starts for the (merged) LoRA
    student and stops; graded like the local engine's outputs."""
    cfg = yaml.safe_load((workdir / REDUCED).read_text())
    cfg["evaluation"]["engine"] = {"kind": "openai", "concurrency": 4,
                                   "serve": {"kind": "transformers", "device": "cpu", "startup_timeout_s": 120}}
    served_cfg = tmp_path / "served.yaml"
    served_cfg.write_text(yaml.safe_dump(cfg))
    workdir, finished = own_copy(finished, workdir, tmp_path)
    summary = finished / "runs/verbose/tiny/full/raw/seed0/eval/arith.json"
    local = json.loads(summary.read_text())
    snakemake(workdir, "--configfile", str(served_cfg), "--cores", "2", str(summary.relative_to(workdir)))
    served = json.loads(summary.read_text())
    assert served["items"] == local["items"] == cfg["problems"]["benchmarks"]["arith"]["size"]
    log = summary.with_suffix(".log").read_text()
    assert "served model: healthy" in log and "transformers serve" in log
    outputs = [json.loads(l) for l in summary.with_suffix(".jsonl").read_text().splitlines()]
    assert len(outputs) == served["items"] and all("correct" in o for o in outputs)


def test_config_overrides_apply_on_top_of_the_paper_preset_or_a_given_one(workdir):
    """`--config run=…` without a config file keeps config.yaml under it (it used to drop it and fail on required
    keys); with `--configfile` the preset is used whole, the override on top."""
    for args, run in (((), "mytest"), (("--configfile", "presets/demo.yaml"), "demo2")):
        out = snakemake(workdir, "-n", f"results/{run}/problems/summary.json", *args, "--config", f"run={run}").stdout
        assert f"results/{run}/problems/summary.json" in out
    paper, demo = (yaml.safe_load((ROOT / f).read_text()) for f in ("config.yaml", "presets/demo.yaml"))
    assert paper["problems"]["shards"] != demo["problems"]["shards"]
    out = snakemake(workdir, "-n", "results/mytest/problems/summary.json", "--config", "run=mytest").stdout
    assert f"results/mytest/problems/shards/{paper['problems']['shards'] - 1:04d}.jsonl" in out


def test_rules_are_snakefmt_formatted():
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules/"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
