"""The identity of a job, by content: the code it really runs and the software that code imports.

Snakemake reruns a job when its params change; the rules put :func:`code_identity` into every rule's params, so a job
reruns exactly when the code it runs changes — never because a file's clock moved (a clone, a ``touch``, a synced
results folder). The code a rule runs is computed, not listed by hand: its script plus every package module reachable
through imports (module level and inside functions), plus the engine modules that config picks at run time (their
names are strings in ``engines.registry.KINDS``, which no import reveals). Each file counts by its syntax tree without
docstrings, so editing a comment, a docstring or the layout changes nothing, while any change to what runs does. The
third-party distributions those files import count by version (the release, without a local build label such as
``+cpu``: a CPU and a GPU build of one release are the same software, and GPU numerics are machine-dependent anyway).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import sys
from functools import lru_cache
from pathlib import Path

PACKAGE = "compress_distill"
DIGEST_CHARS = 16  # 64 bits per file: plenty to tell versions of one file apart


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


@lru_cache(maxsize=None)
def _parsed(path: Path) -> ast.Module:
    """The file's syntax tree without docstrings, parsed once per process (a dry run asks for each file many times;
    docstrings hold no imports, so the import scan reads the same tree)."""
    return _strip_docstrings(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


@lru_cache(maxsize=None)
def source_digest(path: Path) -> str:
    """A digest of what the file runs: its syntax tree without docstrings (comments and layout are not in it)."""
    return hashlib.sha256(ast.dump(_parsed(path), annotate_fields=False).encode()).hexdigest()[:DIGEST_CHARS]


@lru_cache(maxsize=None)
def file_digest(path: str | Path) -> str:
    """A digest of a data file's bytes (prompt templates, local datasets), or of a folder's files (a local dataset
    in the hub's layout)."""
    if Path(path).is_dir():
        return "sha256:" + _content_digest(Path(path))
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def module_file(package_dir: Path, module: str) -> Path | None:
    """``compress_distill.x`` -> ``<package>/x.py``, a (sub)package -> its ``__init__.py``; None for a name that is
    an attribute, not a module (``from compress_distill.engines.interface import Request``)."""
    folder = package_dir.joinpath(*module.split(".")[1:])
    for candidate in (folder.with_suffix(".py"), folder / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


@lru_cache(maxsize=None)
def imports_in(path: Path, package_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(package names, third-party top-level names) that ``path`` imports anywhere in its body."""
    inside = path.is_relative_to(package_dir)
    own, third = set(), set()
    for node in ast.walk(_parsed(path)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and inside:  # relative: from . import x / from ..x import y, from the file's package
                package = [PACKAGE, *path.relative_to(package_dir).parent.parts]
                if node.level > len(package):
                    raise ValueError(f"{path}: imports beyond the package are not supported")
                base = ".".join(package[: len(package) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            # `from pkg import name` may name a submodule or an attribute of the package
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == PACKAGE:
                own.add(name)
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                third.add(top)
    return frozenset(own), frozenset(third)


def closure(root: Path, entry: str, extra_modules: tuple[str, ...] = ()) -> tuple[list[Path], list[str]]:
    """Files (the entry script and every package module it reaches) and third-party top-level names, sorted."""
    package_dir = root / PACKAGE
    files, third = {root / entry}, set()
    extra = {m: module_file(package_dir, f"{PACKAGE}.{m}") for m in extra_modules}
    if None in extra.values():
        raise ValueError(f"no package module {[m for m, f in extra.items() if f is None]}")
    todo = [root / entry, *extra.values()]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        files.add(path)
        own, ext = imports_in(path, package_dir)
        third |= ext
        todo += [f for f in (module_file(package_dir, m) for m in own) if f]
    return sorted(files), sorted(third)


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _release(version: str) -> str:
    return version.split("+", 1)[0]


@lru_cache(maxsize=None)
def _installed(dist: str) -> str:
    try:
        return _release(importlib.metadata.version(dist))
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions(top_level_names: list[str]) -> dict[str, str]:
    """Installed release of the distribution behind each import name (``not installed`` where none is)."""
    out = {dist: _installed(dist) for name in top_level_names for dist in _distributions().get(name, [name])}
    return dict(sorted(out.items()))


def _content_digest(path: Path) -> str:
    if path.is_dir():
        return hashlib.sha256("".join(f"{p.relative_to(path)}\0{_content_digest(p)}\n"
                                      for p in sorted(path.rglob("*")) if p.is_file()).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def job_fingerprint(params: dict, inputs: list[str | Path]) -> str:
    """What a job's result is computed from: its params (settings and :func:`code_identity`) and the content of its
    input files (a folder by every file in it). Resume state — a training checkpoint, a generation's ``.partial`` —
    carries it and is used only by a job with the same fingerprint."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    for path in inputs:
        digest.update(f"\n{path}\0{_content_digest(Path(path))}".encode())
    return digest.hexdigest()


@lru_cache(maxsize=None)
def code_identity(root: str | Path, script: str, extra_modules: tuple[str, ...] = ()) -> dict:
    """What a rule's result depends on besides its inputs and settings: ``{"code": {file: digest}, "software":
    {distribution: release}}`` for the rule's ``script`` (relative to ``root``) and the package modules it reaches."""
    root = Path(root)
    files, third = closure(root, script, tuple(sorted(extra_modules)))
    software = {"python": ".".join(map(str, sys.version_info[:2])), **versions(third)}
    return {"code": {str(p.relative_to(root)): source_digest(p) for p in files}, "software": software}
