"""Every rule's conda env provides what its code imports: the third-party imports of the rule's script and of every
package module it reaches (the same closure as its code identity) must each come from a package the env declares,
or from what those packages require (read from the installed distributions' metadata)."""

from __future__ import annotations

import importlib.metadata as metadata
import re
from pathlib import Path

import yaml

from compress_distill.engines import registry
from compress_distill.infra import identity
from conftest import ROOT

# imports the closure reaches that the rule never executes, each with its reason
NOT_NEEDED = {
    ("manifest", "torch"): "numerics.pin_torch, which the manifest does not call (it reads only the dispatch names)",
    ("train", "liger_kernel"): "loss: the fused cross-entropy, used only where installed (a GPU option)",
    ("pilot_train", "liger_kernel"): "the train script, as for train",
}


def _name(requirement: str) -> str:
    return re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def provided(declared: set[str]) -> set[str]:
    """The declared distributions and everything they require, transitively (extras left out)."""
    out, todo = set(), list(declared)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        try:
            todo += [_name(r) for r in metadata.requires(name) or [] if "extra ==" not in r]
        except metadata.PackageNotFoundError:
            pass
    return out


# every kind, and an openai engine serving its model with each server kind (the server runs in the job's env)
ENGINE_SPECS = [{"kind": kind} for kind in registry.KINDS] + [{"kind": "openai", "serve": {"kind": kind}}
                                                              for kind in ("vllm", "transformers")]


def rule_envs() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(rule, env file, script, engine modules) of every rule with an env and a script: a rule whose env follows
    its engine (``engine_env``) once per engine of ``ENGINE_SPECS``, with that kind's module (and the server's)."""
    found = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text()):
            rule = re.match(r"rule (\w+):", block)
            script = re.search(r'script:\s*\n\s*"\.\./([^"]+)"', block)
            fixed = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            by_kind = re.search(r'conda:\s*\n\s*engine_env\([^)]*"(\w+)"\)', block)
            if not (rule and script):
                continue
            if fixed:
                found.append((rule.group(1), str((smk.parent / fixed.group(1)).resolve()), script.group(1), ()))
            elif by_kind:
                found += [(rule.group(1), str(ROOT / "envs" / f"{registry.env_of(spec, by_kind.group(1))}.yaml"),
                           script.group(1), (registry.module_of(spec["kind"]), *registry.server_modules(spec)))
                          for spec in ENGINE_SPECS]
    return found


def missing(rule: str, env_file: str, script: str, modules: tuple[str, ...] = ()) -> dict[str, str]:
    pip = yaml.safe_load(open(env_file))["dependencies"][-1]["pip"]
    have = provided({_name(p) for p in pip})
    _, third = identity.closure(ROOT, script, modules)
    dists = metadata.packages_distributions()
    return {name: dist for name in third for dist in dists.get(name, [name])
            if _name(dist) not in have and (rule, name) not in NOT_NEEDED}


def test_every_rules_env_provides_its_imports():
    rules = rule_envs()
    assert len(rules) > 10 and {r for r, *_ in rules} >= {"teacher_generate", "compress", "evaluate"}
    gaps = {(rule, Path(env).name, modules): gap for rule, env, script, modules in rules
            if (gap := missing(rule, env, script, modules))}
    assert gaps == {}


def test_an_import_added_to_a_stage_is_a_gap_in_its_env(tmp_path, monkeypatch):
    """The check reads the code as it is: a stage module that starts importing seaborn needs it in its env."""
    rule, env, script, _ = next(r for r in rule_envs() if r[0] == "truncate")
    module = ROOT / "compress_distill" / "stages" / "truncation.py"
    monkeypatch.setattr(identity, "_parsed", lambda path: __import__("ast").parse(
        path.read_text() + ("\nimport seaborn\n" if path == module else "")))
    monkeypatch.setattr(identity, "imports_in", identity.imports_in.__wrapped__)  # past its per-process cache
    assert missing(rule, env, script) == {"seaborn": "seaborn"}


def test_every_installed_distribution_is_pinned_by_the_constraints():
    """`make` installs with constraints.txt: each distribution in this environment is there, at its version (an
    unpinned dependency changed the figures' bytes once), except the model packages installed on their own."""
    pinned = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    pinned = {_name(name): version for name, version in pinned.items()}
    models = {_name(line) for line in (ROOT / "requirements-models.txt").read_text().splitlines()
              if line and not line.startswith("#")}
    installed = {_name(d.metadata["Name"]): d.version.split("+")[0] for d in metadata.distributions()}
    unpinned = {name: version for name, version in installed.items()
                if name not in models and name not in {"pip", "setuptools", "wheel"} and pinned.get(name) != version}
    assert not unpinned, f"installed but not pinned (at that version) in constraints.txt: {unpinned}"


def test_gpu_constraints_come_from_a_resolution_report_with_what_pulls_each_in():
    """``make constraints-gpu`` pins pip's resolution (a report; nothing installed): markers are evaluated for Linux,
    extras followed only where asked, and each pin names what pulls it in — the closure envs/vllm.yaml is read from."""
    from compress_distill.planning import environments

    def item(name, version, *requires):
        return {"metadata": {"name": name, "version": version, "requires_dist": list(requires)}}

    report = {"install": [item("Top", "1.0", "mid>=1", "winonly; sys_platform == 'win32'", "extra-dep; extra == 'x'"),
                          item("mid", "2.0", "leaf"), item("leaf", "3.0"), item("winonly", "4.0"),
                          item("extra-dep", "5.0", "leaf")]}
    text = environments.report_constraints(report, ["top"], "# header\n")
    assert text.splitlines() == ["# header", "leaf==3.0  # via mid", "mid==2.0  # via top", "Top==1.0"]
    with_extra = environments.report_constraints(report, ["top[x]"], "")
    assert "extra-dep==5.0  # via top" in with_extra and "leaf==3.0  # via extra-dep, mid" in with_extra
    constraints = ROOT / "constraints-gpu.txt"
    graph = environments.via_graph(constraints)
    assert "torch" in graph["vllm"] and "nvidia-nccl-cu13" in graph["torch"]
