"""The package's shape: wings layered with no import running upward and no cycle (function-level imports included),
faces that import nothing, the trace format written in one module, rule scripts that read settings only from their
job, modules of a readable size, and test modules that stand alone."""

from __future__ import annotations

import ast
import importlib
import re

import compress_distill
from compress_distill.infra import identity
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
    files = [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py" and p.name != "__init__.py"]
    graph = {}
    for path in files:
        own, _ = identity.imports_in(path, PACKAGE)
        targets = {identity.module_file(PACKAGE, name) for name in own} - {None, path}
        targets = {t for t in targets if t.name != "__init__.py"}  # faces import nothing (tested below)
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
    assert graph["training.trainer"] >= {"training.batching", "training.loss", "training.checkpoints"}  # real imports
    assert graph["engines.hf"] >= {"engines.interface", "models.student"}  # function-level ones too
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def _wing(module: str) -> str:
    return module.split(".")[0]


def _upward(graph) -> list[str]:
    layer = {wing: i for i, wing in enumerate(compress_distill.WINGS)}
    return sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                  if _wing(m) in layer and _wing(d) in layer and layer[_wing(d)] > layer[_wing(m)])


def test_every_module_lives_in_a_wing_and_no_import_runs_upward():
    graph = _graph()
    assert {_wing(m) for m in graph if "." in m} == set(compress_distill.WINGS)
    assert [m for m in graph if "." not in m and m != "_face"] == []  # nothing left on the ground floor
    assert _upward(graph) == []


def test_an_upward_import_would_be_found():
    assert _upward({"core.trace": {"stages.teacher"}, "stages.teacher": {"core.trace"}}) == [
        "core.trace -> stages.teacher"]


def test_faces_import_nothing_and_name_what_their_wing_holds():
    """A face re-exports lazily: importing one module of a wing never imports the rest of it (and a job's code
    identity holds the modules it imports, not the whole wing)."""
    for wing in compress_distill.WINGS:
        init = PACKAGE / wing / "__init__.py"
        own, third = identity.imports_in(init, PACKAGE)
        assert own <= {"compress_distill._face", "compress_distill._face.face"} and not third, wing
        face = importlib.import_module(f"compress_distill.{wing}")
        for name in face.__all__:
            assert getattr(face, name) is not None, f"{wing}.{name}"


def _string_constants(path) -> list[str]:
    """The string literals of a module's code: docstrings left out (they may describe the format)."""
    tree = identity._strip_docstrings(ast.parse(path.read_text()))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _format_writers(package) -> list[str]:
    markers = re.compile(r"</?think>")
    return sorted(str(p.relative_to(package)) for p in package.rglob("*.py") if p != package / "core" / "trace.py"
                  and any(markers.search(s) for s in _string_constants(p)))


def test_the_trace_format_is_written_in_one_module(tmp_path):
    assert _format_writers(PACKAGE) == []
    (tmp_path / "x.py").write_text('"""Reads <think> blocks."""\nTEXT = "<think>\\n" + "r" + "\\n</think>\\n"\n')
    assert _format_writers(tmp_path) == ["x.py"]  # the search finds a copy (and skips docstrings)


def test_no_rule_script_reads_the_config():
    """A job's settings reach its script only through its params and resources (one path: rules/common.smk's
    ``job_params``), so what a job computes with is what Snakemake compares when it decides to rerun."""
    reads = sorted(p.name for p in (ROOT / "workflow_scripts").glob("*.py") if "snakemake.config" in p.read_text())
    assert reads == []


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
    from compress_distill.analysis import figures, registry, tables

    assert sorted(t.name for t in registry.TABLES) == sorted(tables.BUILDERS)
    assert sorted(f.name for f in registry.FIGURES) == sorted(figures.BUILDERS)
    for kind, entries in (("tables", registry.TABLES), ("figures", registry.FIGURES)):
        for entry in entries:
            assert (ROOT / "report" / kind / f"{entry.name}.rst").read_text().strip(), entry.name


def test_package_modules_import_by_absolute_name():
    """A relative import silently changes meaning when a module moves between wings."""
    relative = sorted(f"{p.relative_to(PACKAGE)}:{n.lineno}" for p in PACKAGE.rglob("*.py")
                      for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.ImportFrom) and n.level)
    assert relative == []
