"""Gradient cases for elementwise rules (``imperdl/core/rules/elementwise.py``); contract in ``checker.py``.

Inputs are float64, drawn inside each function's domain and away from its kinks, except where a kink is the
point (ties of maximum/minimum, zeros of power's base), where the rule's choice is checked by central
differences (which split a two-way tie evenly too).
"""
from __future__ import annotations

import numpy as onp

S = (2, 3)  # default shape: small keeps the suite fast


def _away(rng, lo, hi, shape=S):
    """Magnitudes in [lo, hi] with random signs (away from 0)."""
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def _frac(rng, shape=S):
    """Values with fractional part near 0.32: away from the jumps of floor/ceil (integers), round/rint (halves)
    and round to one decimal (0.25, 0.35)."""
    return rng.integers(-3, 4, shape) + 0.32 + rng.uniform(-0.015, 0.015, shape)


def _cplx(rng, shape=S):
    return rng.uniform(-1.5, 1.5, shape) + 1j * rng.uniform(-1.5, 1.5, shape)


def unary(lo=-2.0, hi=2.0, shape=S, **kwargs):
    return lambda rng: ((rng.uniform(lo, hi, shape),), kwargs, (0,))


def unary_away(lo=0.5, hi=2.0, shape=S):
    return lambda rng: ((_away(rng, lo, hi, shape),), {}, (0,))


def binary(lo=-2.0, hi=2.0, lo2=None, hi2=None, shapes=((3, 1), (1, 4))):
    """Both arguments differentiated, broadcasting against each other."""
    lo2 = lo if lo2 is None else lo2
    hi2 = hi if hi2 is None else hi2
    return lambda rng: ((rng.uniform(lo, hi, shapes[0]), rng.uniform(lo2, hi2, shapes[1])), {}, (0, 1))


def with_scalar(lo=-2.0, hi=2.0, scalar=1.7, first=True):
    """One array and a Python float, both differentiated (the float's gradient is a 0-d array)."""
    def case(rng):
        x = rng.uniform(lo, hi, (4,))
        return ((x, scalar) if first else (scalar, x)), {}, (0, 1)

    return case


def zero_grad(draw=_frac, **kwargs):
    return lambda rng: ((draw(rng),), kwargs, (0,))


def _ties(rng):
    x = rng.uniform(-2, 2, (3, 4))
    y = rng.uniform(-2, 2, (3, 4))
    y[0] = x[0]  # a row of exact ties: each side gets half
    # first order only: the rule's derivative jumps at a tie, so finite differences of it mean nothing there
    return (x, y), {}, (0, 1), {"order": 1}


def _power_zero_base(rng):
    x = rng.uniform(0.5, 2.0, (5,))
    x[1] = 0.0
    return (x, 2.0), {}, (0, 1)


def _power_negative_base(rng):
    return (_away(rng, 0.5, 1.5, (5,)), 3), {}, (0,)


def _power_array_exponent(rng):
    return (rng.uniform(0.5, 2.0, (3, 1)), rng.uniform(-1.5, 2.5, (1, 4))), {}, (0, 1)


def _modlike(rng):
    y = rng.uniform(1.0, 2.0, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))
    q = rng.integers(-3, 4, (2, 3)) + 0.5 + rng.uniform(-0.3, 0.3, (2, 3))
    return (q * y, y), {}, (0, 1)


def _clip_scalars(rng):
    x = rng.uniform(-2, 2, (12,))
    x = x[(onp.abs(x + 0.5) > 0.05) & (onp.abs(x - 0.8) > 0.05)]
    return (x, -0.5, 0.8), {}, (0,)


def _clip_arrays(rng):
    x = onp.array([[-2.0, -0.3, 0.1, 1.9], [0.6, -1.2, 1.3, 0.2]])
    lo = onp.array([-0.5, -0.4, 0.0, -1.0])
    hi = onp.array([[1.0], [0.5]])
    return (x + rng.uniform(-0.01, 0.01, x.shape), lo, hi), {}, (0, 1, 2)


def _clip_open(rng):
    x = rng.uniform(-2, 2, (6,))
    return (x + onp.where(onp.abs(x - 0.3) < 0.05, 0.2, 0.0),), {"a_min": None, "a_max": 0.3}, (0,)


def _where(rng):
    cond = rng.uniform(size=(3, 4)) > 0.5
    return (cond, rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (4,))), {}, (1, 2)


def _ldexp(rng):
    return (rng.uniform(-2, 2, S), rng.integers(-3, 4, S)), {}, (0,)


def _nan_to_num(rng):
    x = rng.uniform(-2, 2, (6,))
    x[1], x[3], x[4] = onp.nan, onp.inf, -onp.inf
    return (x,), {"posinf": 5.0, "neginf": -5.0}, (0,)


def _copysign(rng):
    return (_away(rng, 0.5, 2.0), _away(rng, 0.5, 2.0)), {}, (0, 1)


def _heaviside(rng):
    return (_away(rng, 0.5, 2.0), rng.uniform(0, 1, S)), {}, (0, 1)


def _complex_unary(rng):
    return (_cplx(rng),), {}, (0,)


def _complex_binary(rng):
    return (_cplx(rng), _cplx(rng, (3,))), {}, (0, 1)


def _complex_away(rng):
    z = _cplx(rng)
    return (z + 0.5 * z / onp.abs(z),), {}, (0,)


def _sinc_at_zero(rng):
    x = rng.uniform(-2, 2, (5,))
    x[2] = 0.0
    return (x,), {}, (0,)


GRAD_CASES = {
    # arithmetic
    "add": [binary(), with_scalar(first=False), _complex_binary],
    "subtract": [binary(), with_scalar()],
    "multiply": [binary(), with_scalar(), _complex_binary],
    "true_divide": [binary(lo2=0.5, hi2=2.0), with_scalar(lo=0.5, first=False)],
    "divide": binary(lo2=0.5, hi2=2.0),
    "power": [_power_array_exponent, _power_zero_base, _power_negative_base],
    "float_power": [_power_array_exponent, _power_zero_base],
    "negative": [unary(), _complex_unary],
    "positive": unary(),
    "absolute": [unary_away(), _complex_away],
    "abs": unary_away(),
    "fabs": unary_away(),
    "maximum": [binary(), _ties],
    "minimum": [binary(), _ties],
    "fmax": [binary(), _ties],
    "fmin": [binary(), _ties],
    "reciprocal": unary_away(),
    "square": [unary(), _complex_unary],
    "sqrt": unary(0.3, 2.0),
    "cbrt": unary_away(),
    # exponentials and logarithms
    "exp": [unary(), _complex_unary],
    "exp2": unary(),
    "expm1": unary(),
    "log": [unary(0.3, 2.0), _complex_away],
    "log2": unary(0.3, 2.0),
    "log10": unary(0.3, 2.0),
    "log1p": unary(-0.5, 2.0),
    "logaddexp": binary(),
    "logaddexp2": binary(),
    # trigonometric and hyperbolic
    "sin": [unary(), _complex_unary],
    "cos": unary(),
    "tan": unary(-1.2, 1.2),
    "arcsin": unary(-0.8, 0.8),
    "arccos": unary(-0.8, 0.8),
    "arctan": unary(),
    "arctan2": binary(0.3, 2.0, -2.0, 2.0),
    "sinh": unary(),
    "cosh": unary(),
    "tanh": [unary(), _complex_unary],
    "arcsinh": unary(),
    "arccosh": unary(1.2, 3.0),
    "arctanh": unary(-0.8, 0.8),
    "hypot": binary(0.3, 2.0),
    "sinc": [unary(), _sinc_at_zero],
    "deg2rad": unary(),
    "rad2deg": unary(),
    "degrees": unary(),
    "radians": unary(),
    # piecewise constant
    "sign": zero_grad(lambda rng: _away(rng, 0.5, 2.0)),
    "floor": zero_grad(),
    "ceil": zero_grad(),
    "round": [zero_grad(), zero_grad(decimals=1)],
    "around": zero_grad(decimals=1),
    "round_": zero_grad(),
    "rint": zero_grad(),
    "trunc": zero_grad(),
    "fix": zero_grad(),
    "floor_divide": _modlike,
    "heaviside": _heaviside,
    # other binary
    "copysign": _copysign,
    "ldexp": _ldexp,
    "fmod": _modlike,
    "remainder": _modlike,
    "mod": _modlike,
    "divmod": _modlike,
    "modf": zero_grad(),
    "frexp": unary(-3.0, 3.0),
    # selection
    "clip": [_clip_scalars, _clip_arrays, _clip_open],
    "where": _where,
    "nan_to_num": _nan_to_num,
    # complex parts
    "real": [unary(), _complex_unary],
    "imag": [unary(), _complex_unary],
    "conj": [unary(), _complex_unary],
    "conjugate": _complex_unary,
    "angle": [unary_away(), _complex_away],
}
