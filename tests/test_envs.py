"""Every rule's conda env provides what its code imports: the third-party imports of the rule's script and of every
package module it reaches (the same closure as its code identity) must each come from a package the env declares,
or from what those packages require (read from the installed distributions' metadata)."""

from __future__ import annotations

import importlib.metadata as metadata
import re

import yaml

from compress_distill import identity
from conftest import ROOT

# imports the closure reaches that the rule never executes, each with its reason
NOT_NEEDED = {
    ("manifest", "torch"): "numerics.pin_torch, which the manifest does not call (it reads only the dispatch names)",
    ("train", "liger_kernel"): "loss: the fused cross-entropy, used only where installed (a GPU option)",
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


def rule_envs() -> list[tuple[str, str, str]]:
    """(rule, env file, script) of every rule with both."""
    found = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text()):
            rule = re.match(r"rule (\w+):", block)
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            script = re.search(r'script:\s*\n\s*"\.\./([^"]+)"', block)
            if rule and env and script:
                found.append((rule.group(1), str((smk.parent / env.group(1)).resolve()), script.group(1)))
    return found


def missing(rule: str, env_file: str, script: str) -> dict[str, str]:
    pip = yaml.safe_load(open(env_file))["dependencies"][-1]["pip"]
    have = provided({_name(p) for p in pip})
    _, third = identity.closure(ROOT, script)
    dists = metadata.packages_distributions()
    return {name: dist for name in third for dist in dists.get(name, [name])
            if _name(dist) not in have and (rule, name) not in NOT_NEEDED}


def test_every_rules_env_provides_its_imports():
    rules = rule_envs()
    assert len(rules) > 10
    gaps = {rule: gap for rule, env, script in rules if (gap := missing(rule, env, script))}
    assert gaps == {}


def test_an_import_added_to_a_stage_is_a_gap_in_its_env(tmp_path, monkeypatch):
    """The check reads the code as it is: a stage module that starts importing seaborn needs it in its env."""
    rule, env, script = next(r for r in rule_envs() if r[0] == "truncate")
    module = ROOT / "compress_distill" / "truncation.py"
    monkeypatch.setattr(identity, "_parsed", lambda path: __import__("ast").parse(
        path.read_text() + ("\nimport seaborn\n" if path == module else "")))
    assert missing(rule, env, script) == {"seaborn": "seaborn"}
