"""Training targets per teacher × regime: ``raw``, ``compressed-<compressor>``, ``truncated-<compressor>``,
``answer-only`` — the kinds registered in :data:`KINDS`.

Every target of one teacher and regime uses the same problem ids: a problem rejected by any compressor leaves all of
them, and the count of problems removed that way is reported.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

from .io import jsonl_offsets, read_at, read_jsonl
from .ledger import IntermediateError
from .verifier import answer_line

ANSWER_ONLY = "answer-only"
SOURCES = ("verified", "compressed", "truncated")  # the traces a target can be made from (rule target_source)


def answer_only_text(answer: str) -> str:
    return "<think>\n\n</think>\n" + answer_line(answer)


@dataclass(frozen=True)
class TargetKind:
    """What a kind of target is made from and how: ``source`` names the traces (``verified`` raw traces, or one
    compressor's ``compressed`` or ``truncated`` traces, which makes the kind per compressor); ``completion`` turns
    one source record into the training completion."""

    source: str
    completion: Callable[[dict], str]

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"target kind source {self.source!r} is not one of {SOURCES}")

    @property
    def per_compressor(self) -> bool:
        return self.source != "verified"


# the registry of target kinds, in the order tables and figures show them
KINDS: dict[str, TargetKind] = {
    "raw": TargetKind("verified", lambda rec: rec["text"]),
    "compressed": TargetKind("compressed", lambda rec: rec["text"]),
    "truncated": TargetKind("truncated", lambda rec: rec["text"]),
    ANSWER_ONLY: TargetKind("verified", lambda rec: answer_only_text(rec["answer"])),
}


@dataclass(frozen=True)
class Target:
    """A training target, parsed once from its name: a kind of :data:`KINDS` (``raw``, ``answer-only``), or
    ``<kind>-<compressor>`` for a kind made from one compressor's traces (``compressed-lean``)."""

    kind: str
    compressor: str | None = None

    @classmethod
    def parse(cls, name: str) -> "Target":
        if name in KINDS and not KINDS[name].per_compressor:
            return cls(name)
        kind, _, compressor = name.partition("-")
        if kind not in KINDS or not KINDS[kind].per_compressor or not compressor:
            raise ValueError(f"target {name!r} is none of {', '.join(_spellings())}")
        return cls(kind, compressor)

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.compressor}" if self.compressor else self.kind

    @property
    def source(self) -> str:
        return KINDS[self.kind].source

    @property
    def rank(self) -> tuple[int, str]:
        """Sort key: by kind in :data:`KINDS` order, then by name."""
        return list(KINDS).index(self.kind), self.name


def _spellings() -> list[str]:
    return [f"{k}-<compressor>" if kind.per_compressor else k for k, kind in KINDS.items()]


def every_target(compressors) -> list[str]:
    """The names of every target the configured compressors make possible."""
    whole = [k for k, kind in KINDS.items() if not kind.per_compressor]
    return whole + [Target(k, c).name for k, kind in KINDS.items() if kind.per_compressor for c in compressors]


def load_shards(shards: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """The verified traces' ids and each compressor's verdicts (id, reject), from ``shards`` ({"verified": path,
    "compressed": {compressor: path}} per shard), each compressed shard checked to hold exactly its verified shard's
    ids; one shard's texts in memory at a time."""
    verified, compressed = [], {}
    for shard in shards:
        made_from = [{"id": r["id"]} for r in read_jsonl(shard["verified"])]
        verified += made_from
        for name, path in shard["compressed"].items():
            records = [{"id": r["id"], "reject": r["reject"]} for r in read_jsonl(path)]
            check_same_ids(made_from, records, path)
            compressed.setdefault(name, []).extend(records)
    return verified, compressed


def shared_ids(verified: list[dict], compressed_by: dict[str, list[dict]]) -> tuple[list[str], dict[str, int]]:
    """Ids verified correct and accepted by every compressor; and, per compressor, how many it alone removed."""
    ids = {r["id"] for r in verified}
    rejected = {name: {r["id"] for r in recs if r["reject"] is not None} for name, recs in compressed_by.items()}
    keep = ids - set().union(*rejected.values()) if rejected else ids
    return sorted(keep), {name: len(rej & ids) for name, rej in rejected.items()}


def check_same_ids(made_from: list[dict], made: list[dict], path) -> None:
    """A shard made record by record from another (compressed from verified) holds exactly its ids."""
    want, have = [r["id"] for r in made_from], {r["id"] for r in made}
    missing, extra = [i for i in want if i not in have], sorted(have - set(want))
    if missing or extra:
        which = f"no record for id {missing[0]} ({len(missing)} missing)" if missing else f"unexpected id {extra[0]}"
        raise IntermediateError(f"{path}: {which} of the {len(want)} traces it was made from; the file is incomplete "
                                "or stale: delete it so that its rule rebuilds it")


def build(kind: str, ids: list[str], source_paths: list[str]) -> Iterator[dict]:
    """Target examples (id, question, completion) for ``ids``, in their order, of one target kind from its source
    files — holding where each selected record sits, not the records (a paper-scale raw target is GBs of text)."""
    where = {}
    for path in source_paths:
        for pid, offset in jsonl_offsets(path, set(ids)).items():
            where.setdefault(pid, (path, offset))
    missing = [pid for pid in ids if pid not in where]
    if missing:
        raise IntermediateError(f"target {kind}: selected id {missing[0]} ({len(missing)} of {len(ids)}) is in none "
                                f"of its {len(source_paths)} source file(s) ({source_paths[0]} ...); they are "
                                "incomplete or older than the selection: delete them so that their rules rebuild them")
    with contextlib.ExitStack() as stack:
        files = {path: stack.enter_context(open(path, "rb")) for path in source_paths}
        for pid in ids:
            rec = read_at(files[where[pid][0]], where[pid][1])
            yield {"id": pid, "question": rec["question"], "answer": rec["answer"],
                   "completion": KINDS[kind].completion(rec)}
