"""Provenance that travels with the results: each output's ledger sidecar carries the record of the job that made it.

Snakemake decides what to rerun from its metadata in ``.snakemake/`` (the job's params — settings, code identity,
prompt digests —, its inputs, its software), which stays behind when results are copied into a clone, and is gone
after ``rm -rf .snakemake`` or ``--cleanup-metadata``; without it a changed setting plans nothing. So at the end of
every run each output's sidecar gets a copy of Snakemake's record of the job that wrote it (``stamp``), and before
every run (:func:`reconcile`, from ``rules/common.smk``) the records travel back:

- a sidecar stamped for this very path restores Snakemake's record where it is missing or differs, and Snakemake
  then compares it with the job it would run now, as for any run (a change reruns the job and all downstream);
- a file with no sidecar, a sidecar stamped for another path (copied in from another run) or a sidecar that no
  recorded job wrote is untrusted: it gets a record that cannot match any job, so the job that makes it reruns.

A sidecar gets its stamp only from the record of a job that ran while the sidecar was written (or, after
``--touch``, from the record the user accepted). ``python -m compress_distill.planning.why`` names what changed.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

from compress_distill.infra import ledger

STAMP = ledger.STAMP
UNTRUSTED = "untrusted output: "
# what a run folder holds besides outputs: logs, benchmarks, a job's software, resume state
NOT_OUTPUTS = (".log", ".software.json", ".benchmark.tsv", ".partial", ".fingerprint", ".ckpt")
NOT_OUTPUTS_TOP = ("logs", "benchmarks", "report.html")  # directly under the run folder (`make report` writes the last)
SKEW_S = 2.0  # file-system timestamps vs. Snakemake's clock
HASH_RATE = 50e6  # bytes/s, the slowest sha256 allowed for: a sidecar is written once its file is hashed


def store(backend=None, db_url: str | None = None):
    """Snakemake's metadata store of this working directory, in the run's backend (``PersistenceBackend``)."""
    if getattr(backend, "name", None) == "DB":
        from snakemake.persistence.db import DbPersistence

        return DbPersistence(nolock=True, **({"db_url": db_url} if db_url else {}))
    from snakemake.persistence.file import FilePersistence

    return FilePersistence(nolock=True)


def outputs(run_dir: str | os.PathLike, top: bool = True):
    """(output, its sidecar or None) for every file or folder under ``run_dir`` that a job may have written: a
    folder with a sidecar is one output; logs, benchmarks and resume state are not outputs."""
    for entry in sorted(Path(run_dir).iterdir()):
        if (entry.name.startswith(".") or entry.name.endswith(NOT_OUTPUTS)
                or top and entry.name in NOT_OUTPUTS_TOP):
            continue
        side = ledger.sidecar(entry)
        if side.exists():
            yield entry, side
        elif entry.is_dir():
            yield from outputs(entry, top=False)
        else:
            yield entry, None


def _record(stamp: dict):
    from snakemake.persistence import MetadataRecord

    return MetadataRecord.model_validate(stamp["record"])


def untrusted_record(reason: str):
    """A record no job matches: Snakemake sees changed params and reruns the job that makes the file."""
    from snakemake.persistence import RECORD_FORMAT_VERSION, MetadataRecord

    return MetadataRecord(params=[repr(UNTRUSTED + reason)], record_format_version=RECORD_FORMAT_VERSION,
                          incomplete=False)


def _written_during(side: Path, entry: dict, record) -> bool:
    """Whether the sidecar was written by the recorded job: after its start, and by its output's mtime (the record's
    end) plus the time hashing the output takes (a multi-GB file takes seconds). A job that ran elsewhere (a cluster
    job) removes its start marker itself, and Snakemake then records as its start the moment it saw the job finish,
    after the end: only the end bounds it."""
    sizes = [f["bytes"] for f in entry["files"].values()] if "files" in entry else [entry.get("bytes", 0)]
    mtime, end = side.stat().st_mtime, record.endtime or float("inf")
    start = record.starttime or 0
    return (start > end or start - SKEW_S <= mtime) and mtime <= end + SKEW_S + sum(sizes) / HASH_RATE


def _write_stamp(side: Path, entry: dict, key: str, record) -> None:
    entry = {**entry, STAMP: {"output": key, "record": record.model_dump(mode="json")}}
    tmp = side.with_name(f"{side.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(entry, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, side)


def untrusted_reason(params: list | None) -> str | None:
    """Why recorded ``params`` mark their output untrusted (:func:`untrusted_record`), or None."""
    found = [p for p in params or [] if str(p).startswith(repr(UNTRUSTED)[:-1])]
    return ast.literal_eval(found[0]) if found else None


def judge(key: str, side: Path | None, recorded, accept: bool = False) -> tuple[object | None, str | None]:
    """(the record Snakemake should hold for output ``key``, or None to leave it; why the output is untrusted, or
    None). ``recorded`` is Snakemake's record now; ``accept``: the run was ``--touch``, whose records are accepted."""
    if side is None:
        return untrusted_record("no ledger sidecar"), "no ledger sidecar (deleted, or not written by a job)"
    if recorded is not None and recorded.incomplete:
        return None, None  # Snakemake reruns it
    entry = json.loads(side.read_text(encoding="utf-8"))
    stamp = entry.get(STAMP)
    if ((stamp is None or accept) and recorded is not None and untrusted_reason(recorded.params) is None
            and (accept or _written_during(side, entry, recorded))):
        _write_stamp(side, entry, key, recorded)
        return None, None
    if stamp is None:
        return untrusted_record("unstamped"), "no record of the job that wrote it"
    if stamp["output"] != key:
        why = f"made as {stamp['output']} (copied in from elsewhere)"
        return untrusted_record(why), why
    want = _record(stamp)
    return (None if recorded == want else want), None


def reconcile(run_dir: str | os.PathLike, metadata, accept: bool = False) -> list[tuple[str, str]]:
    """Bring Snakemake's ``metadata`` for the outputs under ``run_dir`` in line with their sidecars (see the module
    docstring); stamp sidecars from the records of the jobs that wrote them. Returns (output, why) for each
    untrusted output."""
    untrusted = []
    if not Path(run_dir).is_dir():
        return untrusted
    for path, side in outputs(run_dir):
        key = os.path.relpath(path)
        recorded = metadata._read_record(key)
        want, why = judge(key, side, recorded, accept)
        if want is not None and want != recorded:
            metadata._write_record(key, want)
        if why:
            untrusted.append((key, why))
    return untrusted
