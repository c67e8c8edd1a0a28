"""torch's CPU elementwise math on numpy's kernels instead of MKL's vector math.

For ``sqrt``, ``exp``, ``log``, ``sin``, ``cos``, ``tanh`` and others, torch calls MKL's vector math library (VML) on
CPU, and no environment variable pins its code path: on an AMD EPYC its float32 square roots were not even correctly
rounded, and differed from an emulated Intel Haswell's (measured), so its other functions may differ from CPU to CPU
too. Transformers computes rotary position embeddings with ``cos`` and ``sin`` in every forward pass.
:func:`pin` re-registers ATen's CPU kernels of these functions to compute with numpy, whose kernels are its own code
and are held to one instruction level (AVX2, ``NPY_DISABLE_CPU_FEATURES`` in :mod:`.numerics`), so they give the same
bits on any x86-64 CPU with AVX2; numpy's ``sqrt`` is the exact instruction.
"""

from __future__ import annotations

import warnings

FUNCTIONS = ("sqrt", "exp", "log", "sin", "cos", "tan", "tanh")  # the same names in torch and numpy
_registered: list = []  # the torch.library handle: a registration lives as long as its Library object


def _compute(name: str, x):
    """numpy's ``name`` of ``x`` as a new tensor of torch's result dtype (integers promote to the default float dtype;
    half-precision types compute in float32)."""
    import numpy as np
    import torch

    dtype = x.dtype if x.is_floating_point() or x.is_complex() else torch.get_default_dtype()
    work = x.detach().to(torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype).contiguous()
    with np.errstate(all="ignore"):  # NaN and inf follow IEEE, as torch's kernels do, without warnings
        out = torch.from_numpy(np.asarray(getattr(np, name)(work.numpy())))
    return out.to(dtype)


def _kernels(name: str):
    def functional(x):
        return _compute(name, x)

    def inplace(x):
        result = _compute(name, x)
        if result.dtype != x.dtype:  # as torch's own kernel refuses, rather than truncating into an integer tensor
            raise RuntimeError(f"result type {result.dtype} can't be cast to the desired output type {x.dtype}")
        return x.copy_(result)

    def out(x, *, out):
        result = _compute(name, x)
        out.resize_(result.shape)
        return out.copy_(result)

    return functional, inplace, out


def pin() -> list[str]:
    """Route torch's CPU kernels of :data:`FUNCTIONS` through numpy; return their names."""
    import torch

    if not _registered:
        aten = torch.library.Library("aten", "IMPL")
        with warnings.catch_warnings():  # "overriding a previously registered kernel": that is the point
            warnings.simplefilter("ignore", UserWarning)
            for name in FUNCTIONS:
                functional, inplace, out = _kernels(name)
                aten.impl(name, functional, "CPU")
                aten.impl(f"{name}_", inplace, "CPU")
                aten.impl(f"{name}.out", out, "CPU")
        _registered.append(aten)
    return list(FUNCTIONS)
