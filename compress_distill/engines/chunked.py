"""The unit of resumability of every generation: completed chunks are appended durably to a ``.partial`` file; a
rerun skips what is done; the final file appears atomically, ordered as the requests were, only when complete. Each
request carries its own seed, so an output never depends on chunking or on where a crash happened.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Callable

from compress_distill.engines.interface import Completion, Engine, Request
from compress_distill.infra.io import atomic_path, dumps
from compress_distill.infra.progress import progress


def _done_ids(partial: Path) -> dict[str, dict]:
    done = {}
    if partial.exists():
        with open(partial, encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a torn last line from a crash: its chunk is redone
                    break
                done[record["id"]] = record
    return done


def _claim_partial(partial: Path, fingerprint: str) -> None:
    """Keep ``partial`` only if it was written by this very job (``<partial>.fingerprint``); stamp it for this job."""
    stamp = partial.with_name(partial.name + ".fingerprint")
    made_for = stamp.read_text().strip() if stamp.exists() else "unknown"
    if partial.exists() and made_for != fingerprint:
        logging.getLogger(__name__).warning(
            "%s was written for other inputs, settings or code (fingerprint %s, this job %s): discarded",
            partial, made_for[:16], fingerprint[:16])
        partial.unlink()
    with atomic_path(stamp) as tmp:
        tmp.write_text(fingerprint + "\n")


def run_chunked(
    engine: Engine,
    requests: list[Request],
    out_path: str | os.PathLike,
    chunk_size: int,
    to_record: Callable[[Request, Completion], dict],
    desc: str = "generate",
    fingerprint: str = "",
) -> list[dict]:
    """Generate for ``requests`` chunk by chunk, resuming from ``<out_path>.partial`` when it was written by a job
    with the same ``fingerprint`` (see :func:`compress_distill.infra.identity.job_fingerprint`); write ``out_path``
    atomically."""
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    _claim_partial(partial, fingerprint)
    done = _done_ids(partial)
    # rewrite the partial without any torn tail before appending to it
    with atomic_path(partial) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(dumps(r) + "\n" for r in done.values())
    todo = [r for r in requests if r.id not in done]
    log, started = logging.getLogger(__name__), time.monotonic()
    log.info("%s: %d requests, %d done before (resumed)", desc, len(requests), len(requests) - len(todo))
    with open(partial, "a", encoding="utf-8") as fh:
        for start in range(0, len(todo), chunk_size):
            chunk = todo[start : start + chunk_size]
            completions = engine.generate(chunk)
            if [c.id for c in completions] != [r.id for r in chunk]:
                raise RuntimeError(f"{desc}: engine returned completions out of order or incomplete")
            for req, comp in zip(chunk, completions):
                record = to_record(req, comp)
                done[req.id] = record
                fh.write(dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            new = start + len(chunk)
            log.info("%s: %d/%d requests %s", desc, len(done), len(requests),
                     progress(new, len(todo) - new, time.monotonic() - started, "request"))
    records = [done[r.id] for r in requests]
    with atomic_path(out_path, record=True) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(dumps(r) + "\n" for r in records)
    partial.unlink()
    partial.with_name(partial.name + ".fingerprint").unlink()
    return records
