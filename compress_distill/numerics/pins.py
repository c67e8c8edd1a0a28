"""CPU numerics that do not depend on the machine.

torch picks CPU kernels by instruction set: ATen's own kernels by its CPU capability, MKL's GEMM by its code branch,
oneDNN by its ISA. Each changes floating-point summation order, and small models trained for thousands of steps turn
those last-bit differences into accuracy differences of tens of points. With ``cpu.dispatch: avx2`` (the default)
every job runs with all three held to a level that every x86-64 CPU since 2013-2015 has and that gives the same bits
on Intel and AMD: ATen at AVX2, MKL on its ``COMPATIBLE`` branch (MKL documents its AVX2 branch as reproducible only
across Intel CPUs; on others it silently falls back to automatic dispatch), oneDNN at most AVX2 — and the matrix
products, where training spends most of its time, moved off MKL's slow ``COMPATIBLE`` code onto OpenBLAS's AVX2
kernels (:mod:`.gemm`). Thread counts are fixed by the rule. The workflow sets these variables for every job
(``rules/common.smk``); a torch job checks they are in effect before computing, so a number is never produced under
another dispatch by accident.

One path no switch reaches: torch's elementwise ``sqrt``, ``exp``, ``cos``, ``sin``, ... call MKL's vector math, whose
bits differ between CPUs whatever ``MKL_CBWR`` says (measured: an AMD EPYC vs an emulated Intel Haswell). Under the
pins the common ones compute on numpy's kernels (:mod:`.vecmath`); ``pow(x, 0.5)``, which reaches MKL's ``sqrt``
inside ATen, and the rarer ones (``atan``, ``log10``, ...) are not used by the jobs' code (CPU optimisers are the
fused AdamW, whose kernel has its own exact ``sqrt``). ``tests/test_numerics.py`` runs pre-training, fine-tuning and
generation on an emulated Intel CPU to prove the bits equal.

What stays machine-dependent: GPU kernels, and CPUs that are not x86-64 (the pins do not apply there).
"""

from __future__ import annotations

import os
import platform

from compress_distill.numerics import gemm, vecmath

DISPATCH_PINS: dict[str, dict[str, str]] = {
    # MKL's reproducibility conditions also ask that it never change its thread count at run time. numpy's own
    # kernels dispatch by CPU too (its AVX-512 float64 exp and log, float32 power gave other bits than its AVX2 ones,
    # measured): held to its AVX2 level (X86_V3) in every job, tables and figures included
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2",
             "MKL_DYNAMIC": "FALSE", "OMP_DYNAMIC": "FALSE", "OPENBLAS_CORETYPE": gemm.CORE,
             "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
    "native": {},  # whatever the machine and the environment pick: results may differ from machine to machine
}
DISPATCH_VARIABLE = "COMPRESS_DISTILL_CPU_DISPATCH"  # tells a job which setting its environment was made for
X86_64 = ("x86_64", "AMD64")


def environment(dispatch: str) -> dict[str, str]:
    """The variables every job of a run gets (set before any job imports torch). peft stores LoRA target modules
    from a set, so a fixed hash seed keeps their order in ``adapter_config.json``."""
    return {**DISPATCH_PINS[dispatch], DISPATCH_VARIABLE: dispatch, "PYTHONHASHSEED": "0"}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pin_torch(threads: int) -> dict:
    """Fix torch's threads and, in a workflow job, check the dispatch pins are in effect; return what this process
    computes with. Outside the workflow (the package used as a library, its tests) nothing is enforced."""
    dispatch = os.environ.get(DISPATCH_VARIABLE)
    if dispatch is None:
        dispatch = "unmanaged"
    elif dispatch not in DISPATCH_PINS:
        raise RuntimeError(f"numerics: {DISPATCH_VARIABLE} is {dispatch!r}, not one of {sorted(DISPATCH_PINS)}")
    missing = {k: v for k, v in DISPATCH_PINS.get(dispatch, {}).items() if os.environ.get(k) != v}
    if missing:
        wanted = " ".join(f"{k}={v}" for k, v in missing.items())
        raise RuntimeError(f"numerics: cpu.dispatch is '{dispatch}' but this process lacks {wanted}; they must be "
                           "set before Python starts (rules/common.smk sets them for every job)")
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    if dispatch == "avx2" and platform.machine() in X86_64 and capability != "AVX2":
        raise RuntimeError(f"numerics: cpu.dispatch is 'avx2' but torch dispatches {capability} on this CPU "
                           f"({cpu_model()}); the pinned numerics need an x86-64 CPU with AVX2")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    pinned = {}
    if dispatch == "avx2" and platform.machine() in X86_64:
        pinned = {**gemm.pin(threads), "vector_math": f"numpy ({', '.join(vecmath.pin())})"}
    return {"dispatch": dispatch, "torch_cpu_capability": capability, "threads": threads, **pinned, **machine()}


def machine() -> dict:
    return {"cpu": cpu_model(), "arch": platform.machine()}
