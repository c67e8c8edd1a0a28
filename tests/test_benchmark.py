"""The training benchmark at its tiny size on CPU: the table's shape and the layout facts, no speed claims."""

from __future__ import annotations

import pandas as pd

from compress_distill.checks import benchmark


def test_tiny_benchmark_prints_every_method_and_the_maskless_ones_match_the_reference(tmp_path):
    """Every method has a row for both length mixes; on CPU the liger-kernel rows say they need CUDA, and the rest
    take the same first step as the reference (fp32 on CPU: equal to rounding)."""
    benchmark.main(["--size", "tiny", "--out", str(tmp_path)])
    df = pd.read_csv(tmp_path / "benchmark.csv")
    assert sorted(zip(df["lengths"], df["method"])) == sorted(
        (lengths, m) for lengths in ("raw", "compressed") for m in benchmark.METHODS)
    fused = df["method"].str.contains("fused")
    assert df[fused]["error"].str.contains("needs CUDA").all()
    ran = df[~fused]
    assert ran["error"].isna().all() and (ran["real_tokens_per_s"] > 0).all() and (ran["mfu"] > 0).all()
    assert (ran["mfu_with_attention"] > ran["mfu"]).all()
    assert (ran["first_loss_vs_reference"].abs() < 1e-6).all() and (ran["first_grad_norm_vs_reference"].abs() < 1e-5).all()
    packed = ran["method"].map(lambda m: benchmark.METHODS[m][0])
    assert (ran[packed]["padding_share"] == 0).all() and (ran[~packed]["padding_share"] > 0).all()
    assert (ran[ran["method"] == benchmark.REFERENCE]["speedup_vs_reference"] == 1).all()
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
