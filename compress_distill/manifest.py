"""``manifest.json``: sha256 of every deterministic table and figure, the software versions, the resolved config,
prompt-template hashes and seeds. Measured (wall-clock) files are listed apart, by name only, so that rerunning the
same configuration on the same machine gives a byte-identical manifest."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

from .io import sha256_file, write_json

PACKAGES = ["torch", "transformers", "peft", "accelerate", "tokenizers", "snakemake", "pandas", "seaborn",
            "matplotlib", "numpy", "math-verify"]


def versions() -> dict[str, str]:
    from . import __version__

    out = {"python": platform.python_version(), "compress-distill": __version__}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def seeds(config: dict) -> dict:
    return {"master": config["seed"], "grid": sorted({s for b in config["grid"] for s in b.get("seeds", [0])})}


def build(outputs: list[str], measured: list[str], prompts: list[str], config: dict, root: str) -> dict:
    rel = lambda p: str(Path(p).relative_to(root))  # noqa: E731
    measured_set = set(measured)
    return {
        "deterministic": {rel(p): sha256_file(p) for p in sorted(outputs) if p not in measured_set},
        "measured": sorted(rel(p) for p in measured),
        "prompts": {p: sha256_file(p) for p in sorted(prompts)},
        "seeds": seeds(config),
        "versions": versions(),
        "config": config,
    }


def write(path: str, manifest: dict) -> None:
    write_json(path, manifest)
