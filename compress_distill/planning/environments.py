"""The conda envs' pip sections, pinned like the venvs: each env file (``envs/*.yaml``) names its direct requirements;
``python -m compress_distill.planning.environments`` (``make envs``) writes after them every distribution they pull
in, at the version ``constraints.txt`` pins (what computed the expected results), so a conda run installs the
software a venv run does. ``envs/vllm.yaml`` takes the GPU machine's pins instead (``constraints-gpu.txt``: vLLM's
CUDA torch), and its closure from that file's ``# via`` lines, since no machine here installs vLLM's GPU build. A test
regenerates every env and compares.

``constraints-gpu.txt`` itself (``make constraints-gpu``) is written from pip's report of a resolution that installs
nothing (``pip install --dry-run --report``): every distribution with the ones that pull it in.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import re
import sys
from pathlib import Path

MARKER = "      # pulled in by the above, at the versions of {} (make envs)"
GPU_ENVS = ("vllm",)  # pinned from constraints-gpu.txt
LINUX = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
         "implementation_name": "cpython", "os_name": "posix"}
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


def applying(listed: list[str], extras: set[str]) -> list[str]:
    """The requirements of ``listed`` whose markers hold on Linux x86-64, Python 3.11, with ``extras`` asked for."""
    from packaging.requirements import Requirement

    markers = [(text, Requirement(text).marker) for text in listed]
    return [text for text, marker in markers
            if marker is None or any(marker.evaluate({**LINUX, "extra": e}) for e in extras or {""})]


def installed_requires(name: str) -> list[str] | None:
    """A distribution's requirements as installed here; None where it is not installed."""
    try:
        return metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return None


def closure(requirements: list[str], requires=installed_requires) -> dict[str, set[str]]:
    """The distributions ``requirements`` pull in, transitively, each with those that pull it in (markers evaluated
    for Linux x86-64, Python 3.11; extras followed where named). ``requires(name)`` lists a distribution's
    requirements (None: not there, not followed — a model package's own dependencies, which ``make`` leaves out with
    ``--no-deps``, since the workflow reads only its files)."""
    from packaging.requirements import Requirement

    via: dict[str, set[str]] = {}
    seen, todo = set(), [(Requirement(r), None) for r in requirements]
    while todo:
        req, parent = todo.pop()
        name = name_of(req.name)
        listed = requires(name)
        if listed is None:
            continue
        via.setdefault(name, set()).update({parent} - {None})
        if (name, frozenset(req.extras)) in seen:
            continue
        seen.add((name, frozenset(req.extras)))
        todo += [(Requirement(r), name) for r in applying(listed, set(req.extras))]
    return via


def report_constraints(report: dict, requirements: list[str], header: str) -> str:
    """A constraints file from pip's JSON report of resolving ``requirements``: each distribution pinned, with
    ``# via`` the distributions that pull it in (a later closure is read back from them: ``via_graph``)."""
    found = {name_of(i["metadata"]["name"]): i["metadata"] for i in report["install"]}
    via = closure(requirements, lambda name: found[name].get("requires_dist", []) if name in found else None)
    lines = [f"{found[n]['name']}=={found[n]['version']}" + (f"  # via {', '.join(sorted(via[n]))}" if via[n] else "")
             for n in sorted(via)]
    return header + "\n".join(lines) + "\n"


def via_graph(constraints: Path) -> dict[str, list[str]]:
    """``name -> [what it pulls in]`` read back from a constraints file's ``# via`` lines."""
    pulls: dict[str, list[str]] = {}
    for line in constraints.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            child = name_of(line)
            for parent in line.partition("# via ")[2].split(", ") if "# via " in line else []:
                pulls.setdefault(parent.strip(), []).append(child)
    return pulls


def render(env: Path) -> str:
    """The env file with its pip section's tail regenerated."""
    own = direct(env)
    source = env.parents[1] / ("constraints-gpu.txt" if env.stem in GPU_ENVS else "constraints.txt")
    pinned = pins(source)
    if env.stem in GPU_ENVS:
        graph = via_graph(source)
        requires = lambda name: graph.get(name, []) if name in pinned else None  # noqa: E731
    else:
        requires = installed_requires
    pulled = sorted(set(closure(own, requires)) - {name_of(r) for r in own} - INSTALLERS)
    missing = [n for n in pulled if n not in pinned]
    if missing:
        raise ValueError(f"{env}: {', '.join(missing)} not pinned in {source.name}")
    lines = env.read_text().splitlines()
    start = lines.index("  - pip:") + 1
    body = [f"      - {r}" for r in own] + [MARKER.format(source.name)] + [f"      - {n}=={pinned[n]}" for n in pulled]
    return "\n".join(lines[:start] + body) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.planning.environments",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("envs", nargs="*", type=Path, default=sorted(Path("envs").glob("*.yaml")))
    parser.add_argument("--from-report", nargs=3, metavar=("REPORT", "REQUIREMENTS", "CONSTRAINTS"), type=Path,
                        help="write CONSTRAINTS from pip's --report of resolving REQUIREMENTS (keeps its header)")
    args = parser.parse_args(argv)
    if args.from_report:
        report, requirements, out = args.from_report
        wanted = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
        header = "".join(f"{line}\n" for line in out.read_text().splitlines() if line.startswith("#"))
        out.write_text(report_constraints(json.loads(report.read_text()), [w for w in wanted if w], header))
        print(f"{out}: pinned from {report}")
        return 0
    for env in args.envs:
        env.write_text(render(env))
        print(f"{env}: pinned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
