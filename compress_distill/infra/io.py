"""Atomic, deterministic file I/O shared by every stage."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Iterator

from compress_distill.infra import ledger


class InputError(ValueError):
    """A file that cannot be read as what it claims to be; the message names it."""


FIX = "if it is your data, fix that line; if the workflow wrote it, delete it so that its rule rebuilds it"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, record: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto ``path`` only if the block succeeds. ``record``: a stage's
    output, whose content goes to its ledger sidecar (:mod:`compress_distill.infra.ledger`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
        if record:
            ledger.record(path)
    except OSError as err:  # a full disk's write error names no file: name the one being written
        err.filename = err.filename or str(path)
        raise
    finally:
        if tmp.exists() or tmp.is_symlink():
            tmp.unlink()


def _record(path, number: int, line: str) -> dict:
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}, line {number}: not a JSON record ({err.msg}); {FIX}") from None


def parse_jsonl(path: str | os.PathLike, lines: Iterable[str]) -> list[dict]:
    """Records of a JSONL text; a line that is not JSON (a torn write, a hand edit) names the file and line."""
    return [_record(path, number, line) for number, line in enumerate(lines, 1) if line.strip()]


def jsonl_offsets(path: str | os.PathLike, wanted: set[str]) -> dict[str, int]:
    """Byte offset of each record of a ``wanted`` id in a JSONL file (checked against its ledger sidecar first), so
    that a reader of a corpus larger than memory holds offsets and reads records one at a time (:func:`read_at`)."""
    ledger.check(path)
    found, offset = {}, 0
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):  # binary lines end at b"\n" only (JSON strings may hold U+2028)
            if line.strip():
                rec = _record(path, number, line.decode("utf-8"))
                if rec["id"] in wanted:
                    found[rec["id"]] = offset
            offset += len(line)
    return found


def read_at(fh, offset: int) -> dict:
    """The JSONL record at ``offset`` of an open binary file."""
    fh.seek(offset)
    return json.loads(fh.readline())


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """A JSONL file's records, after checking it against its ledger sidecar where it has one (one read of the file)."""
    data = Path(path).read_bytes()
    ledger.check(path, data)
    return parse_jsonl(path, _utf8(path, data).split("\n"))  # not splitlines: JSON strings may hold U+2028


def _utf8(path: str | os.PathLike, data: bytes) -> str:
    """``data`` as UTF-8; a byte that is not names the file, line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise InputError(f"{path}, line {line}, column {column}: byte {data[err.start]:#04x} is not UTF-8; "
                         f"{FIX}") from None


def dumps(record: dict) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> None:
    with atomic_path(path, record=True) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(dumps(record) + "\n")


def write_json(path: str | os.PathLike, obj, record: bool = True) -> None:
    """``obj`` as sorted, indented JSON; ``record=False`` for files that are not a stage's output (no sidecar)."""
    with atomic_path(path, record=record) as tmp:
        tmp.write_text(json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: str | os.PathLike):
    data = Path(path).read_bytes()
    ledger.check(path, data)
    return json.loads(data.decode("utf-8"))


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def records_digest(records: Iterable[dict]) -> str:
    """sha256 of records as :func:`write_jsonl` writes them."""
    digest = hashlib.sha256()
    for record in records:
        digest.update((dumps(record) + "\n").encode())
    return digest.hexdigest()


def folder_digest(folder: str | os.PathLike, pattern: str) -> str:
    """sha256 over the names and bytes of the files in ``folder`` matching ``pattern``, in name order."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob(pattern)):
        digest.update(path.name.encode() + b"\0" + bytes.fromhex(sha256_file(path)))
    return digest.hexdigest()


def stable_seed(*parts) -> int:
    """A 31-bit seed derived from its parts only (never from Python's salted ``hash``)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, record: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling folder; it replaces ``path`` only if the block succeeds (and, with ``record``, its
    files go to its ledger sidecar)."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
        if record:
            ledger.record(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
