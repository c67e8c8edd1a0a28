"""The paper preset at a small fraction, simulated: the model stages' outputs are written by the simulator, and
every CPU stage of the paper's DAG runs on them with the real rules (Snakemake allowed only those rules), ending in
tables whose counts match what was simulated."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import yaml

from compress_distill.core import grid
from compress_distill.infra import io
from compress_distill.planning import cpu_costs
from conftest import copy_workflow


def test_the_paper_presets_cpu_stages_run_on_a_simulated_fraction(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    out = subprocess.run([sys.executable, "-m", "compress_distill.planning.simulate", "--configfile", "config.yaml",
                          "--fraction", "0.01", "--shard-size", "20", "--workdir", str(work)],
                         check=True, capture_output=True, text=True).stdout
    cfg = yaml.safe_load((work / "simulated.yaml").read_text())
    run, shards = work / "results/paper_sim", [f"{i:04d}" for i in range(cfg["problems"]["shards"])]
    assert cfg["problems"]["shards"] == 1 and cfg["problems"]["pool"]["size"] == 20
    rows = pd.read_csv(run / "tables/dataset_rows.csv").set_index("source")  # the real problems rule read the files
    assert rows.loc["pool", "used"] == len(io.read_jsonl(run / "problems/pool.jsonl")) == 20

    verification = pd.read_csv(run / "tables/verification.csv").set_index("teacher")
    compression = pd.read_csv(run / "tables/compression.csv").set_index(["teacher", "compressor"])
    for teacher in cfg["teachers"]:
        generated = [r for s in shards for r in io.read_jsonl(run / f"teachers/{teacher}/generated/{s}.jsonl")]
        kept = [r for s in shards for r in io.read_jsonl(run / f"teachers/{teacher}/verified/{s}.jsonl")]
        assert verification.loc[teacher, "traces"] == len(generated) == 20
        assert verification.loc[teacher, "kept"] == len(kept) > 0
        for comp in cfg["compressors"]:
            records = [r for s in shards for r in io.read_jsonl(run / f"compressors/{comp}/{teacher}/{s}.jsonl")]
            row = compression.loc[(teacher, comp)]
            assert row["traces_in"] == len(records) == len(kept)
            assert row["traces_out"] == sum(r["reject"] is None for r in records)
            assert 0.05 < row["char_ratio"] < 0.25  # the paper's 8.6-21%, as simulated

    main_grid = pd.read_csv(run / "tables/main_grid.csv")
    runs = grid.runs(cfg["grid"])
    assert len(main_grid) == len(runs) * len(cfg["problems"]["benchmarks"]) == 55 * 2
    for r in runs:
        examples = len(io.read_jsonl(run / "targets/{teacher}/{regime}/{target}.jsonl".format(**r)))
        rows = main_grid[(main_grid.teacher == r["teacher"]) & (main_grid.student == r["student"])
                         & (main_grid.regime == r["regime"]) & (main_grid.target == r["target"])]
        assert set(rows["train_examples"]) == {examples}
    assert (run / "figures/ablation.png").stat().st_size > 0 and (run / "manifest.json").exists()

    # every CPU stage measured, one row per stage, as many jobs as the DAG ran
    costs = {row["stage"]: row for row in cpu_costs.stage_costs(run)}
    assert set(costs) == set(cpu_costs.CPU_STAGES)
    assert costs["verify"]["jobs"] == len(cfg["teachers"]) * len(shards)
    assert costs["tables"]["jobs"] == 1 and costs["problems"]["jobs"] == 1
    logged = (run / "logs/tables.log").read_text().splitlines()[-1]  # each job logs its exact peak at exit
    assert logged.endswith(f"peak memory {costs['tables']['peak_rss_mb']:.0f} MB (max RSS)")
    assert f"| tables | 1 | {costs['tables']['peak_rss_mb']:.0f} |" in out
