"""Differential CASES for creation functions, ``astype`` and ``copy``.

Draws cover NumPy's default dtypes (float64, int64 from int ``arange``), explicit dtypes MXNet stores and ones
it does not (float16, int8, uint8, int16, complex), Python fill values of every kind, 0-d and empty shapes.
"""
from __future__ import annotations

import numpy as onp
from hypothesis import strategies as st

from .strategies import ALL, EXOTIC, draw_array, draw_scalar, shapes

DTYPE_ARGS = [None, "float32", "float64", "int32", "int64", "bool", onp.float32, int, float, bool] + list(EXOTIC)


def _dtype_kw(data, none_means_absent=True):
    d = data.draw(st.sampled_from(DTYPE_ARGS))
    return {} if d is None and none_means_absent else {"dtype": d}


def _shape(data):
    s = data.draw(shapes(0, 3, 0, 4))
    return s[0] if len(s) == 1 and data.draw(st.booleans()) else s


def maker_case(data):
    kw = _dtype_kw(data)
    if data.draw(st.integers(0, 5)) == 0:
        kw["order"] = data.draw(st.sampled_from(["C", "F"]))
    return (_shape(data),), kw


def full_case(data):
    return (_shape(data), draw_scalar(data)), _dtype_kw(data)


def like_case(data):
    a = draw_array(data, ALL + EXOTIC)
    kw = _dtype_kw(data)
    if data.draw(st.integers(0, 5)) == 0:
        kw["shape"] = (2, 2)
    return (a,), kw


def full_like_case(data):
    a = draw_array(data, ALL + EXOTIC)
    return (a, draw_scalar(data)), _dtype_kw(data)


def arange_case(data):
    kind = data.draw(st.sampled_from([int, int, int, float]))
    n = data.draw(st.integers(1, 3))
    vals = [data.draw(st.integers(-10, 10)) if kind is int else data.draw(st.floats(-10, 10)) for _ in range(n)]
    if n == 3 and vals[2] == 0:
        vals[2] = 1 if kind is int else 0.5
    kw = {}
    if data.draw(st.booleans()):
        kw["dtype"] = data.draw(st.sampled_from(["int32", "int64", "float32", "float64", "float16", "int8"]))
    return tuple(vals), kw


def linspace_case(data):
    start = draw_scalar(data, (int, float))
    stop = draw_scalar(data, (int, float))
    num = data.draw(st.integers(0, 12))
    kw = {}
    if data.draw(st.booleans()):
        kw["endpoint"] = data.draw(st.booleans())
    if data.draw(st.booleans()):
        kw["dtype"] = data.draw(st.sampled_from(["float32", "float64", "int64", None]))
    if data.draw(st.integers(0, 5)) == 0:
        kw["retstep"] = True
    return (start, stop, num), kw


def eye_case(data):
    n = data.draw(st.integers(0, 4))
    args = [n]
    if data.draw(st.booleans()):
        args += [data.draw(st.one_of(st.none(), st.integers(0, 4))), data.draw(st.integers(-3, 3))]
    return tuple(args), _dtype_kw(data)


def identity_case(data):
    return (data.draw(st.integers(0, 4)),), _dtype_kw(data)


def meshgrid_case(data):
    n = data.draw(st.integers(1, 3))
    dt = data.draw(st.sampled_from(ALL))
    xs = tuple(draw_array(data, dt, min_dims=1, max_dims=1) for _ in range(n))
    kw = {}
    if data.draw(st.booleans()):
        kw["indexing"] = data.draw(st.sampled_from(["xy", "ij"]))
    if data.draw(st.integers(0, 4)) == 0:
        kw["sparse"] = True
    return xs, kw


def astype_case(data):
    a = draw_array(data, ALL + EXOTIC)
    d = data.draw(st.sampled_from(["float32", "float64", "int32", "int64", "bool", "float16", "uint8", "int16"]))
    kw = {}
    if data.draw(st.integers(0, 4)) == 0:
        kw["copy"] = False
    return (a, d), kw


def copy_case(data):
    return (draw_array(data, ALL + EXOTIC),), {}


CASES = {
    "zeros": maker_case,
    "ones": maker_case,
    "empty": maker_case,
    "empty_like": like_case,
    "full": full_case,
    "zeros_like": like_case,
    "ones_like": like_case,
    "full_like": full_like_case,
    "arange": arange_case,
    "linspace": linspace_case,
    "eye": eye_case,
    "identity": identity_case,
    "tri": eye_case,
    "meshgrid": meshgrid_case,
    "ndarray.astype": astype_case,
    "ndarray.copy": copy_case,
    "copy": copy_case,
}

# empty/empty_like contents are unspecified: compare dtype and shape only
RANDOM = {"empty", "empty_like"}
SUPPORT = {"empty": lambda values, args, kwargs: True, "empty_like": lambda values, args, kwargs: True}
