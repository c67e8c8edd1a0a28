"""Same numbers on any x86-64 machine: the reduced run's manifest equals the one committed beside the config (recorded
on another machine); the torch work of a run gives the same bits on this CPU and on an emulated Intel CPU of another
instruction set; a job forked from the preload server computes what it computes in a process of its own; without
the pins (cpu.dispatch: native) two dispatches compute different bits.
Under the pins torch's CPU matrix products run on OpenBLAS's Haswell kernels (compress_distill.numerics.gemm)."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compress_distill.infra import manifest
from compress_distill.numerics import pins
from conftest import REDUCED, ROOT, copy_workflow, own_copy, snakemake

AVX2_ONLY_CPU = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
EXPECTED = ROOT / "tests/configs/reduced.expected.json"


def reduced_config(dest: Path, cpu: dict) -> str:
    cfg = yaml.safe_load((ROOT / REDUCED).read_text())
    cfg["cpu"] = cpu
    path = dest / f"{cpu['dispatch']}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_a_torch_job_refuses_to_compute_without_its_pins(monkeypatch):
    monkeypatch.setenv(pins.DISPATCH_VARIABLE, "avx2")
    monkeypatch.delenv("MKL_CBWR", raising=False)
    with pytest.raises(RuntimeError, match="MKL_CBWR=COMPATIBLE"):
        pins.pin_torch(1)


PINNED_PRODUCTS = """
import json, numpy as np, torch
from compress_distill.numerics import pins
from compress_distill.numerics import vecmath
info = pins.pin_torch(2)
g = torch.Generator().manual_seed(0)
x = torch.randn(64, 96, generator=g, requires_grad=True)
w = torch.randn(256, 96, generator=g)
bias = torch.randn(256, generator=g)
q, k = torch.randn(8, 128, 24, generator=g), torch.randn(8, 128, 24, generator=g)
y = torch.nn.functional.linear(x, w)  # a transposed weight: BLAS takes it as it is
y.sum().backward()
xn, wn = x.detach().numpy(), w.numpy()
checks = {
    "linear": np.array_equal(y.detach().numpy(), xn @ wn.T),
    "backward": np.array_equal(x.grad.numpy(), np.ones((64, 256), np.float32) @ wn),
    "bmm": np.array_equal(torch.bmm(q, k.transpose(1, 2)).numpy(), np.matmul(q.numpy(), k.numpy().transpose(0, 2, 1))),
    "addmm": np.allclose(torch.addmm(bias, x.detach(), w.t(), beta=0.5, alpha=2.0).numpy(),
                         2.0 * (xn.astype(np.float64) @ wn.T.astype(np.float64)) + 0.5 * bias.numpy(), atol=1e-4),
    "values": np.allclose(y.detach().numpy(), xn.astype(np.float64) @ wn.T.astype(np.float64), atol=1e-4),
}
from numpy._core._multiarray_umath import __cpu_features__ as numpy_cpu
checks["numpy held to AVX2"] = not any(numpy_cpu.get(level) for level in ("X86_V4", "AVX512_ICL", "AVX512_SPR"))
positive = x.detach().abs() + 0.01  # rotary embeddings take cos and sin of angles like these
for name in vecmath.FUNCTIONS:
    a = positive if name in ("sqrt", "log") else x.detach() * 20
    checks[name] = np.array_equal(getattr(torch, name)(a).numpy(), getattr(np, name)(a.numpy()))
    into = torch.empty(0, dtype=torch.float64)
    getattr(torch, name)(a.double(), out=into)
    checks[name + " (float64, out=)"] = np.array_equal(into.numpy(), getattr(np, name)(a.double().numpy()))
print(json.dumps({"info": info, "checks": checks}))
"""


def test_pinned_matrix_products_and_vector_math_run_on_openblas_and_numpy():
    """Under the pins torch's CPU matrix products — a linear layer, its backward, a batched product — give exactly
    the bits of numpy's OpenBLAS on the same threads (MKL, whose kernels these replace, gives others), and the
    right values; its sqrt, exp, log, sin, cos, tan and tanh give numpy's bits (not MKL's vector math's), and
    numpy's own kernels run at their AVX2 level."""
    env = {**os.environ, **pins.environment("avx2"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PINNED_PRODUCTS], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["info"]["blas"] == "OpenBLAS Haswell" and result["info"]["blas_threads"] == 2
    assert result["info"]["vector_math"].startswith("numpy")
    assert all(result["checks"].values()), result["checks"]


def test_the_run_agrees_with_the_committed_manifest(finished, workdir):
    """The session's reduced run computed on this machine the bits committed beside the config (recorded elsewhere)."""
    built = json.loads((workdir / "first-manifest.json").read_text())
    assert built["provenance"]["cpu_dispatch"] == "avx2"
    lines = manifest.differences(built, json.loads(EXPECTED.read_text()))
    assert not lines, ("this machine computes differently from the committed manifest "
                       f"({built['provenance']['machine']['cpu']}):\n" + "\n".join(lines))


QEMU = shutil.which("qemu-x86_64")
EMULATED_CPU = "Haswell-v4"  # Intel, AVX2 and FMA, no AVX-512: what the pins hold every CPU to


def probe(tmp_path: Path, name: str, prefix: list[str]) -> dict:
    env = {**os.environ, **pins.environment("avx2"), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    scratch = tmp_path / name
    done = subprocess.run([*prefix, sys.executable, str(ROOT / "tests/cpu_probe.py"), str(scratch)], env=env,
                          cwd=ROOT, capture_output=True, text=True)  # the demo preset names its files from there
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(QEMU is None or platform.machine() != "x86_64",
                    reason="needs Debian's qemu-user on an x86-64 machine (make test installs it)")
def test_an_emulated_intel_cpu_computes_the_same_bits(tmp_path):
    """Pre-training, full and LoRA fine-tuning and generation (tests/cpu_probe.py, the package's own code) give the
    same bits on this CPU and on an emulated Intel Haswell (QEMU's user-mode emulator: another vendor and
    instruction set as far as every library that asks the CPU is concerned, and exact IEEE arithmetic). It caught
    MKL's vector sqrt, which torch calls whatever the pins say: its bits differed between an AMD EPYC and Haswell."""
    here = probe(tmp_path, "native", [])
    emulated = probe(tmp_path, "emulated", [QEMU, "-cpu", EMULATED_CPU])
    assert emulated["info"]["torch_cpu_capability"] == "AVX2"
    assert emulated["hashes"] == here["hashes"], (here["info"]["cpu"], here["hashes"], emulated["hashes"])


# one fully fine-tuned and one LoRA student, from pre-training to evaluation
PER_JOB_RUNS = [f"runs/verbose/{student}/full/raw/seed0" for student in ("small", "tiny")]


def _run_bits(results: Path, run: str) -> dict:
    folder = results / run
    return {"weights": json.loads((folder / "metrics.json").read_text())["weights_sha256"],
            "loss": (folder / "loss.csv").read_bytes(), "outputs": (folder / "eval/arith.jsonl").read_bytes()}


def test_forked_jobs_compute_what_a_job_in_a_process_of_its_own_computes(finished, workdir, tmp_path):
    """The session's run forked its torch jobs from the preload server; here, in a copy of it, each torch job of two
    students' runs (pre-training, training, evaluation) is rerun in a process of its own (as on a cluster), with the
    same bits."""
    cwd, run_dir = own_copy(finished, workdir, tmp_path)
    config = reduced_config(cwd, {"dispatch": "avx2", "preload": False})
    for folder in ["students/small/pretrained", "students/tiny/pretrained", *PER_JOB_RUNS]:
        shutil.rmtree(run_dir / folder)
    proc = snakemake(cwd, "--configfile", config, "--cores", "2",
                     *(f"results/reduced/{run}/eval/arith.json" for run in PER_JOB_RUNS))
    ran = re.findall(r"^(?:local)?rule (\w+):$", proc.stderr, re.M)
    assert sorted(ran) == ["evaluate", "evaluate", "pretrain", "pretrain", "train", "train"], ran  # only torch jobs
    for run in PER_JOB_RUNS:
        assert _run_bits(run_dir, run) == _run_bits(finished, run), run


def test_control_without_the_pins_the_same_two_runs_differ(tmp_path):
    """Without the pins (cpu.dispatch: native) the same pair of runs computes different bits — here the students'
    pre-training, the first torch stage — so the pinned equality above is not trivially true. On a CPU whose own
    dispatch is AVX2 already, the other run uses ATen's scalar kernels instead."""
    import torch

    other = AVX2_ONLY_CPU if torch.backends.cpu.get_cpu_capability() != "AVX2" else {"ATEN_CPU_CAPABILITY": "default"}
    config = reduced_config(tmp_path, {"dispatch": "native"})
    weights = []
    for name, env in (("native", {}), ("native-other", other)):
        dest = copy_workflow(tmp_path / name)
        snakemake(dest, "--configfile", config, "--cores", "2", "results/reduced/students/small/pretrained", env=env)
        weights.append((dest / "results/reduced/students/small/pretrained/model.safetensors").read_bytes())
    assert weights[0] != weights[1]


def test_outside_the_workflow_the_package_computes_unmanaged(monkeypatch):
    monkeypatch.delenv(pins.DISPATCH_VARIABLE, raising=False)
    assert pins.pin_torch(1)["dispatch"] == "unmanaged"
