"""The README's result tables are generated from a run's tables, and the demo's is the one the committed demo
manifest describes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from compress_distill.analysis import readme
from conftest import ROOT


def test_the_generated_block_carries_every_run_of_the_grid(finished, tmp_path):
    page = tmp_path / "README.md"
    page.write_text("intro\n<!-- results:reduced:start -->\nold\n<!-- results:reduced:end -->\n"
                    "<!-- claims:reduced:start -->\n<!-- claims:reduced:end -->\noutro\n")
    assert readme.main([str(finished), str(page)]) == 0
    text = page.read_text()
    cells = pd.read_csv(finished / "tables/cells.csv")
    results = text.split("<!-- results:reduced:start -->")[1].split("<!-- results:reduced:end -->")[0]
    rows = [line for line in results.splitlines() if line.startswith("| ") and "accuracy" not in line]
    claims = pd.read_csv(finished / "tables/claims.csv")
    claimed = text.split("<!-- claims:reduced:start -->")[1].split("<!-- claims:reduced:end -->")[0]
    assert len([line for line in claimed.splitlines() if line.startswith("| ") and "reading" not in line]) == len(claims)
    assert all(f"| {r.target} vs {r.reference} |" in claimed and f"| {r.reading} |" in claimed
               for r in claims.itertuples())
    assert len(rows) == len(cells) and "old" not in text and text.startswith("intro") and text.endswith("outro\n")
    first = cells.iloc[0]
    assert rows[0].startswith(f"| {first.teacher} | {first.student}")
    assert (f"| {first.seeds} | {100 * first.accuracy_mean:.1f} [{100 * first.accuracy_ci_low:.1f}, "
            f"{100 * first.accuracy_ci_high:.1f}]") in rows[0]
    assert "tiny (LoRA)" in text and "small (LoRA)" not in text
    manifest = json.loads((finished / "manifest.json").read_text())
    assert readme.source_hash(text, "reduced") == manifest["results"]["deterministic"]["tables/cells.csv"]


def test_a_readme_without_the_block_is_an_error(finished, tmp_path):
    page = tmp_path / "README.md"
    page.write_text("no markers\n")
    with pytest.raises(ValueError, match="results:reduced:start"):
        readme.main([str(finished), str(page)])


def test_the_readme_demo_table_is_generated_from_the_committed_demo_results():
    expected = json.loads((ROOT / "presets/demo.expected.json").read_text())
    source = readme.source_hash((ROOT / "README.md").read_text(), "demo")
    assert source == expected["results"]["deterministic"]["tables/cells.csv"]
