"""Differential CASES for elementwise math, arithmetic, comparisons, logic, ``where`` and ``clip``.

Draws cover dtypes MXNet takes and dtypes it declines (float16, int8, uint8, int16, complex), NaN/inf values,
0-d and empty arrays, broadcasting, mixed dtypes and Python scalars on either side.
"""
from __future__ import annotations

import numpy as onp
from hypothesis import strategies as st

from imperdl.core.mxnet_impls import elementwise as E

from .strategies import ALL, EXOTIC, draw_array, draw_dtype, draw_pair, draw_scalar, rarely

WIDE = ALL + (onp.dtype("float16"),) + EXOTIC


def _dtypes(data):
    """Mostly the dtypes MXNet takes; now and then the whole range, to exercise the declines."""
    return WIDE if rarely(data, 3) else ALL


def _special(data) -> dict:
    """Sometimes allow NaN and inf in float draws (NaN handling is where kernels differ)."""
    flag = rarely(data, 4)
    return {"nan": flag, "inf": flag}


def unary_case(data):
    return (draw_array(data, _dtypes(data), **_special(data)),), {}


def binary_case(data):
    """Two same-dtype arrays (often broadcast), mixed dtypes, or an array and a Python scalar."""
    mode = data.draw(st.sampled_from(["same", "same", "same", "mixed", "scalar", "scalar"]))
    if mode == "scalar":
        a = draw_array(data, _dtypes(data), **_special(data))
        s = draw_scalar(data)
        return ((a, s) if data.draw(st.booleans()) else (s, a)), {}
    a, b = draw_pair(data, _dtypes(data), same_dtype=mode == "same", broadcast=True, **_special(data))
    return (a, b), {}


def around_case(data):
    a = draw_array(data, _dtypes(data), **_special(data))
    decimals = data.draw(st.integers(-2, 3))
    how = data.draw(st.sampled_from(["none", "positional", "keyword"]))
    if how == "none":
        return (a,), {}
    return ((a, decimals), {}) if how == "positional" else ((a,), {"decimals": decimals})


def where_case(data):
    mode = data.draw(st.sampled_from(["bool", "bool", "bool", "numeric_cond", "mixed", "one_arg"]))
    cond_dtype = onp.dtype(bool) if mode != "numeric_cond" else draw_dtype(data, ALL)
    x, y = draw_pair(data, _dtypes(data), same_dtype=mode != "mixed", broadcast=True, **_special(data))
    cond = draw_array(data, cond_dtype, shape=x.shape if data.draw(st.booleans()) else y.shape)
    if mode == "one_arg":
        return (cond,), {}
    return (cond, x, y), {}


def clip_case(data):
    a = draw_array(data, _dtypes(data), min_dims=0 if rarely(data, 4) else 1, **_special(data))
    kinds = data.draw(st.sampled_from([(int,), (float,), (bool, int, float)]))
    lo = None if rarely(data, 5) else draw_scalar(data, kinds)
    hi = None if lo is not None and rarely(data, 5) else draw_scalar(data, kinds)
    if rarely(data, 6):
        hi = draw_array(data, a.dtype, shape=a.shape)  # array bounds: declined
    return (a, lo, hi), {}


CASES = {}
for _name in (E.FLOAT_UNARY + E.FLOAT_ONLY_UNARY + E.NUMERIC_UNARY + E.PREDICATES_UNARY
              + ["degrees", "radians", "rad2deg", "deg2rad", "invert", "sign"]):
    CASES[_name] = unary_case
for _name in list(E.ARITHMETIC) + E.COMPARISONS + ["remainder", "mod"] + list(E.BITWISE) + list(E.LOGICAL):
    CASES[_name] = binary_case
for _name in ("around", "round", "round_"):
    CASES[_name] = around_case
CASES["where"] = where_case
CASES["clip"] = clip_case

