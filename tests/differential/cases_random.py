"""Differential CASES for ``numpy.random`` samplers.

Values are random, so the runner compares dtype and shape with NumPy's and checks each value against the
distribution's support (``SUPPORT``). Draws cover scalar and array parameters of every dtype (bool arrays and
``size=None`` with scalar parameters are declined: NumPy answers those with Python scalars), sizes that the
parameters broadcast to, sizes they do not broadcast to (NumPy raises ValueError), and out-of-range parameters
(negative scales, ``a <= 0``, ``low >= high``) for which NumPy's exception type must come back.
"""
from __future__ import annotations

import numpy as onp
from hypothesis import strategies as st

from .strategies import ALL, FLOATS, INTS, arrays, draw_dtype

_PARAM_DTYPES = FLOATS * 2 + INTS + ALL


def _param(data, lo, hi, shape=None):
    """A Python int/float or an array of parameters in [lo, hi] (sometimes out of range: lo - 2)."""
    if data.draw(st.integers(0, 12)) == 0:
        lo = lo - 2.0  # invalid for constrained parameters: NumPy raises ValueError
    kind = data.draw(st.integers(0, 3))
    if kind == 0:
        return data.draw(st.floats(lo, hi))
    if kind == 1:
        return data.draw(st.integers(int(onp.ceil(lo)), int(onp.floor(hi))))
    dt = draw_dtype(data, _PARAM_DTYPES)
    if shape is None:
        shape = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2)))
    if dt.kind == "b":
        return data.draw(arrays(dt, shape))
    if dt.kind in "iu":
        return data.draw(arrays(dt, shape, lo=int(onp.ceil(lo)), hi=int(onp.floor(hi))))
    return data.draw(arrays(dt, shape, lo=lo, hi=hi))


def _size(data, params):
    """None, an int, or a tuple the parameters broadcast to (sometimes one they do not)."""
    try:
        pshape = onp.broadcast_shapes(*[onp.shape(p) for p in params])
    except ValueError:  # parameters that do not broadcast together: NumPy raises whatever the size
        return (2, 5)
    kind = data.draw(st.integers(0, 9))
    if kind == 0 and pshape:
        return None  # with scalar parameters NumPy returns a Python float: the runner would compare values
    if kind == 1:
        return (2, 5)  # may not broadcast: NumPy raises
    if kind == 2 and len(pshape) <= 1:
        return data.draw(st.integers(0, 4)) if not pshape else pshape[0]
    lead = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2)))
    return lead + pshape


def _sampler_case(*bounds):
    """Case for ``f(p0, p1, ..., size)``: one parameter per (lo, hi) bound."""

    def case(data):
        params = [_param(data, lo, hi) for lo, hi in bounds]
        size = _size(data, params)
        if data.draw(st.booleans()):
            return tuple(params) + (size,), {}
        return tuple(params), {"size": size}

    return case


def _size_only_case(data):
    size = _size(data, [])
    return ((size,), {}) if data.draw(st.booleans()) else ((), {"size": size})


def _dims_case(data):
    dims = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    return tuple(dims), {}


def randint_case(data):
    low = data.draw(st.integers(-5, 5))
    args = [low]
    if data.draw(st.integers(0, 3)):
        args.append(low + data.draw(st.integers(-1, 2 ** 33 if data.draw(st.integers(0, 5)) == 0 else 10)))
    kw = {"size": _size(data, [])}
    dt = data.draw(st.sampled_from([None, None, int, "int64", "int32", onp.int32, "uint8", "int16", bool]))
    if dt is not None:
        kw["dtype"] = dt
    return tuple(args), kw


def choice_case(data):
    n = data.draw(st.integers(0, 5))
    if data.draw(st.booleans()):
        a = n
    else:
        a = data.draw(arrays(draw_dtype(data, _PARAM_DTYPES), (n,), unique=True))
    kw = {"size": _size(data, []) if data.draw(st.integers(0, 5)) else data.draw(st.integers(0, 4))}
    if data.draw(st.booleans()):
        kw["replace"] = data.draw(st.booleans())
    if data.draw(st.booleans()):
        w = data.draw(arrays(onp.float64, (n,), lo=0, hi=1))
        if w.sum() > 0 and data.draw(st.integers(0, 5)):
            w = w / w.sum()  # otherwise: NumPy raises (do not sum to 1)
        kw["p"] = w.astype(data.draw(st.sampled_from(FLOATS)))
    return (a,), kw


# ------------------------------------------------------------------------------------------ supports
def _bcast(v, values):
    return onp.broadcast_to(onp.asarray(v, dtype=onp.float64), values.shape)


def _bound(i, default, name):
    """Parameter ``i`` of the call (positional or keyword ``name``), or its default."""

    def get(args, kwargs):
        return args[i] if len(args) > i else kwargs.get(name, default)

    return get


def _within(lo_get=None, hi_get=None, lo=None, hi=None, strict_hi=False):
    def support(values, args, kwargs):
        v = values.astype(onp.float64)
        if not onp.all(onp.isfinite(v)):
            return False
        low = _bcast(lo_get(args, kwargs), values) if lo_get else lo
        high = _bcast(hi_get(args, kwargs), values) if hi_get else hi
        ok = True
        if low is not None:
            ok = ok and onp.all(v >= low)
        if high is not None:
            ok = ok and onp.all(v < high if strict_hi else v <= high)
        return bool(ok)

    return support


def _uniform_support(values, args, kwargs):
    lo = _bcast(_bound(0, 0.0, "low")(args, kwargs), values)
    hi = _bcast(_bound(1, 1.0, "high")(args, kwargs), values)
    return bool(onp.all((values >= onp.minimum(lo, hi)) & (values <= onp.maximum(lo, hi))))


def _randint_support(values, args, kwargs):
    low, high = (0, args[0]) if len(args) == 1 else args
    return bool(onp.all((values >= low) & (values < high)))


def _choice_support(values, args, kwargs):
    """Every value is drawn from ``a``, never where ``p`` is 0, and without repeats when ``replace=False``."""
    a = args[0]
    pool = onp.arange(a) if isinstance(a, int) else onp.asarray(a)
    hits = [onp.flatnonzero(pool == v) for v in values.ravel()]
    if any(len(h) == 0 for h in hits):
        return False
    pos = onp.array([int(h[0]) for h in hits], dtype=int)
    p = kwargs.get("p")
    if p is not None and pos.size and not onp.all(onp.asarray(p)[pos] > 0):
        return False
    return kwargs.get("replace", True) or len(set(pos.tolist())) == pos.size


_NONNEG = _within(lo=0.0)
_UNIT = _within(lo=0.0, hi=1.0)

CASES = {
    "random.normal": _sampler_case((-5, 5), (0, 3)),
    "random.uniform": _sampler_case((-5, 5), (-5, 5)),
    "random.standard_normal": _size_only_case,
    "random.random_sample": _size_only_case,
    "random.random": _size_only_case,
    "random.ranf": _size_only_case,
    "random.sample": _size_only_case,
    "random.rand": _dims_case,
    "random.randn": _dims_case,
    "random.randint": randint_case,
    "random.choice": choice_case,
    "random.lognormal": _sampler_case((-2, 2), (0, 1)),
    "random.exponential": _sampler_case((0, 3)),
    "random.standard_exponential": _size_only_case,
    "random.gamma": _sampler_case((0, 4), (0, 3)),
    "random.standard_gamma": _sampler_case((0, 4)),
    "random.beta": _sampler_case((0.5, 4), (0.5, 4)),
    "random.chisquare": _sampler_case((0.5, 6)),
    "random.gumbel": _sampler_case((-5, 5), (0, 3)),
    "random.logistic": _sampler_case((-5, 5), (0, 3)),
    "random.laplace": _sampler_case((-5, 5), (0, 3)),
    "random.rayleigh": _sampler_case((0, 3)),
    "random.weibull": _sampler_case((0, 4)),
    "random.pareto": _sampler_case((0.5, 4)),
    "random.power": _sampler_case((0.5, 4)),
}

SUPPORT = {
    "random.uniform": _uniform_support,
    "random.random_sample": _within(lo=0.0, hi=1.0, strict_hi=True),
    "random.random": _within(lo=0.0, hi=1.0, strict_hi=True),
    "random.ranf": _within(lo=0.0, hi=1.0, strict_hi=True),
    "random.sample": _within(lo=0.0, hi=1.0, strict_hi=True),
    "random.rand": _within(lo=0.0, hi=1.0, strict_hi=True),
    "random.randint": _randint_support,
    "random.choice": _choice_support,
    "random.lognormal": _NONNEG,
    "random.exponential": _NONNEG,
    "random.standard_exponential": _NONNEG,
    "random.gamma": _NONNEG,
    "random.standard_gamma": _NONNEG,
    "random.beta": _UNIT,
    "random.chisquare": _NONNEG,
    "random.rayleigh": _NONNEG,
    "random.weibull": lambda values, args, kwargs: bool(onp.all(values >= 0)),  # tiny a overflows to inf
    "random.pareto": _NONNEG,
    "random.power": _UNIT,
}

MAX_EXAMPLES = {"random.normal": 30, "random.choice": 30, "random.randint": 25, "random.uniform": 25}
