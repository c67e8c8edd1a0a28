"""The package's shape: no import cycles (function-level imports included), modules of a readable size, and test
modules that stand alone."""

from __future__ import annotations

import ast

from compress_distill import identity
from conftest import ROOT

PACKAGE = ROOT / "compress_distill"
MAX_LINES = 250


def _name(path) -> str:
    """``engines/hf.py`` -> ``engines.hf``; a package's ``__init__.py`` -> the package's name."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Package module -> the package modules it imports anywhere (top level or inside functions), resolved as the
    code identity resolves them (relative imports from each file's own package)."""
    files = [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py"]
    graph = {}
    for path in files:
        own, _ = identity.imports_in(path, PACKAGE)
        targets = {identity.module_file(PACKAGE, name) for name in own} - {None, path, PACKAGE / "__init__.py"}
        graph[_name(path)] = {_name(t) for t in targets}
    return graph


def _cycle(graph) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path + [node, dep]
            if dep not in state:
                found = visit(dep, path + [node])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_no_import_cycles():
    graph = _graph()
    assert graph["trainer"] >= {"batching", "loss", "checkpoints"}  # the graph sees real imports
    assert graph["engines.hf"] >= {"engine", "student"}  # and relative imports inside the engines package
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_a_cycle_would_be_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_modules_are_short_or_say_why():
    long = [p.name for p in PACKAGE.rglob("*.py") if len(p.read_text().splitlines()) > MAX_LINES
            and "Longer than" not in (ast.get_docstring(ast.parse(p.read_text())) or "")]
    assert long == []


def test_no_test_module_imports_another():
    tests = {p.stem for p in (ROOT / "tests").rglob("test_*.py")}
    crossing = [(p.name, sorted(_test_imports(p) & tests)) for p in (ROOT / "tests").rglob("*.py")
                if _test_imports(p) & tests]
    assert crossing == []


def _test_imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_every_registered_output_has_a_builder_and_a_caption():
    from compress_distill import figures, outputs, tables

    assert sorted(t.name for t in outputs.TABLES) == sorted(tables.BUILDERS)
    assert sorted(f.name for f in outputs.FIGURES) == sorted(figures.BUILDERS)
    for kind, entries in (("tables", outputs.TABLES), ("figures", outputs.FIGURES)):
        for entry in entries:
            assert (ROOT / "report" / kind / f"{entry.name}.rst").read_text().strip(), entry.name
