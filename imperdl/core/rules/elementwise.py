"""Gradient rules: elementwise functions (ufuncs and friends).

Every rule is written with ``imperdl.numpy``, so it runs where the forward ran and an outer tape records it:
second derivatives come from differentiating these very expressions. That is why kinks are handled with
``where`` on *safe* operands (never ``0 * inf``) and why constants are built from masks, not from ``ans``.

Complex inputs follow HIPS autograd's convention (the rules borrowed from it must agree with ours): the vjp of
a holomorphic ``f`` is ``g * f'(x)``; only the non-holomorphic functions (``absolute``, ``real``, ``imag``,
``conj``, ``angle``) need their own complex branch.
"""
from __future__ import annotations

import math

import numpy as onp

from . import defvjp, defvjp_argnums
from .util import dtype_of, host, shape_of, unbroadcast


def _np():
    import imperdl.numpy as np

    return np


def _is_complex(x) -> bool:
    return onp.issubdtype(dtype_of(x), onp.complexfloating)


def _zero_grad(g, ans, x, *args, **kwargs):
    """Piecewise-constant functions: the gradient is zero where it exists (and we say zero at the jumps)."""
    np = _np()
    dt = dtype_of(x)
    if not onp.issubdtype(dt, onp.inexact):
        dt = dtype_of(g)
    return np.zeros(shape_of(x), dtype=dt)


def _zero_binary(i):
    def rule(g, ans, *args, **kwargs):
        return _zero_grad(g, ans, args[i])

    return rule


def _unary(deriv):
    """A rule ``g * deriv(ans, x)`` for an elementwise function of one argument."""

    def rule(g, ans, x, *args, **kwargs):
        return g * deriv(ans, x)

    return rule


def _first(fx):
    """Binary rule for argument 0: ``fx(g, ans, x, y)`` summed back to ``x``'s shape."""

    def rule(g, ans, x, y, *args, **kwargs):
        return unbroadcast(fx(g, ans, x, y), x)

    return rule


def _second(fy):
    def rule(g, ans, x, y, *args, **kwargs):
        return unbroadcast(fy(g, ans, x, y), y)

    return rule


def _binary(name, fx, fy, reads=None):
    defvjp(name, _first(fx) if fx else None, _second(fy) if fy else None, reads=reads)


_OTHER = {0: (1,), 1: (0,)}  # each factor's rule reads the other one
_BOTH = (0, 1)


def _safe(x, where_bad, fill):
    """``x`` with the entries ``where_bad`` replaced by ``fill`` (keeps later divisions and logs finite)."""
    return _np().where(where_bad, fill, x)


def _weight(mask, g):
    """``g`` where ``mask`` holds, else zero, without ``0 * nan`` surprises and in ``g``'s dtype."""
    np = _np()
    return np.where(mask, g, np.zeros((), dtype=dtype_of(g)))


# -------------------------------------------------------------------------------------------- unary tables
LN2, LN10 = math.log(2.0), math.log(10.0)


def _d_sinc(ans, x):
    """d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x. Near 0 that cancels catastrophically, so there its
    Taylor series -pi^2 x / 3 + pi^4 x^3 / 30 is used (exact in value and slope, as second order needs)."""
    np = _np()
    small = np.abs(x) < 1e-3
    xs = _safe(x, small, 1.0)
    series = x * (-math.pi ** 2 / 3.0 + (math.pi ** 4 / 30.0) * (x * x))
    return np.where(small, series, (np.cos(math.pi * xs) - ans) / xs)


# name: (derivative from (ans, x), what it reads: the result "ans" and/or the input 0)
_UNARY = {
    "reciprocal": (lambda ans, x: -(ans * ans), ("ans",)),
    "square": (lambda ans, x: 2.0 * x, (0,)),
    "sqrt": (lambda ans, x: 0.5 / ans, ("ans",)),
    "cbrt": (lambda ans, x: 1.0 / (3.0 * ans * ans), ("ans",)),
    "exp": (lambda ans, x: ans, ("ans",)),
    "exp2": (lambda ans, x: ans * LN2, ("ans",)),
    "expm1": (lambda ans, x: ans + 1.0, ("ans",)),
    "log": (lambda ans, x: 1.0 / x, (0,)),
    "log2": (lambda ans, x: 1.0 / (x * LN2), (0,)),
    "log10": (lambda ans, x: 1.0 / (x * LN10), (0,)),
    "log1p": (lambda ans, x: 1.0 / (x + 1.0), (0,)),
    "sin": (lambda ans, x: _np().cos(x), (0,)),
    "cos": (lambda ans, x: -_np().sin(x), (0,)),
    "tan": (lambda ans, x: 1.0 + ans * ans, ("ans",)),
    "arcsin": (lambda ans, x: 1.0 / _np().sqrt(1.0 - x * x), (0,)),
    "arccos": (lambda ans, x: -1.0 / _np().sqrt(1.0 - x * x), (0,)),
    "arctan": (lambda ans, x: 1.0 / (1.0 + x * x), (0,)),
    "sinh": (lambda ans, x: _np().cosh(x), (0,)),
    "cosh": (lambda ans, x: _np().sinh(x), (0,)),
    "tanh": (lambda ans, x: 1.0 - ans * ans, ("ans",)),
    "arcsinh": (lambda ans, x: 1.0 / _np().sqrt(x * x + 1.0), (0,)),
    "arccosh": (lambda ans, x: 1.0 / _np().sqrt(x * x - 1.0), (0,)),
    "arctanh": (lambda ans, x: 1.0 / (1.0 - x * x), (0,)),
    "sinc": (_d_sinc, ("ans", 0)),
    "deg2rad": (lambda ans, x: math.pi / 180.0, ()),
    "radians": (lambda ans, x: math.pi / 180.0, ()),
    "rad2deg": (lambda ans, x: 180.0 / math.pi, ()),
    "degrees": (lambda ans, x: 180.0 / math.pi, ()),
}

for _name, (_deriv, _reads) in _UNARY.items():
    defvjp(_name, _unary(_deriv), reads=_reads)

defvjp("negative", lambda g, ans, x, *a, **k: -g, reads=())
defvjp("positive", lambda g, ans, x, *a, **k: +g, reads=())

for _name in "sign floor ceil round around round_ rint trunc fix".split():
    defvjp(_name, _zero_grad, reads=())


def _real_part(g):
    """The cotangent of a real result is real. Upstream complex arithmetic can hand a complex ``g`` to a
    complex -> real function; its imaginary part is meaningless and must not leak (autograd's unbroadcast
    drops it the same way)."""
    return _np().real(g) if _is_complex(g) else g


def _abs_rule(g, ans, x, *args, **kwargs):
    """Real: ``g * sign(x)``. Complex (autograd's convention): ``g * conj(x) / |x|``, zero at 0."""
    np = _np()
    if _is_complex(x):
        g = _real_part(g)
        at0 = ans == 0
        return _weight(~at0, g * np.conj(x) / _safe(ans, at0, 1.0))
    return g * np.sign(x)


defvjp("absolute", _abs_rule, reads=("ans", 0))
defvjp("fabs", _abs_rule, reads=("ans", 0))


# ---------------------------------------------------------------------------------------- complex parts
def _match(x, g):
    """Give a real gradient ``g`` the complexity of ``x`` (the input it flows back to)."""
    np = _np()
    if _is_complex(x) and not _is_complex(g):
        return g + 0j
    if not _is_complex(x) and _is_complex(g):
        return np.real(g)
    return g


defvjp("real", lambda g, ans, x, *a, **k: _match(x, _real_part(g)), reads=())
defvjp("imag", lambda g, ans, x, *a, **k: _match(x, -1j * _real_part(g)) if _is_complex(x) else _zero_grad(g, ans, x),
       reads=())
defvjp("conjugate", lambda g, ans, x, *a, **k: _np().conj(g), reads=())


def _angle_rule(g, ans, x, *args, **kwargs):
    """angle(x) = atan2(imag x, real x); for real ``x`` it is piecewise constant."""
    np = _np()
    if not _is_complex(x):
        return _zero_grad(g, ans, x)
    g = _real_part(g)
    a2 = np.real(x * np.conj(x))
    at0 = a2 == 0
    return _weight(~at0, g * np.conj(x * 1j) / _safe(a2, at0, 1.0))


defvjp("angle", _angle_rule, reads=(0,))


# ------------------------------------------------------------------------------------------ binary tables
def _pow_exponent_minus_one(y):
    """``y - 1``, except 1 where ``y == 0`` (there ``y * x**(y-1)`` must be 0, not ``0 * inf`` at x = 0)."""
    np = _np()
    if isinstance(y, (int, float)):
        return y - 1 if y != 0 else 1
    return np.where(y == 0, 1.0, y - 1.0)


def _pow_dx(power):
    def fx(g, ans, x, y):
        return g * y * power(x, _pow_exponent_minus_one(y))

    return fx


def _pow_dy(g, ans, x, y):
    """``g * log(x) * x**y``; where ``x == 0`` the result is 0 (log replaced by 0 via a safe operand)."""
    np = _np()
    at0 = x == 0
    return g * np.log(_safe(x, at0, 1.0)) * ans


def _maxmin(cmp):
    """maximum/minimum-style selection: the winner gets ``g``, a tie gives each half."""

    def fx(g, ans, x, y):
        return _weight(cmp(x, y), g) + 0.5 * _weight(x == y, g)

    def fy(g, ans, x, y):
        return _weight(cmp(y, x), g) + 0.5 * _weight(x == y, g)

    return fx, fy


def _fmaxmin(cmp):
    """fmax/fmin ignore NaN: a NaN operand loses (both NaN: each gets half, like a tie)."""
    np = _np()

    def wins(a, b):
        na, nb = np.isnan(a), np.isnan(b)
        return (cmp(a, b) | nb) & ~na

    def tie(a, b):
        return (a == b) | (np.isnan(a) & np.isnan(b))

    def fx(g, ans, x, y):
        return _weight(wins(x, y), g) + 0.5 * _weight(tie(x, y), g)

    def fy(g, ans, x, y):
        return _weight(wins(y, x), g) + 0.5 * _weight(tie(x, y), g)

    return fx, fy


def _np_fn(name):
    return lambda *a: getattr(_np(), name)(*a)


_binary("add", lambda g, ans, x, y: g, lambda g, ans, x, y: g, reads=())
_binary("subtract", lambda g, ans, x, y: g, lambda g, ans, x, y: -g, reads=())
_binary("multiply", lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x, reads=_OTHER)
_binary("true_divide", lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y, reads={0: (1,), 1: ("ans", 1)})
_binary("power", _pow_dx(_np_fn("power")), _pow_dy, reads={0: _BOTH, 1: ("ans", 0)})
_binary("float_power", _pow_dx(_np_fn("float_power")), _pow_dy, reads={0: _BOTH, 1: ("ans", 0)})
_binary("maximum", *_maxmin(lambda a, b: a > b), reads=_BOTH)
_binary("minimum", *_maxmin(lambda a, b: a < b), reads=_BOTH)
_binary("fmax", *_fmaxmin(lambda a, b: a > b), reads=_BOTH)
_binary("fmin", *_fmaxmin(lambda a, b: a < b), reads=_BOTH)
_binary("logaddexp", lambda g, ans, x, y: g * _np().exp(x - ans), lambda g, ans, x, y: g * _np().exp(y - ans),
        reads={0: ("ans", 0), 1: ("ans", 1)})
_binary("logaddexp2", lambda g, ans, x, y: g * _np().exp2(x - ans), lambda g, ans, x, y: g * _np().exp2(y - ans),
        reads={0: ("ans", 0), 1: ("ans", 1)})
_binary("arctan2", lambda g, ans, x1, x2: g * x2 / (x1 * x1 + x2 * x2),
        lambda g, ans, x1, x2: -g * x1 / (x1 * x1 + x2 * x2), reads=_BOTH)
_binary("hypot", lambda g, ans, x, y: g * x / ans, lambda g, ans, x, y: g * y / ans,
        reads={0: ("ans", 0), 1: ("ans", 1)})
_binary("copysign", lambda g, ans, x, y: g * _np().copysign(1.0, x) * _np().copysign(1.0, ans),
        lambda g, ans, x, y: _zero_grad(g, ans, y), reads={0: ("ans", 0), 1: ()})
_binary("ldexp", lambda g, ans, x, y: _np().ldexp(g, y), None, reads={0: (1,)})
_binary("fmod", lambda g, ans, x, y: g, lambda g, ans, x, y: -g * _np().trunc(x / y), reads={0: (), 1: _BOTH})
_binary("remainder", lambda g, ans, x, y: g, lambda g, ans, x, y: -g * _np().floor(x / y), reads={0: (), 1: _BOTH})
_binary("heaviside", lambda g, ans, x, y: _zero_grad(g, ans, x), lambda g, ans, x, y: _weight(x == 0, g),
        reads={0: (), 1: (0,)})
defvjp("floor_divide", _zero_binary(0), _zero_binary(1), reads=())


def _divmod_x(g, ans, x, y, *args, **kwargs):
    """divmod = (floor_divide, remainder): only the remainder carries a gradient."""
    return unbroadcast(g[1], x)


def _divmod_y(g, ans, x, y, *args, **kwargs):
    return unbroadcast(-g[1] * _np().floor(x / y), y)


defvjp("divmod", _divmod_x, _divmod_y, reads={0: (), 1: _BOTH})
defvjp("modf", lambda g, ans, x, *a, **k: g[0], reads=())


# ---------------------------------------------------------------------------------------- selections
def _clip_a(g, ans, a, a_min=None, a_max=None, *args, **kwargs):
    """Passes inside ``[a_min, a_max]`` (boundaries included); ``None`` bounds are open."""
    inside = None
    if a_min is not None:
        inside = a >= a_min
    if a_max is not None:
        upper = a <= a_max
        inside = upper if inside is None else inside & upper
    if inside is None:
        return g
    return unbroadcast(_weight(inside, g), a)


def _clip_min(g, ans, a, a_min=None, a_max=None, *args, **kwargs):
    below = a < a_min
    if a_max is not None:
        below = below & (a_min <= a_max)
    return unbroadcast(_weight(below, g), a_min)


def _clip_max(g, ans, a, a_min=None, a_max=None, *args, **kwargs):
    above = a > a_max
    if a_min is not None:
        above = above | (a_min > a_max)
    return unbroadcast(_weight(above, g), a_max)


defvjp("clip", _clip_a, _clip_min, _clip_max, kw={"a_min": _clip_min, "a_max": _clip_max}, reads=(0, 1, 2))


def _where_x(g, ans, condition, x=None, y=None):
    return unbroadcast(_weight(condition, g), x)


def _where_y(g, ans, condition, x=None, y=None):
    np = _np()
    return unbroadcast(_weight(np.logical_not(condition), g), y)


defvjp("where", None, _where_x, _where_y, reads=(0,))  # the condition; x and y: their shapes


def _select(pos, g, ans, args, kwargs):
    """Choice ``j`` gets ``g`` where condition ``j`` is the first that holds; ``default`` where none does."""
    conds = [onp.asarray(host(c), dtype=bool) for c in (args[0] if args else kwargs["condlist"])]
    shape = shape_of(ans)
    taken = onp.zeros(shape, dtype=bool)
    masks = []
    for c in conds:
        c = onp.broadcast_to(c, shape)
        masks.append(c & ~taken)
        taken = taken | c
    if type(pos) is tuple and pos[0] in (1, "choicelist"):
        choices = args[1] if len(args) > 1 else kwargs["choicelist"]
        return unbroadcast(_weight(masks[pos[1]], g), choices[pos[1]])
    if pos in (2, "default"):
        return unbroadcast(_weight(~taken, g), args[2] if len(args) > 2 else kwargs["default"])
    raise NotImplementedError(f"select: no gradient with respect to argument {pos!r}")


defvjp_argnums("select", _select, sequences=(0, 1, "condlist", "choicelist"))


def _nan_to_num(g, ans, x, *args, **kwargs):
    """Finite entries pass; replaced entries (NaN, +-inf) are constants."""
    np = _np()
    return _weight(np.isfinite(x), g)


defvjp("nan_to_num", _nan_to_num, reads=(0,))


def _frexp(g, ans, x, *args, **kwargs):
    """frexp(x) = (m, e) with x = m * 2**e: m = x * 2**-e, the integer exponent being piecewise constant."""
    return _np().ldexp(g[0], -ans[1])


defvjp("frexp", _frexp, reads=("ans",))
