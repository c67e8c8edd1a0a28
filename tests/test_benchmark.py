"""The training benchmark at its tiny size on CPU: the table's shape and the layout facts, no speed claims."""

from __future__ import annotations

import pandas as pd

from compress_distill.checks import benchmark


def test_tiny_benchmark_writes_the_table(tmp_path):
    benchmark.main(["--size", "tiny", "--out", str(tmp_path)])
    df = pd.read_csv(tmp_path / "benchmark.csv")
    # flex attention has no CPU backward: every other method for both length distributions
    on_cpu = [m for m, (attention, _) in benchmark.METHODS.items() if attention != "flex_attention"]
    assert sorted(zip(df["lengths"], df["method"])) == sorted(
        (lengths, m) for lengths in ("raw", "compressed") for m in on_cpu)
    padded = df["method"].map(lambda m: not benchmark.METHODS[m][1])
    assert (df[~padded]["padding_share"] == 0).all() and (df[padded]["padding_share"] > 0).all()
    assert (df["real_tokens_per_s"] > 0).all() and (df["mfu"] > 0).all()
    assert (df[df["method"] == "sdpa-packed"]["vs_fastest_baseline"] <= 1).all()
    assert (tmp_path / "benchmark.md").read_text().startswith("| lengths | method |")


def test_length_distributions_fill_the_step_budget_and_mask_prompts():
    size = benchmark.SIZES["tiny"]
    raw, comp = (benchmark.documents(size["lengths"][k], size["prompt"], 512, size["tokens_per_step"], 3, seed=0)
                 for k in ("raw", "compressed"))
    for steps in (raw, comp):
        for step in steps:
            assert sum(len(ids) for ids, _ in step) <= size["tokens_per_step"]
            assert all(labels[0] == -100 for _, labels in step)
    mean = lambda steps: sum(len(i) for s in steps for i, _ in s) / sum(len(s) for s in steps)  # noqa: E731
    assert mean(raw) > 3 * mean(comp)
    assert raw == benchmark.documents(size["lengths"]["raw"], size["prompt"], 512, size["tokens_per_step"], 3, seed=0)
