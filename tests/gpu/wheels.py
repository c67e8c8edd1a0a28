"""The wheels the GPU machine needs beyond its image, at this project's pins, for its Python (3.12, manylinux x86-64):
the closure of what the workflow imports, as installed here (``constraints.txt``'s versions), less what the image
already holds and this project does not pin tighter (torch, numpy, pandas, … : see the device notes), plus
liger-kernel. ``tests/gpu/check.sh`` installs them with ``--no-deps``; at most 64 MiB travel with a device call.

    python tests/gpu/wheels.py .whl     # then carry .whl (git-ignored)
"""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

ROOTS = ["snakemake", "transformers", "tokenizers", "huggingface-hub", "peft", "accelerate", "safetensors",
         "math-verify", "jsonschema"]
EXTRA = {"liger-kernel": "0.8.5"}  # GPU only: not installed on CPU machines
# in the GPU image already, and used here only through APIs stable across their recent releases
IMAGE = set("""torch numpy pandas matplotlib seaborn pyarrow scipy sympy mpmath networkx jinja2 markupsafe pyyaml
requests idna certifi charset-normalizer urllib3 filelock fsspec packaging psutil regex tqdm rich typing-extensions
click typer shellingham setuptools anyio h11 attrs wrapt tabulate pygments markdown-it-py mdurl annotated-doc
hf-xet triton""".split())


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[(]", requirement, 1)[0].lower().replace("_", "-")


def closure() -> dict[str, str]:
    found, todo = {}, list(ROOTS)
    while todo:
        name = todo.pop()
        if name in found or name in IMAGE:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:  # a requirement whose marker does not apply (not installed here)
            continue
        found[name] = dist.version.split("+")[0]
        todo += [_name(r) for r in dist.requires or [] if "extra ==" not in r]
    return {**found, **EXTRA}


PLATFORM = ["--python-version", "3.12", "--implementation", "cp", "--abi", "cp312", "--abi", "abi3", "--abi", "none",
            *(a for p in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any")
              for a in ("--platform", p))]


def fetch(pin: str, folder: str) -> None:
    """A binary wheel for the GPU machine's Python, else (a pure-Python sdist, e.g. connection-pool) one built here."""
    pip = [sys.executable, "-m", "pip"]
    got = subprocess.run([*pip, "download", "--quiet", "--no-deps", "--only-binary=:all:", *PLATFORM, "-d", folder,
                          pin], capture_output=True)
    if got.returncode:
        subprocess.run([*pip, "wheel", "--quiet", "--no-deps", "-w", folder, pin], check=True)


def main(folder: str) -> int:
    pins = [f"{name}=={version}" for name, version in sorted(closure().items())]
    Path(folder).mkdir(exist_ok=True)
    for pin in pins:
        fetch(pin, folder)
    size = sum(p.stat().st_size for p in Path(folder).glob("*.whl"))
    print(f"{len(pins)} wheels, {size / 2**20:.1f} MiB in {folder}")
    return 0 if size < 60 * 2**20 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".whl"))
