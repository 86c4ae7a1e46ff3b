"""Gradient rules: ``x[key]`` and the functional set-item the tape records for ``x[key] = v``.

A read is a gather, so its gradient is a scatter-add (``gather_grad``: repeated integer indices accumulate, as
they must). A write ``x[key] = v`` is recorded as ``new = setitem(old, key, v)``: the old value's gradient is
``g`` with the overwritten places zeroed, and ``v`` gets ``g[key]`` summed back over the axes it was broadcast on.
"""
from __future__ import annotations

import numpy as onp

from ..recording import capturing
from . import defvjp, defvjp_argnums
from .util import dtype_of, gather_grad, host, index_map, shape_of, traced_source, unbroadcast


def _np():
    import imperdl.numpy as np

    return np


def _basic_plan(shape, key):
    """For a key of ints, unit-step slices, None and Ellipsis: (result shape with the int axes kept as 1s,
    pad widths, axes to flip); None when the key needs the general scatter."""
    items = key if type(key) is tuple else (key,)
    if any(not (type(k) in (int, slice) or k is None or k is Ellipsis or isinstance(k, onp.integer)) for k in items):
        return None
    if sum(k is Ellipsis for k in items) > 1:
        return None
    n_axes = sum(k is not None and k is not Ellipsis for k in items)
    if n_axes > len(shape):
        return None
    if Ellipsis in [k for k in items if k is Ellipsis]:
        i = next(i for i, k in enumerate(items) if k is Ellipsis)
        items = items[:i] + (slice(None),) * (len(shape) - n_axes) + items[i + 1:]
    else:
        items = items + (slice(None),) * (len(shape) - n_axes)
    kept, widths, flips, ax = [], [], [], 0
    for k in items:
        if k is None:
            continue
        n = shape[ax]
        if type(k) is slice:
            start, stop, step = k.indices(n)
            if step == 1:
                m = max(stop - start, 0)
                widths.append((start, n - start - m) if m else (0, n))
            elif step == -1:
                m = max(start - stop, 0)
                widths.append((stop + 1, n - stop - 1 - m) if m else (0, n))
                flips.append(ax)
            else:
                return None
            kept.append(m)
        else:
            i = int(k)
            if not -n <= i < n:
                return None
            i %= n
            widths.append((i, n - i - 1))
            kept.append(1)
        ax += 1
    return tuple(kept), widths, tuple(flips)


def _getitem(g, ans, a, key):
    """Basic keys: reshape and zero-pad ``g`` back (dense, stays on its device); others: scatter-add."""
    plan = _basic_plan(shape_of(a), key)
    if plan is None or 0 in plan[0]:
        src = traced_source(a, key)
        return gather_grad(g, a, index_map(a)[host(key)] if src is None else src)
    return place_basic(g, plan, _np())


def place_basic(g, plan, ns):
    """``g``, the gradient of a basic index's result, laid back into the indexed array's shape by ``_basic_plan``'s
    plan with ``ns``'s reshape/flip/pad: imperdl.numpy (recorded) here, NumPy itself in the host twin (rules/raw)."""
    kept, widths, flips = plan
    if shape_of(g) != kept:
        g = ns.reshape(g, kept)
    if flips:
        g = ns.flip(g, flips)
    if any(w != (0, 0) for w in widths):
        g = ns.pad(g, widths)
    return g


defvjp("ndarray.__getitem__", _getitem, reads=(1,))  # the key; of the array, its shape


def _setitem(pos, g, ans, args, kwargs):
    old, key, value = args
    if pos == 0:
        dt = dtype_of(g) if onp.issubdtype(dtype_of(g), onp.inexact) else float
        if capturing():  # (a jit trace: the key's values may change from call to call, write it by dispatch)
            keep = _np().ones(shape_of(old), dtype=dt)
            keep[key] = 0
        else:
            keep = onp.ones(shape_of(old), dtype=dt)
            keep[host(key)] = 0
        return g * keep
    if pos == 2:
        gv = g[key]
        vshape, gshape = shape_of(value), shape_of(gv)
        if len(vshape) > len(gshape):  # NumPy lets v carry extra leading ones
            gv = _np().reshape(gv, (1,) * (len(vshape) - len(gshape)) + gshape)
        gv = unbroadcast(gv, value)
        vd = dtype_of(value)
        if onp.issubdtype(vd, onp.inexact) and vd != dtype_of(gv):
            if onp.issubdtype(dtype_of(gv), onp.complexfloating) and not onp.issubdtype(vd, onp.complexfloating):
                gv = _np().real(gv)
            gv = gv.astype(vd)
        return gv
    raise NotImplementedError(f"ndarray.__setitem__: no gradient with respect to argument {pos!r}")


_setitem.positions = (0, 2)
defvjp_argnums("ndarray.__setitem__", _setitem, reads=(1,))  # the key; of the old value and the new, shapes
