"""Helpers shared by the rule tables. Written with imperdl.numpy, so they are recorded under higher order."""
from __future__ import annotations

import numpy as onp

from ...numpy import _facade  # noqa: F401  (the face must exist before rules call it)


def _np():
    import imperdl.numpy as np

    return np


def shape_of(x) -> tuple:
    """Shape of an Array, a NumPy array or a Python scalar (``()``)."""
    return tuple(getattr(x, "shape", ()))


def dtype_of(x):
    d = getattr(x, "dtype", None)
    return onp.dtype(d) if d is not None else onp.result_type(x)


def unbroadcast(g, target):
    """Sum ``g`` over the axes broadcasting added or stretched, so it has ``target``'s shape."""
    np = _np()
    shape = shape_of(target)
    gshape = shape_of(g)
    if gshape == shape:
        return g
    extra = len(gshape) - len(shape)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and shape_of(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return g


def reduced_like(g, x, axis, keepdims):
    """Broadcast a reduction's gradient ``g`` back to ``x``'s shape."""
    np = _np()
    shape = shape_of(x)
    if not keepdims and axis is not None:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        g = np.expand_dims(g, axes) if axes else g
    return np.broadcast_to(g, shape)
