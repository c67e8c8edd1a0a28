"""Training targets per teacher × regime: ``raw``, ``compressed-<compressor>``, ``truncated-<compressor>``,
``answer-only``.

Every target of one teacher and regime uses the same problem ids: a problem rejected by any compressor leaves all of
them, and the count of problems removed that way is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from .io import read_jsonl
from .ledger import IntermediateError
from .verifier import answer_line

ANSWER_ONLY = "answer-only"
KINDS = ("raw", "compressed", "truncated", ANSWER_ONLY)  # in the order tables and figures show them
PER_COMPRESSOR = ("compressed", "truncated")


@dataclass(frozen=True)
class Target:
    """A training target, parsed once from its name: ``raw``, ``answer-only``, ``compressed-<compressor>`` or
    ``truncated-<compressor>``."""

    kind: str
    compressor: str | None = None

    @classmethod
    def parse(cls, name: str) -> "Target":
        if name in ("raw", ANSWER_ONLY):
            return cls(name)
        kind, _, compressor = name.partition("-")
        if kind not in PER_COMPRESSOR or not compressor:
            raise ValueError(f"target {name!r} is not raw, answer-only, compressed-<compressor> or "
                             "truncated-<compressor>")
        return cls(kind, compressor)

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.compressor}" if self.compressor else self.kind

    @property
    def rank(self) -> tuple[int, str]:
        """Sort key: by kind in :data:`KINDS` order, then by name."""
        return KINDS.index(self.kind), self.name


def every_target(compressors) -> list[str]:
    """The names of every target the configured compressors make possible."""
    return ["raw", ANSWER_ONLY] + [Target(k, c).name for k in PER_COMPRESSOR for c in compressors]


def load_shards(shards: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """The verified traces and each compressor's records, from ``shards`` ({"verified": path, "compressed":
    {compressor: path}} per shard), each compressed shard checked to hold exactly its verified shard's ids."""
    verified, compressed = [], {}
    for shard in shards:
        made_from = read_jsonl(shard["verified"])
        verified += made_from
        for name, path in shard["compressed"].items():
            records = read_jsonl(path)
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


def answer_only_text(answer: str) -> str:
    return "<think>\n\n</think>\n" + answer_line(answer)


def build(kind: str, ids: list[str], source: list[dict], source_paths: list[str]) -> list[dict]:
    """Target examples (id, question, completion) for ``ids`` of one target kind, from its source traces."""
    by_id = {r["id"]: r for r in source}
    out = []
    for pid in ids:
        rec = by_id.get(pid)
        if rec is None:
            raise IntermediateError(f"target {kind}: selected id {pid} is in none of its {len(source_paths)} source "
                                    f"file(s) ({source_paths[0]} ...); they are incomplete or older than the selection:"
                                    " delete them so that their rules rebuild them")
        text = answer_only_text(rec["answer"]) if kind == ANSWER_ONLY else rec["text"]
        out.append({"id": pid, "question": rec["question"], "answer": rec["answer"], "completion": text})
    return out
