"""CPU numerics that do not depend on the machine: torch's matrix products on one fixed BLAS path (``gemm``), its
elementwise math on numpy's kernels (``vecmath``), both registered with the thread count by ``pins``."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "pins": ("pin_torch", "environment", "machine", "DISPATCH_PINS", "DISPATCH_VARIABLE"),
})
