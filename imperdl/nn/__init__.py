"""imperdl.nn: CS231n's and MinPy's vocabulary (layers, init, optim, ModelBase, Solver, io, gradient_check,
datasets), written as forward code only: the tape supplies every backward pass.

Submodules load on first use, so ``import imperdl.nn`` stays cheap and a missing optional package (matplotlib,
scikit-learn) only matters to the module that needs it.
"""
from __future__ import annotations

import importlib

_SUBMODULES = ("layers", "init", "optim", "io", "model", "solver", "checkpoint", "gradient_check", "datasets")
_NAMES = {"ModelBase": "model", "Solver": "solver", "NDArrayIter": "io", "DataBatch": "io"}

__all__ = [*_SUBMODULES, *_NAMES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
