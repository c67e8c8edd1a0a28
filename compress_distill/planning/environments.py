"""The conda envs' pip sections, pinned like the venv: each env file (``envs/*.yaml``) names its direct requirements;
``python -m compress_distill.planning.environments`` (``make envs``) writes after them every distribution they pull
in, at the version ``constraints.txt`` pins (what computed the expected results), so a conda run installs the
software a venv run does. A test regenerates every env and compares. ``envs/vllm.yaml`` is left to vLLM's own pins
(its CUDA torch; no machine here resolves vLLM's GPU build: ``FREE_ENVS``).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

MARKER = "      # pulled in by the above, at the versions of constraints.txt (make envs)"
FREE_ENVS = ("vllm",)
INSTALLERS = {"pip", "setuptools", "wheel"}  # conda's pip brings its own
ITEM = re.compile(r"^      - (.+)$")


def name_of(requirement: str) -> str:
    return re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def pins(constraints: Path) -> dict[str, str]:
    """``name -> version`` of a constraints file."""
    found = {}
    for line in constraints.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("#", 1)[0].strip().split("==")
            found[name_of(name)] = version.strip()
    return found


def direct(env: Path) -> list[str]:
    """The env's own requirements: its pip items before the marker."""
    lines = env.read_text().splitlines()
    start = lines.index("  - pip:") + 1
    out = []
    for line in lines[start:]:
        if line.startswith("      # pulled in"):
            break
        match = ITEM.match(line)
        if match:
            out.append(match.group(1))
    return out


def _requires(name: str, extras: set[str]) -> list[str]:
    from packaging.requirements import Requirement

    try:
        listed = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    env = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux",
           "platform_machine": "x86_64", "implementation_name": "cpython"}
    out = []
    for text in listed:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in extras or {""}):
            out.append(text)
    return out


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def closure(requirements: list[str]) -> set[str]:
    """The distributions ``requirements`` pull in, transitively, as installed here (their markers evaluated for
    Linux x86-64, Python 3.11; extras followed where named). A model package's own dependencies, which ``make``
    leaves out (``--no-deps``: the workflow reads only its files), are not followed."""
    from packaging.requirements import Requirement

    seen, todo = set(), [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        key = (name_of(req.name), frozenset(req.extras))
        if key in seen or not _installed(req.name):
            continue
        seen.add(key)
        todo += [Requirement(r) for r in _requires(req.name, set(req.extras))]
    return {name for name, _ in seen}


def render(env: Path) -> str:
    """The env file with its pip section's tail regenerated (``FREE_ENVS`` unchanged)."""
    if env.stem in FREE_ENVS:
        return env.read_text()
    own = direct(env)
    pinned = pins(env.parents[1] / "constraints.txt")
    pulled = sorted(closure(own) - {name_of(r) for r in own} - INSTALLERS)
    missing = [n for n in pulled if n not in pinned]
    if missing:
        raise ValueError(f"{env}: {', '.join(missing)} not pinned in constraints.txt")
    lines = env.read_text().splitlines()
    start = lines.index("  - pip:") + 1
    body = [f"      - {r}" for r in own] + [MARKER] + [f"      - {n}=={pinned[n]}" for n in pulled]
    return "\n".join(lines[:start] + body) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.planning.environments",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("envs", nargs="*", type=Path, default=sorted(Path("envs").glob("*.yaml")))
    for env in parser.parse_args(argv).envs:
        env.write_text(render(env))
        print(f"{env}: pinned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
