"""Gradient cases for reduction rules (``imperdl/core/rules/reductions.py``); contract in ``checker.py``.

Axis forms None / int / negative / tuple and ``keepdims`` are each exercised somewhere; products are checked
with one, two and three zeros in a slice (where ``ans / x`` would be NaN), extrema with two-way ties (central
differences split a two-way tie evenly, like the rule).
"""
from __future__ import annotations

import numpy as onp


def red(shape=(3, 4), lo=-2.0, hi=2.0, **kwargs):
    return lambda rng: ((rng.uniform(lo, hi, shape),), kwargs, (0,))


def _with_nans(shape=(3, 4), **kwargs):
    def case(rng):
        x = rng.uniform(-2, 2, shape)
        x.flat[[1, 6]] = onp.nan
        return (x,), kwargs, (0,)

    return case


def _nanprod(rng):
    x = rng.uniform(0.6, 1.5, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x[0, 1] = x[2, 2] = onp.nan
    x[1, 3] = 0.0
    return (x,), {"axis": 1}, (0,)


def _nancumprod(rng):
    x = rng.uniform(0.6, 1.5, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x[0, 1] = x[2, 2] = onp.nan
    return (x,), {"axis": 1}, (0,)


def _complex(**kwargs):
    def case(rng):
        return (rng.uniform(-2, 2, (3, 4)) + 1j * rng.uniform(-2, 2, (3, 4)),), kwargs, (0,)

    return case


def _sum_where(rng):
    x = rng.uniform(-2, 2, (3, 4))
    return (x,), {"axis": 1, "where": onp.array([True, False, True, True])}, (0,)


def _positive_prod(**kwargs):
    """Products of magnitudes near 1 with random signs (no zeros: the ``ans / x`` path)."""
    def case(rng):
        return (rng.uniform(0.6, 1.5, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4)),), kwargs, (0,)

    return case


def _prod_zeros(rng):
    """Columns with no zero, one zero, two zeros and three zeros, reduced along axis 0."""
    x = rng.uniform(0.6, 1.5, (4, 4))
    x[1, 1] = 0.0
    x[0, 2] = x[3, 2] = 0.0
    x[0, 3] = x[1, 3] = x[2, 3] = 0.0
    return (x,), {"axis": 0}, (0,)


def _prod_zero_all(rng):
    x = rng.uniform(0.6, 1.5, (2, 3))
    x[1, 2] = 0.0
    return (x,), {"keepdims": True}, (0,)


def _prod_initial(rng):
    x = rng.uniform(0.6, 1.5, (2, 3))
    x[0, 1] = 0.0
    return (x,), {"axis": 1, "initial": 1.5}, (0,)


def _tied(axis=None, **kwargs):
    """Distinct values except one pair sharing the extremum of every slice along ``axis``."""
    def case(rng):
        x = rng.permutation(12).reshape(3, 4) / 4.0 + rng.uniform(0, 0.01, (3, 4))
        if axis is None:
            i, j = onp.unravel_index(onp.argmax(x), x.shape)
            x[(i + 1) % 3, (j + 2) % 4] = x[i, j]
            i, j = onp.unravel_index(onp.argmin(x), x.shape)
            x[(i + 2) % 3, (j + 1) % 4] = x[i, j]
        else:
            for r in range(3):
                hi, lo = onp.argmax(x[r]), onp.argmin(x[r])
                x[r, (hi + 1) % 4 if (hi + 1) % 4 != lo else (hi + 2) % 4] = x[r, hi]
        # first order only: the rule's derivative jumps at a tie, so finite differences of it mean nothing there
        return (x,), dict(kwargs, **({} if axis is None else {"axis": axis})), (0,), {"order": 1}

    return case


def _cum_zeros(rng):
    """Rows with no zero, one zero, two zeros and three zeros, accumulated along axis 1."""
    x = rng.uniform(0.6, 1.5, (4, 5)) * rng.choice([-1.0, 1.0], (4, 5))
    x[1, 2] = 0.0
    x[2, 1] = x[2, 3] = 0.0
    x[3, 0] = x[3, 2] = x[3, 4] = 0.0
    return (x,), {"axis": 1}, (0,)


def _average_weights_full(rng):
    return (rng.uniform(-2, 2, (3, 4)), None, rng.uniform(0.5, 2, (3, 4))), {}, (0, 2)


def _average_weights_1d(rng):
    return (rng.uniform(-2, 2, (2, 3, 4)), 1, rng.uniform(0.5, 2, (3,))), {}, (0, 2)


def _average_returned(rng):
    return (rng.uniform(-2, 2, (3, 4)), 0, rng.uniform(0.5, 2, (3, 4)), True), {}, (0, 2)


GRAD_CASES = {
    "sum": [red(), _complex(axis=0), red((2, 3, 4), axis=(0, -1), keepdims=True), _sum_where],
    "mean": [red(axis=-1), red(keepdims=True), _complex()],
    "nansum": _with_nans(axis=0),
    "nanmean": [_with_nans(), _with_nans(axis=1, keepdims=True)],
    "prod": [_positive_prod(axis=1), _prod_zeros, _prod_zero_all, _prod_initial],
    "product": _positive_prod(),
    "max": [_tied(axis=1), _tied(keepdims=True)],
    "amax": _tied(axis=-1, keepdims=True),
    "min": [_tied(axis=1), _tied()],
    "amin": _tied(),
    "nanmax": _tied(axis=1),
    "nanmin": _tied(),
    "ptp": [_tied(axis=1), red(keepdims=True)],
    "var": [red(axis=0, ddof=1), red((2, 3, 4), axis=(0, 2), keepdims=True), _complex(axis=1)],
    "std": [red(), red(axis=1, ddof=1, keepdims=True), _complex(ddof=1)],
    "nanvar": _with_nans(axis=1, ddof=1),
    "nanstd": _with_nans(),
    "cumsum": [red(), red(axis=-1)],
    "nancumsum": _with_nans(axis=0),
    "cumprod": [_positive_prod(), _positive_prod(axis=0), _cum_zeros],
    "cumproduct": _positive_prod(axis=1),
    "nanprod": _nanprod,
    "nancumprod": [_nancumprod, _with_nans()],
    "average": [red(axis=0), _average_weights_full, _average_weights_1d, _average_returned],
    "trace": [red((3, 4), offset=1), red((3, 2, 4), axis1=2, axis2=0, offset=-1)],
}
