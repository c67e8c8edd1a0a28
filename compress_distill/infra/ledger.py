"""Verified intermediates: every file or folder a stage publishes records what it wrote — sha256, bytes and, for
JSONL, the record count — in a sidecar ``.<name>.ledger`` beside it. Readers check the sidecar before they trust
what they read, so a shard cut short, edited or torn after its job finished stops the consumer with the file's name
instead of flowing into a table.

``python -m compress_distill.infra.ledger verify results/<run>`` checks every recorded file of a run (and reports recorded
files that are gone). ``… rebuild results/<run> -- <snakemake arguments>`` (``make verify``) also asks Snakemake which
outputs are missing — a plain run does not rebuild a deleted intermediate whose consumers are complete — and reruns
the jobs that made every damaged or missing file, and everything downstream of them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

SUFFIX = ".ledger"
STAMP = "job"  # the record of the job that wrote the file (compress_distill.infra.provenance), beside its content


class IntermediateError(RuntimeError):
    """An intermediate file no longer matches what its job wrote."""


def sidecar(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}{SUFFIX}")


def _file(path: Path, data: bytes | None = None) -> dict:
    """sha256, size and (JSONL) record count of ``path``, from ``data`` when the caller already read it."""
    blocks = [data] if data is not None else _blocks(path)
    digest, size, lines = hashlib.sha256(), 0, 0
    for block in blocks:
        digest.update(block)
        size += len(block)
        lines += block.count(b"\n")
    entry = {"sha256": digest.hexdigest(), "bytes": size}
    if path.suffix == ".jsonl":
        entry["records"] = lines
    return entry


def _blocks(path: Path):
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(1 << 20), b"")


def describe(path: str | os.PathLike) -> dict:
    """What a file is (sha256, bytes, records) or, for a folder, what each of its files is — hidden ones aside
    (sidecars, Snakemake's ``.snakemake_timestamp``)."""
    path = Path(path)
    if path.is_dir():
        files = [p for p in sorted(path.rglob("*")) if p.is_file()
                 and not any(part.startswith(".") for part in p.relative_to(path).parts)]
        return {"files": {str(p.relative_to(path)): _file(p) for p in files}}
    return _file(path)


def record(path: str | os.PathLike) -> None:
    """Write ``path``'s sidecar (atomically: a torn sidecar would condemn a good file)."""
    side = sidecar(path)
    tmp = side.with_name(f"{side.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(describe(path), sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, side)


def _difference(recorded: dict, found: dict) -> str:
    if "files" in recorded:
        names = sorted(set(recorded["files"]) | set(found.get("files", {})))
        bad = [n for n in names if recorded["files"].get(n) != found.get("files", {}).get(n)]
        return "changed or missing inside it: " + ", ".join(bad[:5])
    parts = [f"{key} {recorded[key]} when written, {found.get(key)} now"
             for key in ("records", "bytes") if key in recorded and recorded[key] != found.get(key)]
    return "; ".join(parts) or "same size, different content (edited)"


def problem(path: str | os.PathLike, data: bytes | None = None) -> str | None:
    """Why ``path`` (whose content is ``data`` when the caller already read it) does not match its sidecar, or None
    when it does (or was never recorded)."""
    side = sidecar(path)
    if not side.exists():
        return None
    if data is None and not Path(path).exists():
        return "missing (recorded when its job wrote it)"
    recorded = json.loads(side.read_text(encoding="utf-8"))
    made_as = recorded.pop(STAMP, {}).get("output")
    if made_as and not _same_place(made_as, path):
        return f"made as {made_as} (copied in from elsewhere)"
    found = _file(Path(path), data) if data is not None else describe(path)
    return None if found == recorded else _difference(recorded, found)


def _same_place(made_as: str, path: str | os.PathLike) -> bool:
    """Whether ``path`` is where its job wrote it: ``made_as`` is relative to the workflow folder, which need not be
    the reader's (a clone elsewhere holds the same relative path)."""
    tail = Path(made_as).parts
    return Path(path).resolve().parts[-len(tail):] == tail


def check(path: str | os.PathLike, data: bytes | None = None) -> None:
    """Raise :class:`IntermediateError` naming ``path`` if it (``data``, when already read) no longer matches what
    its job wrote."""
    why = problem(path, data)
    if why:
        raise IntermediateError(
            f"{path}: does not match what its job wrote ({why}); it was cut short, edited or torn after the job "
            f"finished. Run `make verify` (or `python -m compress_distill.infra.ledger rebuild <run folder> -- <snakemake "
            f"arguments>`) to rebuild it and everything that depends on it")


def verify(root: str | os.PathLike) -> list[tuple[Path, str]]:
    """(file, problem) for every recorded file under ``root`` that fails its check."""
    found = []
    for side in sorted(Path(root).rglob(f".*{SUFFIX}")):
        path = side.with_name(side.name[1 : -len(SUFFIX)])
        why = problem(path)
        if why:
            found.append((path, why))
    return found


class LedgerError(RuntimeError):
    pass


def missing_outputs(snakemake_args: list[str]) -> tuple[list[str], set[str]]:
    """(missing, all): the workflow's output files that Snakemake reports missing, and all its outputs
    (``snakemake --summary``). A missing intermediate whose consumers are complete is not rebuilt by a plain run."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", *snakemake_args, "--summary"], capture_output=True,
                          text=True)
    if proc.returncode:  # e.g. an invalid config: Snakemake's own message names the key
        raise LedgerError(f"snakemake {' '.join(snakemake_args)} --summary failed:\n{proc.stderr[-3000:].strip()}")
    rows = [line.split("\t") for line in proc.stdout.splitlines() if "\t" in line][1:]
    return [r[0] for r in rows if r[4] == "missing"], {r[0] for r in rows}


def rebuild(root: str, snakemake_args: list[str]) -> int:
    """Check the run's recorded files and ask Snakemake which outputs are missing; rerun the jobs that made every
    damaged or missing file and everything downstream (``--forcerun``); return Snakemake's exit status."""
    damaged = verify(root)
    missing, outputs = missing_outputs(snakemake_args)
    if not any(Path(p).resolve().is_relative_to(Path(root).resolve()) for p in outputs):
        raise LedgerError(f"the config given ({' '.join(snakemake_args)}) makes no file under {root}: it is another "
                          "run's; pass this run's config (make verify CONFIG=<its config> RUN=<its name>)")
    for path, why in damaged:
        print(f"{path}: {why}")
    for path in missing:
        print(f"{path}: missing")
    targets = sorted({os.path.relpath(p) for p, _ in damaged if os.path.relpath(p) in outputs} | set(missing))
    print(f"ledger: {len(damaged)} damaged, {len(missing)} missing under {root}"
          + ("; rebuilding them and what depends on them" if targets else ""), flush=True)
    force = ["--forcerun", *targets] if targets else []
    return subprocess.run([sys.executable, "-m", "snakemake", *snakemake_args, *force]).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.infra.ledger", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["verify", "rebuild"])
    parser.add_argument("root", help="a run's results folder, e.g. results/demo")
    parser.add_argument("snakemake_args", nargs="*", help="rebuild: Snakemake's arguments (after --)")
    args = parser.parse_args(argv)
    if not Path(args.root).is_dir():
        print(f"ledger: {args.root} is not a folder", file=sys.stderr)
        return 2
    if args.command == "rebuild":
        try:
            return rebuild(args.root, args.snakemake_args)
        except LedgerError as err:
            print(f"ledger: {err}", file=sys.stderr)
            return 2
    total = sum(1 for _ in Path(args.root).rglob(f".*{SUFFIX}"))
    bad = verify(args.root)
    for path, why in bad:
        print(f"{path}: {why}")
    print(f"ledger: {len(bad)} of {total} recorded files under {args.root} fail")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
