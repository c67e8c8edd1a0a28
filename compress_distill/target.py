"""Training targets per teacher × regime: ``raw``, ``compressed-<compressor>``, ``truncated-<compressor>``,
``answer-only`` — the kinds registered in :data:`KINDS`.

Every target of one teacher and regime uses the same problem ids: a problem rejected by a compressor that one of
them is made from leaves all of them (a configured compressor no target of that teacher and regime uses removes
nothing), and each compressor's removals are reported with their raw traces' mean length.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

from .io import jsonl_offsets, read_at, read_jsonl
from .ledger import IntermediateError
from .verifier import answer_line

ANSWER_ONLY = "answer-only"
ADAPTIVE = "adaptive"
# the traces a target can be made from (rule target_source): raw ones, one compressor's compressed or truncated
# ones, or every configured compressor's compressed ones ("candidates")
SOURCES = ("verified", "compressed", "truncated", "candidates")


def answer_only_text(answer: str) -> str:
    return "<think>\n\n</think>\n" + answer_line(answer)


@dataclass(frozen=True)
class TargetKind:
    """What a kind of target is made from and how: ``source`` names the traces (``verified`` raw traces, or one
    compressor's ``compressed`` or ``truncated`` traces, which makes the kind per compressor); ``completion`` turns
    one source record into the training completion."""

    source: str
    completion: Callable[[dict], str]
    pick: Callable[[list[dict]], dict | None] = lambda records: records[0]  # an id's record among its sources'

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"target kind source {self.source!r} is not one of {SOURCES}")

    @property
    def per_compressor(self) -> bool:
        return self.source in ("compressed", "truncated")


def shortest_accepted(candidates: list[dict]) -> dict | None:
    """The adaptive target's rule: among one trace's compressions (in config order), the shortest in reference
    tokens of those that kept its verified answer and passed every check; the first of equals; None if none did."""
    accepted = [rec for rec in candidates if rec["reject"] is None]
    return min(accepted, key=lambda rec: rec["tokens"]) if accepted else None


# the registry of target kinds, in the order tables and figures show them
KINDS: dict[str, TargetKind] = {
    "raw": TargetKind("verified", lambda rec: rec["text"]),
    "compressed": TargetKind("compressed", lambda rec: rec["text"]),
    "truncated": TargetKind("truncated", lambda rec: rec["text"]),
    ANSWER_ONLY: TargetKind("verified", lambda rec: answer_only_text(rec["answer"])),
    ADAPTIVE: TargetKind("candidates", lambda rec: rec["text"], pick=shortest_accepted),
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


@dataclass
class Verdicts:
    """What a selection needs of a teacher's traces, held without their texts: each verified trace's length and, per
    compressor, the ids it rejected."""

    raw_chars: dict[str, int]  # verified id -> characters of its raw trace, in shard order
    rejected: dict[str, set[str]]  # compressor -> verified ids whose compression it rejected


def load_verdicts(shards: list[dict]) -> Verdicts:
    """From ``shards`` ({"verified": path, "compressed": {compressor: path}} per shard), each compressed shard checked
    to hold exactly its verified shard's ids; one shard's texts in memory at a time."""
    verdicts = Verdicts({}, {})
    for shard in shards:
        made_from = [(r["id"], len(r["text"])) for r in read_jsonl(shard["verified"])]
        verdicts.raw_chars.update(made_from)
        for name, path in shard["compressed"].items():
            records = [(r["id"], r["reject"]) for r in read_jsonl(path)]
            check_same_ids([i for i, _ in made_from], [i for i, _ in records], path)
            verdicts.rejected.setdefault(name, set()).update(i for i, reject in records if reject is not None)
    return verdicts


def shared_ids(verdicts: Verdicts, required: list[str],
               candidates: list[str] = ()) -> tuple[list[str], dict[str, dict]]:
    """Ids verified correct, accepted by every ``required`` compressor (those a target of the teacher × regime is made
    from) and, where the adaptive target is trained on, by at least one of its ``candidates``; and, per required
    compressor (and ``adaptive``), how many problems it removed and their raw traces' mean length (the shortest raw
    traces are the likeliest to be rejected as not shortened: removal biases the kept set toward long traces)."""
    ids = set(verdicts.raw_chars)
    removing = {name: verdicts.rejected[name] & ids for name in required}
    if candidates:
        removing[ADAPTIVE] = set.intersection(*(verdicts.rejected[name] for name in candidates)) & ids
    keep = ids - set().union(*removing.values())
    removed = {name: {"problems": len(rej), "mean_raw_chars": mean_chars(verdicts, rej)}
               for name, rej in removing.items()}
    return sorted(keep), removed


def mean_chars(verdicts: Verdicts, ids: set[str]) -> float | None:
    return sum(verdicts.raw_chars[i] for i in ids) / len(ids) if ids else None


def check_same_ids(want: list[str], have_ids: list[str], path) -> None:
    """A shard made record by record from another (compressed from verified) holds exactly its ids."""
    have = set(have_ids)
    missing, extra = [i for i in want if i not in have], sorted(have - set(want))
    if missing or extra:
        which = f"no record for id {missing[0]} ({len(missing)} missing)" if missing else f"unexpected id {extra[0]}"
        raise IntermediateError(f"{path}: {which} of the {len(want)} traces it was made from; the file is incomplete "
                                "or stale: delete it so that its rule rebuilds it")


def build(kind: str, ids: list[str], source_paths: list[str]) -> Iterator[dict]:
    """Target examples (id, question, completion) for ``ids``, in their order, of one target kind from its source
    files — holding where each selected record sits, not the records (a paper-scale raw target is GBs of text). An id
    in several sources (the adaptive target's candidates, in config order) gets the record its kind picks."""
    where: dict[str, list] = {}
    wanted = set(ids)
    for path in source_paths:
        for pid, offset in jsonl_offsets(path, wanted).items():
            where.setdefault(pid, []).append((path, offset))
    missing = [pid for pid in ids if pid not in where]
    if missing:
        raise IntermediateError(f"target {kind}: selected id {missing[0]} ({len(missing)} of {len(ids)}) is in none "
                                f"of its {len(source_paths)} source file(s) ({source_paths[0]} ...); they are "
                                "incomplete or older than the selection: delete them so that their rules rebuild them")
    with contextlib.ExitStack() as stack:
        files = {path: stack.enter_context(open(path, "rb")) for path in source_paths}
        for pid in ids:
            rec = KINDS[kind].pick([read_at(files[path], offset) for path, offset in where[pid]])
            if rec is None:
                raise IntermediateError(f"target {kind}: selected id {pid} has no accepted record in its sources "
                                        f"({source_paths[0]} ...); the selection is older than them: rebuild it")
            yield {"id": pid, "question": rec["question"], "answer": rec["answer"],
                   "completion": KINDS[kind].completion(rec)}
