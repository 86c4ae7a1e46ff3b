"""Helpers shared by the rule tables. Written with imperdl.numpy, so they are recorded under higher order."""
from __future__ import annotations

import numpy as onp

from ...numpy import _facade  # noqa: F401  (the face must exist before rules call it)


def _np():
    import imperdl.numpy as np

    return np


def shape_of(x) -> tuple:
    """Shape of an Array, a NumPy array, a (nested) list or tuple of numbers, or a Python scalar (``()``)."""
    if type(x) in (list, tuple):
        return onp.shape(x)
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
    if not keepdims and axis is not None and shape:  # (a 0-d input reduces over no axis, whatever ``axis`` is)
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        g = np.expand_dims(g, axes) if axes else g
    return np.broadcast_to(g, shape)


# ------------------------------------------------------------------ gathers (appended by rules-b)
def host(x):
    """A NumPy value for an index-like argument (keys, indices, masks) or a piecewise-constant factor (signs, argsorts):
    a constant even when ``x`` is traced (see ``host_view``)."""
    from ..array import Array, host_view

    t = type(x)
    if t is Array:
        return host_view(x)
    if t is tuple:
        return tuple(host(e) for e in x)
    if t is list and any(type(e) in (Array, list, tuple) for e in x):
        return onp.asarray([host(e) for e in x])
    return x


def traced_source(x, key):
    """``index_map(x)[key]`` computed by dispatch, for a jit trace whose key holds arrays (their values change from
    call to call: a host read would replay stale positions), else None. Gathers give no fill positions."""
    from ..array import Array
    from ..recording import capturing

    if not capturing() or not any(type(k) is Array for k in (key if type(key) is tuple else (key,))):
        return None
    return _np().asarray(index_map(x))[key]


def index_map(x) -> onp.ndarray:
    """``arange(x.size)`` shaped like ``x``: run a gather on it to learn which element went where."""
    shape = shape_of(x)
    return onp.arange(int(onp.prod(shape, dtype=onp.int64)), dtype=onp.int64).reshape(shape)


def gather_grad(g, x, source):
    """Gradient of an op whose result only picks elements of ``x``: ``source`` (result-shaped, from running the
    op on ``index_map(x)``) holds the flat position each result element came from, or -1 (a fill value).

    The gradient is a scatter-add, written with ``bincount`` (whose vjp is a ``take``, whose vjp is this again)
    so that repeated picks accumulate and every order of derivative stays on the tape.
    """
    np = _np()
    shape = shape_of(x)
    size = int(onp.prod(shape, dtype=onp.int64))
    if not isinstance(source, onp.ndarray):  # an Array of positions, computed by dispatch (``traced_source``)
        idx, fill = np.ravel(source), False
    else:
        idx = onp.asarray(source, dtype=onp.int64).ravel()
        fill = bool((idx < 0).any())
    if fill:
        idx = onp.where(idx < 0, size, idx)
    n = size + 1 if fill else size
    gd = dtype_of(g)
    gr = np.ravel(g)
    if onp.issubdtype(gd, onp.complexfloating):
        out = np.bincount(idx, weights=np.real(gr), minlength=n) + 1j * np.bincount(idx, weights=np.imag(gr),
                                                                                  minlength=n)
    else:
        out = np.bincount(idx, weights=gr, minlength=n)
    if fill:
        out = out[:size]
    if dtype_of(out) != gd and onp.issubdtype(gd, onp.inexact):
        out = out.astype(gd)
    return np.reshape(out, shape)


def match_real(r, x):
    """Autograd's convention: a real input gets the real part of a complex gradient, in its own dtype."""
    np = _np()
    xd = dtype_of(x)
    if onp.issubdtype(dtype_of(r), onp.complexfloating) and not onp.issubdtype(xd, onp.complexfloating):
        r = np.real(r)
    if onp.issubdtype(xd, onp.inexact) and dtype_of(r) != xd:
        r = r.astype(xd)
    return r
