"""Differential CASES for ``x[key]`` and ``x[key] = value``.

Keys: ints (also out of bounds), slices with negative steps, None, Ellipsis, integer arrays (also negative and
out of bounds), int lists, the CS231n pair ``(arange(N), y)``, advanced indices mixed with slices, boolean masks
(also of the wrong shape). Values: Python scalars of every kind and arrays of several dtypes and shapes.
"""
from __future__ import annotations

import numpy as onp
from hypothesis import strategies as st

from .strategies import ALL, draw_array, draw_scalar, shapes

WIDE = ALL + (onp.dtype("float16"), onp.dtype("uint8"), onp.dtype("complex64"))


def _int(data, n):
    return data.draw(st.integers(-n - 1, n))  # sometimes out of bounds


def _slice(data, n):
    bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
    step = data.draw(st.one_of(st.none(), st.sampled_from([1, 2, -1, -2])))
    return slice(data.draw(bound), data.draw(bound), step)


def _basic_key(data, shape):
    items = []
    dims = list(shape)
    if data.draw(st.integers(0, 4)) == 0:
        items.append(Ellipsis)
        dims = dims[-data.draw(st.integers(0, len(dims))):] if dims else []
    for n in dims[: data.draw(st.integers(0, len(dims)))] if Ellipsis not in items else dims:
        kind = data.draw(st.sampled_from(["int", "slice", "slice", "none"]))
        if kind == "none":
            items.append(None)
        items.append(_int(data, n) if kind == "int" else _slice(data, n) if kind == "slice" else slice(None))
    if len(items) == 1 and data.draw(st.booleans()):
        return items[0]
    return tuple(items)


def _index_array(data, n, shape=None):
    shape = data.draw(shapes(1, 2, 0, 3)) if shape is None else shape
    dt = data.draw(st.sampled_from(["int64", "int32", "int64", "uint8"]))
    lo = 0 if dt == "uint8" else -n
    return draw_array(data, dt, shape=shape, lo=lo, hi=max(n - 1 + data.draw(st.integers(0, 1)), 0))


def _advanced_key(data, shape):
    form = data.draw(st.sampled_from(["one", "pair", "mixed", "list", "mask", "badmask"]))
    if form == "one":
        return _index_array(data, shape[0])
    if form == "list":
        return [data.draw(st.integers(-shape[0], shape[0] - 1)) for _ in range(data.draw(st.integers(1, 3)))] \
            if shape[0] else [0]
    if form == "pair" and len(shape) >= 2:
        n = data.draw(st.integers(0, 3))
        return (_index_array(data, shape[0], (n,)), _index_array(data, shape[1], (n,)))
    if form == "mixed" and len(shape) >= 2:
        return (slice(None), _index_array(data, shape[1]))
    k = data.draw(st.integers(1, len(shape)))
    mshape = tuple(shape[:k])
    if form == "badmask" and mshape:
        mshape = (mshape[0] + 1,) + mshape[1:]
    return draw_array(data, "bool", shape=mshape)


def getitem_case(data):
    x = draw_array(data, WIDE, min_dims=0, max_dims=3)
    if x.ndim and data.draw(st.booleans()):
        return (x, _advanced_key(data, x.shape)), {}
    return (x, _basic_key(data, x.shape)), {}


def cs231n_case(data):
    """``scores[np.arange(N), y]``: the course's favourite gather."""
    n, c = data.draw(st.integers(0, 4)), data.draw(st.integers(1, 4))
    x = draw_array(data, WIDE, shape=(n, c))
    y = draw_array(data, "int64", shape=(n,), lo=0, hi=c - 1)
    return (x, (onp.arange(n), y)), {}


def setitem_case(data):
    x = draw_array(data, WIDE, min_dims=0, max_dims=3)
    key = _advanced_key(data, x.shape) if x.ndim and data.draw(st.booleans()) else _basic_key(data, x.shape)
    try:
        target = x[key].shape
    except Exception:
        target = ()
    form = data.draw(st.sampled_from(["scalar", "scalar", "array", "array_bcast", "numpy_scalar"]))
    if form == "scalar":
        value = draw_scalar(data)
    elif form == "numpy_scalar":
        # (a cast array wraps out-of-range ints on every NumPy; NumPy 2's uint8(-1) raises OverflowError)
        value = onp.asarray(draw_scalar(data, (int,))).astype(data.draw(st.sampled_from(WIDE)))[()]
    else:
        shape = target
        if form == "array_bcast" and shape:
            shape = tuple(1 if data.draw(st.booleans()) else s for s in shape)[data.draw(st.integers(0, len(shape))):]
        if data.draw(st.integers(0, 6)) == 0:
            shape = (3,) + tuple(shape)  # does not broadcast (or does, with a leading 1 dim... rarely)
        value = draw_array(data, WIDE, shape=shape)
    return (x, key, value), {}


def _either(data):
    if data.draw(st.integers(0, 3)) == 0:
        return cs231n_case(data)
    return getitem_case(data)


CASES = {
    "ndarray.__getitem__": _either,
    "ndarray.__setitem__": setitem_case,
}

MAX_EXAMPLES = {"ndarray.__getitem__": 120, "ndarray.__setitem__": 120}
