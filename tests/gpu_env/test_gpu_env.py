"""The GPU machine's venv (``make test-gpu-env`` installs it, ``.venv-gpu``; it installs on CPU machines too), checked
as far as a machine without a GPU can: every distribution at its pin in constraints-gpu.txt, every module of the
package and the GPU extras importable, liger-kernel's fused loss taking the arguments ``training.loss`` gives it.
Skipped outside that venv, unless ``REQUIRE_VLLM=1`` (the Make target) makes that a failure."""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import inspect
import os
import pkgutil

import pytest

if os.environ.get("REQUIRE_VLLM") != "1":
    pytest.importorskip("liger_kernel")

from compress_distill.planning import environments  # noqa: E402
from conftest import ROOT  # noqa: E402


def test_every_pin_is_installed_at_its_version():
    pinned = environments.pins(ROOT / "constraints-gpu.txt")
    installed = {environments.name_of(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {name: (version, installed.get(name)) for name, version in pinned.items()
             if installed.get(name) != version}
    assert not wrong, f"(pinned, installed) where they differ: {wrong}"


def test_every_module_of_the_package_and_the_gpu_extras_import():
    import compress_distill

    modules = [m.name for m in pkgutil.walk_packages(compress_distill.__path__, "compress_distill.")]
    assert len(modules) > 50
    for name in [*modules, "vllm", "liger_kernel", "triton", "ray", "accelerate", "peft"]:
        importlib.import_module(name)


def test_liger_kernels_fused_loss_takes_the_arguments_the_trainer_gives():
    from liger_kernel.ops.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyFunction

    given = {"_input", "weight", "target", "reduction", "accum_dtype", "chunk_mem_const"}  # training/loss.py
    params = inspect.signature(LigerFusedLinearCrossEntropyFunction.forward).parameters
    required = {n for n, p in list(params.items())[1:] if p.default is inspect.Parameter.empty}
    assert required <= given and given <= set(params), (sorted(required), sorted(params))
