"""A finished run's results, loaded once for the tables: every input keyed by what it is (run, teacher ×
compressor, teacher × regime) from the layout the tables rule hands over — never by position or by parsing paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from compress_distill.core.grid import run_id, run_key
from compress_distill.infra.io import read_json, read_jsonl

# per kind of trace record, the columns tables read, held as columns: a paper-scale run has millions of records,
# and their texts (most of the bytes) are never held
RECORD_COLUMNS = {"compressed": ("id", "reject", "raw_chars", "chars", "raw_tokens", "tokens"),
                  "truncated": ("id", "raw_chars", "compressed_chars", "chars", "raw_steps", "compressed_steps",
                                "steps")}


def record_columns(paths: list[str], columns: tuple[str, ...]) -> pd.DataFrame:
    """``columns`` of the records of JSONL shards, one shard's records in memory at a time."""
    values = {c: [] for c in columns}
    for path in paths:
        for rec in read_jsonl(path):
            for c in columns:
                values[c].append(rec[c])
    return pd.DataFrame(values, columns=list(columns))


@dataclass
class Study:
    runs: list[dict] = field(default_factory=list)
    metrics: dict[tuple, dict] = field(default_factory=dict)  # by run key
    summaries: dict[tuple, dict[str, dict]] = field(default_factory=dict)  # by run key, then benchmark
    correct: dict[tuple, dict[str, np.ndarray]] = field(default_factory=dict)  # per-item verdicts, likewise
    bootstrap: dict = field(default_factory=dict)  # resamples, seed
    rejects: dict[str, list[dict]] = field(default_factory=dict)  # by teacher: each verified shard's counts
    compressed: dict[tuple, pd.DataFrame] = field(default_factory=dict)  # by (teacher, compressor): RECORD_COLUMNS
    truncated: dict[tuple, pd.DataFrame] = field(default_factory=dict)
    selections: dict[tuple, dict] = field(default_factory=dict)  # by (teacher, regime)
    params_b: dict[str, float] = field(default_factory=dict)  # compressor sizes: compute spent on compression
    dataset_rows: dict[str, dict] = field(default_factory=dict)  # by file source: rows read, used, dropped
    decontamination: dict[str, dict] = field(default_factory=dict)  # by benchmark: pool problems flagged, removed
    adaptive: dict[tuple, dict] = field(default_factory=dict)  # by (teacher, student, regime): the pilots' choice
    derived: dict = field(default_factory=dict, repr=False)  # tables built from others, built once

    @classmethod
    def load(cls, layout: dict) -> "Study":
        """What ``layout`` names: ``runs``; ``metrics``, ``summaries`` and graded ``outputs`` ({benchmark: path}) by
        run id; ``bootstrap`` (resamples, seed); ``rejects`` by teacher; ``compressed`` and ``truncated`` by teacher
        then compressor (lists of shard paths); ``selections`` by teacher then regime; ``params_b`` by compressor;
        ``problems_summary`` (dataset rows, decontamination); ``adaptive``: the adaptive target's choices, each with
        its teacher, student, regime and path."""
        runs = layout.get("runs", [])
        summary = read_json(layout["problems_summary"]) if "problems_summary" in layout else {}

        def nested(key, read):
            return {(a, b): read(v) for a, by in layout.get(key, {}).items() for b, v in by.items()}

        return cls(
            runs=runs,
            metrics={run_key(r): read_json(layout["metrics"][run_id(r)]) for r in runs},
            summaries={run_key(r): {b: read_json(p) for b, p in layout["summaries"][run_id(r)].items()} for r in runs},
            correct={run_key(r): {b: np.array([o["correct"] for o in read_jsonl(p)], dtype=bool)
                                  for b, p in layout["outputs"][run_id(r)].items()} for r in runs},
            bootstrap=layout.get("bootstrap", {}),
            rejects={t: [read_json(p) for p in paths] for t, paths in layout.get("rejects", {}).items()},
            compressed=nested("compressed", lambda paths: record_columns(paths, RECORD_COLUMNS["compressed"])),
            truncated=nested("truncated", lambda paths: record_columns(paths, RECORD_COLUMNS["truncated"])),
            selections=nested("selections", read_json),
            params_b=layout.get("params_b", {}),
            dataset_rows=summary.get("rows", {}),
            decontamination=summary.get("decontamination", {}),
            adaptive={(c["teacher"], c["student"], c["regime"]): read_json(c["path"]) for c in layout.get("adaptive", [])},
        )
