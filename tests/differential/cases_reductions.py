"""Differential CASES for reductions: axis None/int/tuple (also invalid and repeated axes), keepdims, dtype=,
ddof, empty and 0-d inputs, NaN values, integer and bool inputs (NumPy widens them), unsupported keywords.
"""
from __future__ import annotations

import numpy as onp
from hypothesis import strategies as st

from .strategies import ALL, EXOTIC, draw_array, draw_axis, draw_dtype, rarely

WIDE = ALL + (onp.dtype("float16"),) + EXOTIC


def _array(data):
    nan = rarely(data, 4)
    return draw_array(data, WIDE if rarely(data, 3) else ALL, nan=nan, inf=nan)


def _axis(data, a, tuples=True):
    if rarely(data, 10):
        return data.draw(st.sampled_from([a.ndim, (0, 0), -a.ndim - 1]))  # invalid: NumPy raises
    return draw_axis(data, a.ndim, tuples=tuples)


def _keepdims(data, kwargs):
    if data.draw(st.booleans()):
        kwargs["keepdims"] = data.draw(st.booleans())


def _dtype_kw(data, a, kwargs, natural):
    pick = data.draw(st.integers(0, 4))
    if pick == 3:
        kwargs["dtype"] = natural
    elif pick == 4:
        kwargs["dtype"] = draw_dtype(data, ALL)


def _rare_kw(data, kwargs, **options):
    if rarely(data, 8):
        name = data.draw(st.sampled_from(sorted(options)))
        kwargs[name] = options[name]


def sum_case(data, floating=False):
    a = _array(data)
    kwargs = {"axis": _axis(data, a)} if data.draw(st.booleans()) else {}
    _keepdims(data, kwargs)
    if a.dtype.kind in "fc":
        natural = a.dtype
    else:
        natural = onp.dtype("float64") if floating else onp.dtype("int64")
    _dtype_kw(data, a, kwargs, natural)
    extra = {"where": onp.ones(a.shape, bool)} if floating else {"initial": 1, "where": True}
    _rare_kw(data, kwargs, **extra)
    return (a,), kwargs


def mean_case(data):
    return sum_case(data, floating=True)


def moment_case(data):
    args, kwargs = sum_case(data, floating=True)
    if data.draw(st.booleans()):
        kwargs["ddof"] = data.draw(st.integers(0, 2))
    return args, kwargs


def ordering_case(data):
    a = _array(data)
    kwargs = {"axis": _axis(data, a)} if data.draw(st.booleans()) else {}
    _keepdims(data, kwargs)
    _rare_kw(data, kwargs, initial=0, where=True)
    if rarely(data, 4) and "axis" in kwargs:
        return (a, kwargs.pop("axis")), kwargs  # positional axis, as a.max(0)
    return (a,), kwargs


def arg_case(data):
    a = _array(data)
    kwargs = {"axis": _axis(data, a, tuples=False)} if data.draw(st.booleans()) else {}
    if rarely(data, 6):
        kwargs["keepdims"] = data.draw(st.booleans())
    return (a,), kwargs


def cumsum_case(data):
    a = _array(data)
    kwargs = {"axis": _axis(data, a, tuples=False)} if data.draw(st.booleans()) else {}
    natural = a.dtype if a.dtype.kind in "fc" else onp.dtype("int64")
    _dtype_kw(data, a, kwargs, natural)
    return (a,), kwargs


def average_case(data):
    a = _array(data)
    kwargs = {"axis": _axis(data, a)} if data.draw(st.booleans()) else {}
    if rarely(data, 6):
        kwargs["weights"] = onp.ones(a.shape, a.dtype)
    if rarely(data, 6):
        kwargs["returned"] = True
    return (a,), kwargs


CASES = {
    "sum": sum_case, "prod": sum_case, "mean": mean_case, "std": moment_case, "var": moment_case,
    "max": ordering_case, "amax": ordering_case, "min": ordering_case, "amin": ordering_case,
    "all": ordering_case, "any": ordering_case, "argmax": arg_case, "argmin": arg_case,
    "cumsum": cumsum_case, "average": average_case,
}

_F32_SUMS = {"float32": {"rtol": 1e-5, "atol": 1e-4}}
TOLERANCE = {
    # MXNet accumulates float32 in another order than NumPy's pairwise sum: cancellation needs an absolute slack
    "sum": _F32_SUMS, "mean": _F32_SUMS, "std": _F32_SUMS, "var": _F32_SUMS, "cumsum": _F32_SUMS,
    "average": _F32_SUMS, "prod": _F32_SUMS,
}
