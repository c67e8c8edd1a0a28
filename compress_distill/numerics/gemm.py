"""torch's CPU matrix products on one fixed BLAS code path, fast and the same bits on any AVX2 CPU.

MKL gives the same bits on Intel and AMD CPUs only on its ``COMPATIBLE`` branch, which runs SSE code: measured 10-15
GFLOPS on one thread of an AVX-512 Xeon (30-37 on its AVX2 branch, which MKL keeps reproducible only across Intel
CPUs), and a demo pre-training step spent ~80% of its time there (mm, and flash attention's own GEMM). OpenBLAS —
numpy's BLAS — picks kernels and blocking by core type and nothing else; held to its ``Haswell`` core type (AVX2 +
FMA, ``OPENBLAS_CORETYPE``) and a fixed thread count, its sgemm runs the same instructions in the same order on any
AVX2 CPU, at 30-60 GFLOPS there. Its result does depend on the thread count (measured), so that is set from the
job's threads like torch's.

:func:`pin` re-registers ATen's CPU ``mm``, ``addmm`` and ``bmm`` kernels to call it. Autograd's backward formulas,
``nn.Linear``, LoRA layers and the math path of scaled-dot-product attention all reach these three. CPU
flash-attention calls MKL from inside its kernel, so on a machine without CUDA attention takes the math path.
"""

from __future__ import annotations

import ctypes
import warnings

CORE = "Haswell"
FLOATS = ("float32", "float64")
_registered: list = []  # the torch.library handle: a registration lives as long as its Library object


def _array(t):
    """A numpy view of ``t`` that BLAS takes as it is (row- or column-major in the last two dims), else a copy."""
    t = t.detach()
    if str(t.dtype).removeprefix("torch.") not in FLOATS:
        raise TypeError(f"gemm: the pinned CPU matrix product takes {FLOATS}, not {t.dtype}")
    if not (t.is_contiguous() or t.transpose(-1, -2).is_contiguous()):
        t = t.contiguous()
    return t.numpy()


def _product(a, b):
    import numpy as np
    import torch

    return torch.from_numpy(np.matmul(_array(a), _array(b)))


def _addmm(bias, mat1, mat2, *, beta=1, alpha=1):
    out = _product(mat1, mat2)
    if alpha != 1:
        out.mul_(alpha)
    if beta != 0:  # beta 0 ignores ``bias``, NaNs included, as BLAS does
        out.add_(bias, alpha=beta)
    return out


def openblas():
    """numpy's OpenBLAS library, found among the libraries this process has loaded."""
    import numpy  # noqa: F401  (loads OpenBLAS)

    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()}
    except OSError:  # not Linux
        paths = set()
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for prefix, suffix in (("scipy_openblas", "64_"), ("openblas", "64_"), ("openblas", "")):
            if hasattr(lib, f"{prefix}_get_corename{suffix}"):
                return lib, prefix, suffix
    raise RuntimeError("gemm: pinned CPU numerics need numpy built on OpenBLAS (numpy's wheels are); this numpy "
                       f"loaded no OpenBLAS library (found: {sorted(paths) or 'none'})")


def pin(threads: int) -> dict:
    """Route torch's CPU ``mm``/``addmm``/``bmm`` through OpenBLAS's ``Haswell`` kernels on ``threads`` threads;
    return the core and threads in effect. Needs ``OPENBLAS_CORETYPE=Haswell`` set before numpy loads."""
    import torch

    lib, prefix, suffix = openblas()
    getattr(lib, f"{prefix}_set_num_threads{suffix}")(threads)
    corename = getattr(lib, f"{prefix}_get_corename{suffix}")
    corename.restype = ctypes.c_char_p
    core = corename().decode()
    if core != CORE:
        raise RuntimeError(f"gemm: OpenBLAS runs its {core!r} kernels, not {CORE!r}; OPENBLAS_CORETYPE={CORE} must "
                           "be set before Python starts (rules/common.smk sets it for every job)")
    if not _registered:
        aten = torch.library.Library("aten", "IMPL")
        with warnings.catch_warnings():  # "overriding a previously registered kernel": that is the point
            warnings.simplefilter("ignore", UserWarning)
            for name, kernel in (("mm", _product), ("bmm", _product), ("addmm", _addmm)):
                aten.impl(name, kernel, "CPU")
        _registered.append(aten)
    if not torch.cuda.is_available():
        torch.backends.cuda.enable_flash_sdp(False)  # the flag also governs the CPU flash kernel
    return {"blas": f"OpenBLAS {core}", "blas_threads": threads}
