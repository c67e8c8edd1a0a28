"""The package's shape: no import cycles (function-level imports included), modules of a readable size, and test
modules that stand alone."""

from __future__ import annotations

import ast

from conftest import ROOT

PACKAGE = ROOT / "compress_distill"
MAX_LINES = 250


def _imports(path) -> set[str]:
    """Package modules ``path`` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("compress_distill."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "compress_distill":
            found |= {a.name for a in node.names}
    return {m.split(".")[0] for m in found}


def _graph() -> dict[str, set[str]]:
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {name: _imports(path) & set(modules) - {name} for name, path in modules.items()}


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
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_a_cycle_would_be_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_modules_are_short_or_say_why():
    long = [p.name for p in PACKAGE.glob("*.py") if len(p.read_text().splitlines()) > MAX_LINES
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
