"""Selection: the problems every target of one teacher × regime trains on, and each target's records.

Every target of one teacher and regime uses the same problem ids: a problem rejected by a compressor that one of
them is made from leaves all of them (a configured compressor no target of that teacher and regime uses removes
nothing), and each compressor's removals are reported with their raw traces' mean length. A regime then takes a
number of those ids: smaller regimes are nested in larger ones (a seeded order, then a prefix), so regimes differ
only in amount of data.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from typing import Iterator

from compress_distill.core.target import ADAPTIVE, KINDS, Target
from compress_distill.infra.io import jsonl_offsets, read_at, read_jsonl
from compress_distill.infra.ledger import IntermediateError


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


def shared_ids(verdicts: Verdicts, required: list[str]) -> tuple[list[str], dict[str, dict]]:
    """Ids verified correct and accepted by every ``required`` compressor (those a target of the teacher × regime is
    made from); and, per required compressor, how many problems it removed and their raw traces' mean length (the
    shortest raw traces are the likeliest to be rejected as not shortened: removal biases the kept set toward long
    traces)."""
    ids = set(verdicts.raw_chars)
    removing = {name: verdicts.rejected[name] & ids for name in required}
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
    files (shards) — holding where each selected record sits, not the records (a paper-scale raw target is GBs of
    text)."""
    where: dict[str, tuple] = {}
    wanted = set(ids)
    for path in source_paths:
        for pid, offset in jsonl_offsets(path, wanted).items():
            where[pid] = (path, offset)
    missing = [pid for pid in ids if pid not in where]
    if missing:
        raise IntermediateError(f"target {kind}: selected id {missing[0]} ({len(missing)} of {len(ids)}) is in none "
                                f"of its {len(source_paths)} source file(s) ({source_paths[0]} ...); they are "
                                "incomplete or older than the selection: delete them so that their rules rebuild them")
    with contextlib.ExitStack() as stack:
        files = {path: stack.enter_context(open(path, "rb")) for path in source_paths}
        for pid in ids:
            path, offset = where[pid]
            rec = read_at(files[path], offset)
            if rec.get("reject") is not None:
                raise IntermediateError(f"target {kind}: selected id {pid} was rejected in {path}; the selection is "
                                        "older than it: rebuild the selection")
            yield {"id": pid, "question": rec["question"], "answer": rec["answer"],
                   "completion": KINDS[kind].completion(rec)}


def select(ids: list[str], size: int | None, seed: int) -> list[str]:
    """``size`` ids from ``ids`` (all when ``size`` is None), as a prefix of one seeded permutation."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    if size is not None and size > len(order):
        raise ValueError(f"regime asks for {size} problems but only {len(order)} survive verification and "
                         "compression; lower the regime size or generate more problems")
    return sorted(order if size is None else order[:size])


def _targets_of(runs: list[dict], teacher: str, regime: str) -> list[Target]:
    return [Target.parse(r["target"]) for r in runs if r["teacher"] == teacher and r["regime"] == regime]


def used_compressors(runs: list[dict], compressors: list[str], teacher: str, regime: str) -> list[str]:
    """The compressors whose traces a target of this teacher and regime is made from, in config order: only they
    narrow its shared problem set (a configured compressor that nothing here trains on removes nothing). The adaptive
    target is made from any of them (a pilot picks one per student): where it is trained, every one is used."""
    targets = _targets_of(runs, teacher, regime)
    if any(t.kind == ADAPTIVE for t in targets):
        return list(compressors)
    used = {t.compressor for t in targets}
    return [c for c in compressors if c in used]
