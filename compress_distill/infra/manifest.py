"""``manifest.json``: what a run produced, and where it was computed.

``results`` is the part that must be the same for anyone who runs the same configuration: sha256 of every
deterministic table and figure, the prompt templates' hashes, the seeds and the resolved config (the names of the
measured, wall-clock files are listed there too, without hashes). ``digest`` is the sha256 of that part.
``provenance`` says where it was computed — software versions (per stage, as each job found them in its own
environment), the CPU model, the dispatch pins — and is not part of the comparison.
``presets/<preset>.expected.json`` holds the ``results`` part a preset is expected to produce;
``python -m compress_distill.infra.manifest check`` compares a run against it file by file.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path

from compress_distill.infra.io import read_json, sha256_file, write_json
from compress_distill.numerics.pins import DISPATCH_PINS, DISPATCH_VARIABLE, machine

PACKAGES = ["torch", "transformers", "peft", "accelerate", "tokenizers", "snakemake", "pandas", "seaborn",
            "matplotlib", "numpy", "math-verify"]


def versions() -> dict[str, str]:
    from compress_distill import __version__

    out = {"python": platform.python_version(), "compress-distill": __version__}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def seeds(config: dict) -> dict:
    return {"master": config["seed"], "grid": sorted({s for b in config["grid"] for s in b.get("seeds", [0])})}


def digest(results: dict) -> str:
    return hashlib.sha256(json.dumps(results, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def stage_software(root: str | Path) -> dict[str, dict[str, list[str]]]:
    """Per stage, the versions its jobs found where they ran (each job's record beside its log; several versions of
    one package mean its jobs ran in different environments)."""
    from compress_distill.infra.jobstart import SOFTWARE_SUFFIX

    found: dict[str, dict[str, set[str]]] = {}
    for path in sorted(Path(root).rglob(f"*{SOFTWARE_SUFFIX}")):
        job = json.loads(path.read_text(encoding="utf-8"))
        stage = found.setdefault(job["stage"], {})
        for dist, version in {"python": job["python"], **job["versions"]}.items():
            stage.setdefault(dist, set()).add(version)
    return {stage: {d: sorted(v) for d, v in sorted(dists.items())} for stage, dists in sorted(found.items())}


def provenance(root: str | Path) -> dict:
    """Where the run was computed: the software each stage's jobs ran with, the manifest job's own, the CPU, and the
    dispatch variables in effect (jobs log their own)."""
    dispatch = os.environ.get(DISPATCH_VARIABLE, "unset")
    pins = sorted({k for p in DISPATCH_PINS.values() for k in p})
    return {"versions": versions(), "stages": stage_software(root), "machine": machine(), "cpu_dispatch": dispatch,
            "dispatch_environment": {k: os.environ.get(k, "unset") for k in pins}}


def results_config(config: dict) -> dict:
    """The config without what changes how jobs start but not what they compute (``cpu.preload``: tested)."""
    return {**config, "cpu": {k: v for k, v in config["cpu"].items() if k != "preload"}} if "cpu" in config else config


def build(outputs: list[str], measured: list[str], prompts: dict[str, str], config: dict, root: str) -> dict:
    rel = lambda p: str(Path(p).relative_to(root))  # noqa: E731
    measured_set = set(measured)
    results = {
        "deterministic": {rel(p): sha256_file(p) for p in sorted(outputs) if p not in measured_set},
        "measured": sorted(rel(p) for p in measured),
        "prompts": dict(sorted(prompts.items())),
        "seeds": seeds(config),
        "config": results_config(config),
    }
    return {"digest": digest(results), "results": results, "provenance": provenance(root)}


def write(path: str, manifest: dict) -> None:
    write_json(path, manifest)


def expected_record(manifest: dict) -> dict:
    """What ``presets/<preset>.expected.json`` holds: the compared part of a manifest."""
    return {"digest": manifest["digest"], "results": manifest["results"]}


def differences(manifest: dict, expected: dict) -> list[str]:
    """One line per difference between a run's ``results`` and the expected ones (empty when they agree)."""
    got, want = manifest["results"], expected["results"]
    lines = []
    for path in sorted(set(got["deterministic"]) | set(want["deterministic"])):
        a, b = got["deterministic"].get(path), want["deterministic"].get(path)
        if a != b:
            lines.append(f"{path}: " + ("missing from the run" if a is None else "not expected" if b is None
                                        else f"sha256 {a[:12]}… expected {b[:12]}…"))
    lines += [f"{key}: differs from the expected {key}" for key in sorted(set(got) | set(want))
              if key != "deterministic" and got.get(key) != want.get(key)]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.infra.manifest",
                                     description="Compare a run's manifest with the expected one, or record it.")
    parser.add_argument("action", choices=["check", "record"])
    parser.add_argument("manifest", help="results/<run>/manifest.json")
    parser.add_argument("expected", help="presets/<preset>.expected.json")
    args = parser.parse_args(argv)
    manifest = read_json(args.manifest)
    if args.action == "record":
        write_json(args.expected, expected_record(manifest), record=False)  # a tracked file, not an output
        print(f"recorded {args.manifest} as {args.expected} (digest {manifest['digest'][:16]}…)")
        return 0
    lines = differences(manifest, read_json(args.expected))
    for line in lines:
        print(f"{args.manifest}: {line}")
    machine_line = f"computed on {manifest['provenance']['machine']['cpu']}, dispatch " \
                   f"{manifest['provenance']['cpu_dispatch']}"
    print(f"{args.manifest}: {'differs from' if lines else 'matches'} {args.expected} ({machine_line})")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
