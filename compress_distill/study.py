"""A finished run's results, loaded once for the tables: every input keyed by what it is (run, teacher ×
compressor, teacher × regime) from the layout the tables rule hands over — never by position or by parsing paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .grid import run_id, run_key
from .io import read_json, read_jsonl


# most of a trace record's bytes, and read by no table: a paper-scale run's trace records are held without them
TEXT_FIELDS = ("text", "raw_text", "question", "answer", "reasoning")


@dataclass
class Study:
    runs: list[dict] = field(default_factory=list)
    metrics: dict[tuple, dict] = field(default_factory=dict)  # by run key
    summaries: dict[tuple, dict[str, dict]] = field(default_factory=dict)  # by run key, then benchmark
    rejects: dict[str, list[dict]] = field(default_factory=dict)  # by teacher: each verified shard's counts
    compressed: dict[tuple, list[dict]] = field(default_factory=dict)  # by (teacher, compressor): records, no texts
    truncated: dict[tuple, list[dict]] = field(default_factory=dict)
    selections: dict[tuple, dict] = field(default_factory=dict)  # by (teacher, regime)
    params_b: dict[str, float] = field(default_factory=dict)  # compressor sizes: compute spent on compression
    dataset_rows: dict[str, dict] = field(default_factory=dict)  # by file source: rows read, used, dropped
    derived: dict = field(default_factory=dict, repr=False)  # tables built from others, built once

    @classmethod
    def load(cls, layout: dict) -> "Study":
        """What ``layout`` names: ``runs``; ``metrics`` and ``summaries`` ({benchmark: path}) by run id; ``rejects``
        by teacher; ``compressed`` and ``truncated`` by teacher then compressor (lists of shard paths); ``selections``
        by teacher then regime; ``params_b`` by compressor; ``problems_summary`` (for the dataset rows)."""
        runs = layout.get("runs", [])

        def shards(paths):  # one shard's texts in memory at a time
            return [{k: v for k, v in r.items() if k not in TEXT_FIELDS} for path in paths for r in read_jsonl(path)]

        def nested(key, read):
            return {(a, b): read(v) for a, by in layout.get(key, {}).items() for b, v in by.items()}

        return cls(
            runs=runs,
            metrics={run_key(r): read_json(layout["metrics"][run_id(r)]) for r in runs},
            summaries={run_key(r): {b: read_json(p) for b, p in layout["summaries"][run_id(r)].items()} for r in runs},
            rejects={t: [read_json(p) for p in paths] for t, paths in layout.get("rejects", {}).items()},
            compressed=nested("compressed", shards),
            truncated=nested("truncated", shards),
            selections=nested("selections", read_json),
            params_b=layout.get("params_b", {}),
            dataset_rows=read_json(layout["problems_summary"])["rows"] if "problems_summary" in layout else {},
        )
