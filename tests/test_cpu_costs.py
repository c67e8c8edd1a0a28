"""CPU rules ask a cluster for what the simulator measured, fitted and extrapolated to their config's sizes."""

from __future__ import annotations

import copy
import random
import re

import pytest
import yaml

from compress_distill.analysis import readme
from compress_distill.planning import cpu_costs
from conftest import ROOT, copy_workflow, snakemake

PAPER = yaml.safe_load((ROOT / "config.yaml").read_text())
TABLES_BUDGET_MB = 1000  # what we design `tables` for at 10% scale; see docs/slurm.md, "At paper scale"


def test_a_line_is_recovered_from_points_on_it_and_never_slopes_down():
    rng = random.Random(7)
    intercept, slope = rng.uniform(50, 500), rng.uniform(1e-4, 1e-2)
    xs = [rng.uniform(1e3, 1e6) for _ in range(4)]
    line = cpu_costs.Line.fit([(x, intercept + slope * x) for x in xs])
    assert line.intercept == pytest.approx(intercept) and line.slope == pytest.approx(slope)
    falling = cpu_costs.Line.fit([(x, 1000 - slope * x) for x in xs])  # noise in a flat stage
    assert falling.slope == 0 and falling.at(1e9) == pytest.approx(sum(1000 - slope * x for x in xs) / 4)


def test_the_measurements_cover_every_cpu_stage_at_10_percent_and_tables_stays_in_budget():
    measured = yaml.safe_load(cpu_costs.MEASURED.read_text())  # JSON is YAML
    pools = {m["pool"] for m in measured}
    ten_percent = PAPER["problems"]["pool"]["size"] // 10
    assert ten_percent in pools and len(pools) >= 3
    for entry in measured:
        assert {row["stage"] for row in entry["stages"]} == set(cpu_costs.CPU_STAGES), entry["pool"]
    [at_ten] = [m for m in measured if m["pool"] == ten_percent]
    tables = {row["stage"]: row for row in at_ten["stages"]}["tables"]
    assert tables["peak_rss_mb"] < TABLES_BUDGET_MB


def test_declared_resources_follow_the_configs_sizes():
    bigger = copy.deepcopy(PAPER)
    bigger["problems"]["pool"]["size"] *= 4
    assert cpu_costs.measured_fits()["tables"].memory_mb.slope > 0  # measured: it grows, if slowly
    assert cpu_costs.declared("tables", bigger)[0] > cpu_costs.declared("tables", PAPER)[0]
    more_shards = copy.deepcopy(PAPER)
    more_shards["problems"]["shards"] *= 4  # smaller shards: smaller per-shard jobs, same corpus-wide ones
    assert cpu_costs.config_sizes(more_shards)["verify"] < cpu_costs.config_sizes(PAPER)["verify"]
    assert cpu_costs.declared("tables", more_shards) == cpu_costs.declared("tables", PAPER)


def test_every_cpu_rule_of_the_paper_preset_asks_for_at_least_the_extrapolation(tmp_path):
    out = snakemake(copy_workflow(tmp_path / "wf"), "-n").stdout
    asked = {}
    for block in re.split(r"\n(?= *(?:local)?rule \w+:)", out):  # a group job's rules are indented
        rule = re.match(r" *(?:local)?rule (\w+):", block)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        if rule and res and rule.group(1) in cpu_costs.CPU_STAGES:
            found = dict(p.split("=", 1) for p in res.group(1).split(", "))
            asked.setdefault(rule.group(1), set()).add((int(found["mem_mb"]), int(found["runtime"])))
    assert set(asked) == set(cpu_costs.CPU_STAGES)
    sizes = cpu_costs.config_sizes(PAPER)
    for stage, requests in asked.items():
        fit = cpu_costs.measured_fits()[stage]
        assert requests == {cpu_costs.declared(stage, PAPER)}, stage
        [(mem_mb, minutes)] = requests
        assert mem_mb >= fit.memory_mb.at(sizes[stage]) and 60 * minutes >= fit.seconds.at(sizes[stage]), stage


def test_the_slurm_page_shows_the_measured_table():
    text = (ROOT / "docs/slurm.md").read_text()
    start, end = readme.markers("cpu-costs")
    assert text.split(start, 1)[1].split(end, 1)[0].strip() == cpu_costs.table(PAPER)
