"""The *engine* interface: generate text for a list of requests, in resumable chunks.

An engine is any object with ``generate(requests: list[Request]) -> list[Completion]`` that returns one completion
per request, in order. Engines are named by ``kind`` in config and built by :func:`make_engine`; the kinds live in
:mod:`compress_distill.engines`.

:func:`run_chunked` is the unit of resumability: completed chunks are appended durably to a ``.partial`` file; a
rerun skips what is done; the final file appears atomically, ordered as the requests were, only when complete.
Each request carries its own seed, so an output never depends on chunking or on where a crash happened.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

from tqdm import tqdm

from .io import atomic_path, dumps


@dataclass
class Request:
    id: str
    messages: list[dict]  # chat messages rendered from the role's prompt template
    seed: int
    meta: dict = field(default_factory=dict)  # role data a programmatic engine may use (problem, trace)


@dataclass
class Completion:
    id: str
    text: str
    finish_reason: str  # "stop" or "length"
    completion_tokens: int | None = None  # as the engine reports; None when it cannot
    reasoning: str | None = None  # a separate reasoning field, where the engine gives one


class Engine(Protocol):
    def generate(self, requests: list[Request]) -> list[Completion]: ...


HARMONY_RE = re.compile(
    r"<\|channel\|>analysis<\|message\|>(?P<analysis>.*?)<\|end\|>.*?<\|channel\|>final<\|message\|>(?P<final>.*?)"
    r"(?:<\|return\|>|<\|end\|>|$)",
    re.S,
)


def join_reasoning(content: str, reasoning: str | None) -> str:
    """One text format for every engine: reasoning inside ``<think>…</think>``, then the final answer.

    Handles a separate reasoning field (servers' reasoning parsers) and gpt-oss's harmony channels left in the text.
    """
    if reasoning is None and "<|channel|>" in content:
        match = HARMONY_RE.search(content)
        if match:
            reasoning, content = match.group("analysis"), match.group("final")
    if reasoning is None or "<think>" in content:
        return content
    return f"<think>\n{reasoning.strip()}\n</think>\n{content.strip()}"


def fill_template(template: str, **fields: str) -> str:
    """Replace ``{name}`` placeholders only, so templates may contain other braces (``\\boxed{}``, JSON)."""
    for name, value in fields.items():
        template = template.replace("{" + name + "}", value)
    return template


def make_engine(spec: dict, **context) -> Engine:
    """Build the engine named by ``spec['kind']`` (:mod:`compress_distill.engines`); ``context`` carries run-time
    paths (e.g. a model folder)."""
    from .engines import engine_class

    return engine_class(spec.get("kind"))(spec, **context)


@contextlib.contextmanager
def open_engine(spec: dict, log_path: str | os.PathLike, model_path: str | None = None) -> Iterator[Engine]:
    """The engine for a job: for a served model (``spec['serve']``), a server is started for the job and always
    stopped (see :mod:`compress_distill.server`); otherwise the engine is built directly."""
    model = model_path or spec.get("model")
    if not spec.get("serve"):
        yield make_engine(spec, model_path=model)
        return
    from .server import served

    with served(spec["serve"], model, log_path) as base_url:
        yield make_engine(spec, base_url=base_url, model_path=model)


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
    with the same ``fingerprint`` (see :func:`compress_distill.identity.job_fingerprint`); write ``out_path``
    atomically."""
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    _claim_partial(partial, fingerprint)
    done = _done_ids(partial)
    # rewrite the partial without any torn tail before appending to it
    with atomic_path(partial) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(dumps(r) + "\n" for r in done.values())
    todo = [r for r in requests if r.id not in done]
    with open(partial, "a", encoding="utf-8") as fh, tqdm(
        total=len(requests), initial=len(requests) - len(todo), desc=desc, mininterval=5
    ) as bar:
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
            bar.update(len(chunk))
    records = [done[r.id] for r in requests]
    with atomic_path(out_path, record=True) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(dumps(r) + "\n" for r in records)
    partial.unlink()
    partial.with_name(partial.name + ".fingerprint").unlink()
    return records
