"""The Snakemake report of the reduced run, opened in headless Chromium: every table and figure of the registry is
there and renders, in the paper's order (claims, main grid, figures, other tables), each table page with its number,
title and caption above it."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from compress_distill.analysis import registry
from conftest import REDUCED, ROOT, snakemake

CHROMIUM = shutil.which("chromium")


def probed(report, tmp_path, open_view=None, screenshot=None) -> dict:
    """What the report shows for each result, through its own buttons (tests/report/probe.js)."""
    script = (f"const CATEGORIES = {json.dumps(registry.CATEGORIES)};\n"
              f"const OPEN = {json.dumps(open_view)};\n" + (ROOT / "tests/report/probe.js").read_text())
    text = report.read_text(encoding="utf-8")
    end = text.rindex("</body>")
    page = tmp_path / "probed.html"
    page.write_text(text[:end] + f"<script>{script}</script>" + text[end:], encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--window-size=1400,1000", "--virtual-time-budget=60000"]
    if screenshot:
        subprocess.run(cmd + [f"--screenshot={screenshot}", page.as_uri()], check=True, capture_output=True,
                       timeout=300)
    dom = subprocess.run(cmd + ["--dump-dom", page.as_uri()], check=True, capture_output=True, text=True,
                         timeout=300).stdout
    found = re.search(r'<pre id="probe" style="display: none;">(.*?)</pre>', dom, re.S)
    assert found, "the probe never finished: the report did not load"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make test installs it)")
def test_the_report_shows_every_table_and_figure(finished, workdir, tmp_path):
    cwd = tmp_path / "wf"
    shutil.copytree(workdir, cwd, symlinks=True)
    made = subprocess.run(["make", "-n", "report", "CONFIG=x"], cwd=ROOT, capture_output=True, text=True).stdout
    pages = re.search(r"--forcerun (.*?) -- report_pages", made).group(1).split()  # what `make report` runs
    snakemake(cwd, "--configfile", REDUCED, "--cores", "2", "--forcerun", *pages, "--", "report_pages")
    snakemake(cwd, "--configfile", REDUCED, "--report", "report.html", "all", "report_pages")
    # each item's side pane lists its job's parameters: only the caption, never the code identity
    assert "caption=" in (cwd / "report.html").read_text() and "identity=" not in (cwd / "report.html").read_text()
    shown = probed(cwd / "report.html", tmp_path, open_view=["1. Claims", "claims"],
                   screenshot=tmp_path / "report.png")
    run = cwd / finished.relative_to(workdir)
    assert len(shown) == len(registry.TABLES) + len(registry.FIGURES), sorted(shown)
    for table in registry.TABLES:
        category, labels = registry.report_place("tables", table.name)
        view = shown.get(f"{category}/{table.name}", {})
        assert view.get("kind") == "html", (table.name, view)
        header = list(pd.read_csv(run / "tables" / f"{table.name}.csv").columns)
        assert re.findall(r"<th>(.*?)</th>", view["html"]) == header, table.name
        # the number, title and caption above the table
        above = " ".join(view["html"].split("<table")[0].split())
        assert f"{labels['item']}. {labels['title']}" in html.unescape(above), (table.name, above[:300])
        caption = (ROOT / "report/tables" / f"{table.name}.rst").read_text().split()
        assert plain_phrase(caption) in above, table.name
    for figure in registry.FIGURES:
        view = shown.get(f"{registry.report_place('figures', figure.name)[0]}/{figure.name}", {})
        assert view.get("kind") == "image" and view["width"] > 200 and view["height"] > 100, (figure.name, view)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    if os.environ.get("REPORT_SCREENSHOT"):  # the README's picture: `REPORT_SCREENSHOT=report/screenshot.png`
        shutil.copy(tmp_path / "report.png", ROOT / os.environ["REPORT_SCREENSHOT"])
    page = " ".join((cwd / "report.html").read_text(encoding="utf-8").split())
    for kind, entries in (("tables", registry.TABLES), ("figures", registry.FIGURES)):
        for entry in entries:
            words = (ROOT / "report" / kind / f"{entry.name}.rst").read_text().split()
            assert plain_phrase(words) in page, f"{kind}/{entry.name}: caption missing"


def plain_phrase(words: list[str], n: int = 5) -> str:
    """The caption's first ``n`` consecutive words that HTML and JSON leave as they are (no markup, quotes, ×)."""
    plain = [bool(re.fullmatch(r"[A-Za-z][A-Za-z,.;:()-]*", w)) for w in words]
    start = next(i for i in range(len(words)) if all(plain[i : i + n]) and i + n <= len(words))
    return " ".join(words[start : start + n])
