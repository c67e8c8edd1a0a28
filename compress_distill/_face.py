"""A wing's face: its public names, each imported from its module on first use (PEP 562).

A face imports nothing itself, so ``from compress_distill.infra import io`` stays as light as the module it names
and a job's code identity (:mod:`compress_distill.infra.identity`) holds the modules its code imports, not the whole
wing. Package code and rule scripts import modules; the faces are for readers, notebooks and tests.
"""

from __future__ import annotations

import importlib


def face(package: str, exports: dict[str, tuple[str, ...]]):
    """``(__all__, __getattr__, __dir__)`` of ``package`` re-exporting ``exports``: module -> its public names."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return sorted(where), __getattr__, __dir__
