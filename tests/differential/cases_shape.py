"""Differential CASES for shape and data-movement ops: reshape, transpose, stacking, splitting, pad, sort, take.

Draws include bool and exotic dtypes (declined by most predicates), 0-d and empty arrays, negative axes, split
points that are out of range, negative or decreasing, and pad modes MXNet lacks.
"""
from __future__ import annotations

import numpy as onp
from hypothesis import strategies as st

from .strategies import ALL, EXOTIC, INTS, draw_array, draw_axis, draw_scalar, shapes

WIDE = ALL + (onp.dtype("float16"), onp.dtype("int8"), onp.dtype("uint8"), onp.dtype("complex64"))


def _arr(data, min_dims=0, max_dims=3, **kw):
    return draw_array(data, WIDE, min_dims=min_dims, max_dims=max_dims, **kw)


def reshape_case(data):
    a = _arr(data)
    shape = list(onp.random.RandomState(a.size).permutation(list(a.shape)))
    if shape and data.draw(st.booleans()):
        shape[data.draw(st.integers(0, len(shape) - 1))] = -1
    if data.draw(st.integers(0, 4)) == 0:
        shape = shape + [1]
    if data.draw(st.integers(0, 6)) == 0:
        shape = [a.size + 1]
    kw = {"order": data.draw(st.sampled_from(["C", "F"]))} if data.draw(st.integers(0, 4)) == 0 else {}
    return (a, tuple(int(s) for s in shape)), kw


def transpose_case(data):
    a = _arr(data)
    if data.draw(st.booleans()):
        return (a,), {}
    perm = tuple(int(p) for p in data.draw(st.permutations(range(a.ndim))))
    return (a, perm), {}


def swapaxes_case(data):
    a = _arr(data, 1)
    return (a, data.draw(st.integers(-a.ndim, a.ndim - 1)), data.draw(st.integers(-a.ndim, a.ndim - 1))), {}


def moveaxis_case(data):
    a = _arr(data, 1)
    return (a, data.draw(st.integers(-a.ndim, a.ndim - 1)), data.draw(st.integers(-a.ndim, a.ndim - 1))), {}


def squeeze_case(data):
    a = _arr(data, shape=data.draw(shapes(0, 3, 0, 2)))
    ones = tuple(i for i, s in enumerate(a.shape) if s == 1)
    axis = data.draw(st.sampled_from([None, ones[:1] and ones[0], ones, 0] if ones else [None, 0]))
    return ((a,), {}) if axis is None else ((a, axis), {})


def expand_dims_case(data):
    a = _arr(data)
    return (a, data.draw(st.integers(-a.ndim - 1, a.ndim))), {}


def unary_case(data):
    return (_arr(data),), {}


def flip_case(data):
    a = _arr(data)
    return ((a,), {}) if a.ndim == 0 else ((a,), {"axis": draw_axis(data, a.ndim)})


def roll_case(data):
    a = _arr(data)
    if a.ndim and data.draw(st.booleans()):
        return (a, data.draw(st.integers(-5, 5)), data.draw(st.integers(-a.ndim, a.ndim - 1))), {}
    return (a, data.draw(st.integers(-5, 5))), {}


def tile_case(data):
    reps = data.draw(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 2), st.integers(1, 2))))
    return (_arr(data), reps), {}


def repeat_case(data):
    a = _arr(data)
    axis = data.draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1))) if a.ndim else None
    return (a, data.draw(st.integers(0, 3))), ({} if axis is None else {"axis": axis})


def broadcast_to_case(data):
    a = _arr(data, max_dims=2)
    shape = tuple(s if s != 1 or not data.draw(st.booleans()) else 3 for s in a.shape)
    return (a, (2,) + shape if data.draw(st.booleans()) else shape), {}


def _same_list(data, min_dims=0, n_max=3, vary_axis=None):
    dt = data.draw(st.sampled_from(WIDE))
    shape = data.draw(shapes(min_dims, 3, 0, 3))
    n = data.draw(st.integers(1, n_max))
    out = []
    for _ in range(n):
        s = list(shape)
        if vary_axis is not None and s:
            s[vary_axis % len(s)] = data.draw(st.integers(0, 3))
        d = dt if data.draw(st.integers(0, 5)) else data.draw(st.sampled_from(ALL))
        out.append(draw_array(data, d, shape=tuple(s)))
    return out


def concatenate_case(data):
    axis = data.draw(st.one_of(st.none(), st.integers(-1, 1)))
    arrays = _same_list(data, 2, vary_axis=axis if axis is not None else None)
    return (tuple(arrays) if data.draw(st.booleans()) else arrays,), ({} if axis == 0 else {"axis": axis})


def stack_case(data):
    arrays = _same_list(data)
    return (arrays, data.draw(st.integers(-arrays[0].ndim - 1, arrays[0].ndim))), {}


def tup_case(data):
    return (_same_list(data),), {}


def _split_arg(data, n):
    if data.draw(st.booleans()):
        return data.draw(st.integers(1, 4))
    return data.draw(st.lists(st.integers(-n - 2, n + 2), max_size=3))


def split_case(data):
    a = _arr(data, 1)
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    return (a, _split_arg(data, a.shape[axis]), axis), {}


def hsplit_case(data):
    a = _arr(data, 1)
    return (a, _split_arg(data, a.shape[1 if a.ndim > 1 else 0])), {}


def vsplit_case(data):
    a = _arr(data, 1)
    return (a, _split_arg(data, a.shape[0])), {}


def dsplit_case(data):
    a = _arr(data, 2)
    return (a, _split_arg(data, a.shape[-1])), {}


def pad_case(data):
    a = _arr(data, 0, 3, max_side=3)
    form = data.draw(st.sampled_from(["int", "pair", "per_axis"]))
    if form == "int":
        pw = data.draw(st.integers(0, 3))
    elif form == "pair":
        pw = (data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3)))
    else:
        pw = tuple((data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in range(a.ndim))
    mode = data.draw(st.sampled_from(["constant", "constant", "edge", "reflect", "symmetric", "maximum", "wrap"]))
    kw = {"mode": mode}
    if mode == "constant" and data.draw(st.booleans()):
        kw["constant_values"] = draw_scalar(data, (int, float))
    return (a, pw), kw


def diag_case(data):
    return (_arr(data, 1, 2), data.draw(st.integers(-3, 3))), {}


def diagonal_case(data):
    a = _arr(data, 2)
    ax = data.draw(st.permutations(range(a.ndim)))
    return (a, data.draw(st.integers(-2, 2)), int(ax[0]), int(ax[1])), {}


def tri_lu_case(data):
    return (_arr(data, 1), data.draw(st.integers(-3, 3))), {}


def atleast_case(data):
    n = data.draw(st.integers(1, 3))
    return tuple(_arr(data) for _ in range(n)), {}


def sort_case(data):
    a = draw_array(data, WIDE + INTS, min_dims=1, nan=data.draw(st.booleans()))
    kw = {}
    if data.draw(st.booleans()):
        kw["axis"] = data.draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1)))
    if data.draw(st.booleans()):
        kw["kind"] = data.draw(st.sampled_from(["stable", "mergesort", "quicksort"]))
    return (a,), kw


def argsort_case(data):
    a = draw_array(data, INTS + INTS + WIDE, min_dims=1, lo=-3, hi=3)
    kw = {"kind": data.draw(st.sampled_from(["stable", "mergesort", None, "quicksort"]))}
    if data.draw(st.booleans()):
        kw["axis"] = data.draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1)))
    return (a,), kw


def take_case(data):
    a = _arr(data, 1)
    axis = data.draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1)))
    n = a.size if axis is None else a.shape[axis]
    hi = max(n, 1)
    idx = draw_array(data, INTS + EXOTIC[1:3], shape=data.draw(shapes(0, 2, 0, 3)), lo=-hi, hi=hi)
    return (a, idx), ({} if axis is None else {"axis": axis})


CASES = {
    "reshape": reshape_case,
    "transpose": transpose_case,
    "swapaxes": swapaxes_case,
    "moveaxis": moveaxis_case,
    "squeeze": squeeze_case,
    "expand_dims": expand_dims_case,
    "ravel": unary_case,
    "ndarray.flatten": unary_case,
    "flip": flip_case,
    "fliplr": unary_case,
    "flipud": unary_case,
    "roll": roll_case,
    "tile": tile_case,
    "repeat": repeat_case,
    "broadcast_to": broadcast_to_case,
    "concatenate": concatenate_case,
    "stack": stack_case,
    "vstack": tup_case,
    "hstack": tup_case,
    "dstack": tup_case,
    "column_stack": tup_case,
    "split": split_case,
    "array_split": split_case,
    "hsplit": hsplit_case,
    "vsplit": vsplit_case,
    "dsplit": dsplit_case,
    "pad": pad_case,
    "diag": diag_case,
    "diagonal": diagonal_case,
    "tril": tri_lu_case,
    "triu": tri_lu_case,
    "atleast_1d": atleast_case,
    "atleast_2d": atleast_case,
    "atleast_3d": atleast_case,
    "sort": sort_case,
    "argsort": argsort_case,
    "take": take_case,
}
