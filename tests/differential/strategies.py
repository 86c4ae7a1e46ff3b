"""Reusable hypothesis strategies for the differential suite's ``cases_*.py`` modules.

Every CASES entry is a function ``case(data) -> (args, kwargs)`` that draws plain NumPy values with the
``hypothesis.strategies.DataObject`` it is given. These helpers keep the draws uniform across families, so
that every name meets 0-d and empty arrays and the dtypes MXNet handles differently from NumPy.

Stable API (other helpers import it; extend, never change a signature):

- dtype groups (tuples of ``numpy.dtype``): ``FLOATS`` (float32, float64), ``INTS`` (int32, int64),
  ``BOOL`` (bool), ``NUMERIC`` = FLOATS + INTS, ``ALL`` = NUMERIC + BOOL, ``EXOTIC`` (float16, int8, uint8,
  int16, uint32, complex64, complex128: dtypes MXNet lacks or treats differently; draw them to exercise declines).
- ``shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)``: a strategy of shape tuples, including ``()`` and
  shapes with a zero side.
- ``arrays(dtype, shape, *, lo=None, hi=None, nan=False, inf=False, unique=False)``: a strategy of arrays of
  ``dtype`` (a dtype or a strategy of dtypes) and ``shape`` (a tuple or a strategy of tuples). Values lie in
  ``[lo, hi]`` (defaults: -10..10 for floats, -20..20 for signed ints, 0..20 unsigned); ``nan``/``inf`` allow
  those values in floats.
- ``draw_array(data, dtypes=ALL, shape=None, **kw)``: draw one array (dtype from ``dtypes``, shape from
  ``shapes()`` unless given as a tuple or strategy); keywords as for ``arrays`` plus ``min_dims``, ``max_dims``,
  ``min_side``, ``max_side``.
- ``draw_dtype(data, dtypes)``: one ``numpy.dtype`` out of a group.
- ``draw_pair(data, dtypes=ALL, *, same_dtype=True, broadcast=False, **kw)``: two arrays for a binary
  operation: same shape (or broadcast-compatible shapes when ``broadcast=True``), same dtype unless
  ``same_dtype=False`` (then each drawn independently from ``dtypes``).
- ``draw_scalar(data, kinds=(bool, int, float), lo=-10, hi=10)``: a Python scalar of one of ``kinds``.
- ``draw_operand(data, dtypes=ALL, **kw)``: an array, most of the time, else a Python scalar (for binary ops).
- ``draw_axis(data, ndim, *, none=True, tuples=True, negative=True)``: an axis argument valid for ``ndim``:
  None, an int (possibly negative) or a tuple of distinct ints (tuple only when ``tuples``).
- ``rarely(data, n=8)``: True about once in ``n`` draws (for declined variants: odd keywords, bad axes).
  Hypothesis favours small integers and the first element of ``sampled_from``: put the common case first.
- ``draw_kwargs(data, **options)``: a dict holding a random subset of the given keyword options, each value
  drawn from its strategy (``draw_kwargs(data, keepdims=st.booleans())``).
- ``SETTINGS``: the hypothesis settings the runner uses (deterministic, no deadline).

Keep draws small (sides <= 4 or so): the whole suite must run in a few minutes on 2 cores.
"""
from __future__ import annotations

import os

import numpy as onp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOATS = (onp.dtype("float32"), onp.dtype("float64"))
INTS = (onp.dtype("int32"), onp.dtype("int64"))
BOOL = (onp.dtype("bool"),)
NUMERIC = FLOATS + INTS
ALL = NUMERIC + BOOL
EXOTIC = tuple(onp.dtype(t) for t in ("float16", "int8", "uint8", "int16", "uint32", "complex64", "complex128"))

MAX_EXAMPLES = int(os.environ.get("IMPERDL_DIFF_EXAMPLES", "15"))

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4):
    """Shapes including 0-d and empty ones; non-empty shapes come first (hypothesis favours zeros otherwise)."""
    full = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=max(1, min_side), max_side=max_side)
    if min_side >= 1:
        return full
    return st.one_of(full, hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                            max_side=max_side))


def rarely(data, n: int = 8) -> bool:
    """True about once in ``n`` draws. (``integers(0, n) == 0`` is much more frequent: hypothesis favours 0.)"""
    return data.draw(st.integers(0, n - 1)) == n - 1


def _elements(dtype: onp.dtype, lo, hi, nan: bool, inf: bool):
    kind = dtype.kind
    if kind == "b":
        return st.booleans()
    if kind in "iu":
        info = onp.iinfo(dtype)
        lo = max(info.min, -20 if lo is None else lo) if kind == "i" else max(0, 0 if lo is None else lo)
        hi = min(info.max, 20 if hi is None else hi)
        return st.integers(int(lo), int(hi))
    lo = -10.0 if lo is None else lo
    hi = 10.0 if hi is None else hi
    width = 16 if dtype.itemsize == 2 else 32 if dtype in (onp.dtype("float32"), onp.dtype("complex64")) else 64
    real = st.floats(lo, hi, width=width)
    special = []
    if nan:
        special.append(st.just(float("nan")))
    if inf:
        special += [st.just(float("inf")), st.just(float("-inf"))]
    if special:
        real = st.one_of(real, *special)
    if kind == "c":
        return st.builds(complex, real, real)
    return real


def arrays(dtype, shape, *, lo=None, hi=None, nan: bool = False, inf: bool = False, unique: bool = False):
    """Arrays of ``dtype`` and ``shape`` (each a value or a strategy) with small, finite-by-default values."""
    dts = dtype if isinstance(dtype, st.SearchStrategy) else st.just(onp.dtype(dtype))

    def build(dt):
        return hnp.arrays(dt, shape, elements=_elements(onp.dtype(dt), lo, hi, nan, inf), unique=unique)

    return dts.flatmap(build)


def draw_dtype(data, dtypes=ALL) -> onp.dtype:
    """One dtype out of a group (a dtype or a sequence of dtypes/names)."""
    if isinstance(dtypes, (str, onp.dtype, type)):
        return onp.dtype(dtypes)
    return onp.dtype(data.draw(st.sampled_from(tuple(dtypes))))


def draw_array(data, dtypes=ALL, shape=None, *, min_dims: int = 0, max_dims: int = 3, min_side: int = 0,
               max_side: int = 4, **kw) -> onp.ndarray:
    """One array: dtype from ``dtypes``, shape given or drawn (0-d and empty included)."""
    dt = draw_dtype(data, dtypes)
    if shape is None:
        shape = data.draw(shapes(min_dims, max_dims, min_side, max_side))
    elif isinstance(shape, st.SearchStrategy):
        shape = data.draw(shape)
    return data.draw(arrays(dt, tuple(shape), **kw))


def _broadcast_partner(data, shape: tuple) -> tuple:
    """A shape that broadcasts with ``shape``: some trailing dims kept, some set to 1, maybe fewer dims."""
    keep = data.draw(st.integers(0, len(shape)))
    tail = shape[len(shape) - keep:]
    return tuple(1 if data.draw(st.booleans()) else s for s in tail)


def draw_pair(data, dtypes=ALL, *, same_dtype: bool = True, broadcast: bool = False, **kw):
    """Two arrays for a binary operation (same shape, or broadcastable shapes)."""
    a = draw_array(data, dtypes, **kw)
    shape_b = _broadcast_partner(data, a.shape) if broadcast else a.shape
    if data.draw(st.booleans()) and broadcast:
        a, shape_b = data.draw(arrays(a.dtype, shape_b, **_value_kw(kw))), a.shape
    dt = a.dtype if same_dtype else draw_dtype(data, dtypes)
    b = data.draw(arrays(dt, tuple(shape_b), **_value_kw(kw)))
    return a, b


def _value_kw(kw: dict) -> dict:
    return {k: v for k, v in kw.items() if k in ("lo", "hi", "nan", "inf", "unique")}


def draw_scalar(data, kinds=(bool, int, float), lo=-10, hi=10):
    """A Python scalar of one of ``kinds`` (bool, int, float)."""
    kind = data.draw(st.sampled_from(tuple(kinds)))
    if kind is bool:
        return data.draw(st.booleans())
    if kind is int:
        return data.draw(st.integers(int(lo), int(hi)))
    return data.draw(st.floats(float(lo), float(hi)))


def draw_operand(data, dtypes=ALL, scalar_kinds=(bool, int, float), **kw):
    """An array (three times out of four) or a Python scalar, for either side of a binary operation."""
    if rarely(data, 4):
        lo, hi = kw.get("lo"), kw.get("hi")
        return draw_scalar(data, scalar_kinds, -10 if lo is None else lo, 10 if hi is None else hi)
    return draw_array(data, dtypes, **kw)


def draw_axis(data, ndim: int, *, none: bool = True, tuples: bool = True, negative: bool = True):
    """An axis argument valid for an ``ndim``-d array (None only when ``none`` or ``ndim == 0``)."""
    choices = []
    if none or ndim == 0:
        choices.append("none")
    if ndim > 0:
        choices.append("int")
        if tuples:
            choices.append("tuple")
    kind = data.draw(st.sampled_from(choices))
    if kind == "none":
        return None
    lo = -ndim if negative else 0
    if kind == "int":
        return data.draw(st.integers(lo, ndim - 1))
    axes = data.draw(st.lists(st.integers(0, ndim - 1), min_size=0 if ndim else 0, max_size=ndim, unique=True))
    if negative:
        axes = [a - ndim if data.draw(st.booleans()) else a for a in axes]
    return tuple(axes)


def draw_kwargs(data, **options) -> dict:
    """A random subset of keyword arguments, each value drawn from its strategy."""
    out = {}
    for name, strat in options.items():
        if data.draw(st.booleans()):
            out[name] = data.draw(strat)
    return out
