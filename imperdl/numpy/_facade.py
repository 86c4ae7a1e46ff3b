"""Builds the NumPy face: a module whose every public NumPy name resolves on first access.

Functions become dispatched primitives, ``ndarray`` is ``imperdl.core.Array``, classes (dtypes, finfo,
errstate, ...) and constants are NumPy's own objects, and submodules are faces of the same kind. Resolved names
are cached in the module, so the second ``np.add`` is a plain global lookup.
"""
from __future__ import annotations

import importlib
import sys
import types

import numpy

from ..core.array import Array
from ..core.registry import primitive, public_names

_REAL_SUBMODULES = ("random", "linalg", "fft")


def translate(obj, qualname: str):
    """What the face shows for NumPy's object ``obj`` named ``qualname`` (relative to ``numpy``)."""
    if obj is numpy.ndarray:
        return Array
    if qualname in ("r_", "c_"):  # NumPy's objects convert their items on the host: ours also differentiate
        from . import _concatenators

        return getattr(_concatenators, qualname)
    if isinstance(obj, types.ModuleType):
        if qualname in _REAL_SUBMODULES:
            return importlib.import_module(f"imperdl.numpy.{qualname}")
        return _dynamic_module(obj, qualname)
    if isinstance(obj, type) or not callable(obj):
        return obj
    return primitive(qualname)


def _dynamic_module(space, qualname: str) -> types.ModuleType:
    full = f"imperdl.numpy.{qualname}"
    mod = sys.modules.get(full)
    if mod is None:
        mod = types.ModuleType(full, getattr(space, "__doc__", None))
        install(vars(mod), space, qualname + ".")
        sys.modules[full] = mod
    return mod


def install(namespace: dict, space, prefix: str) -> None:
    """Give a module (its globals ``namespace``) the lazy ``__getattr__``/``__dir__`` over NumPy's ``space``."""
    modname = namespace["__name__"]

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(f"module {modname!r} has no attribute {name!r}")
        try:
            obj = getattr(space, name)
        except AttributeError:
            raise AttributeError(
                f"module {modname!r} has no attribute {name!r} (numpy.{prefix}{name} does not exist)"
            ) from None
        value = translate(obj, prefix + name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(public_names(space)) | {n for n in namespace if not n.startswith("_")})

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
