"""MXNet implementations: elementwise math, arithmetic, comparisons, logic, ``where`` and ``clip``.

Tables of names share a few predicates, each stating the dtype cases where ``mxnet.numpy`` was measured to give
NumPy's exact result (dtype, shape, values). The guards and why:
- int and bool inputs of float functions (exp, sin, floor ...): NumPy returns float64 (float16 for int8),
  MXNet keeps the int dtype or raises, so only float arrays go to MXNet;
- binary operations take two arrays of one dtype, or a float/int64 array with a Python scalar: NumPy 1.23's
  value-based casting keeps the array's dtype there (except for scalars beyond the dtype's range, which no
  predicate can see), while MXNet truncates ``int32 + 0.5`` and turns ``bool + True`` into int64;
- float16 works in MXNet's kernels but never with Python scalars (value-based casting may widen to float32);
- known wrong kernels are patched or declined: ``rint`` rounds halves away from zero (declined), float ``mod``
  by zero gives 0 instead of NaN (patched), ``sign(nan)`` gives 0 (patched), float64 ``degrees``/``radians``
  use a float32 constant (float64 declined), ``clip`` with ``a_min > a_max`` differs (built from
  maximum/minimum), integer ``power`` cannot raise NumPy's error for negative exponents (declined),
  ``copysign`` loses the sign of zero (declined).
"""
from __future__ import annotations

import warnings

import numpy

from ..array import Array
from ..backends import mxnet_backend as B
from ..registry import meta_binary, meta_compare, meta_unary, register_mxnet
from .shape import safe_scalar

_dt = numpy.dtype
F16, F32, F64 = _dt("float16"), _dt("float32"), _dt("float64")
I8, U8, I32, I64, BOOL = _dt("int8"), _dt("uint8"), _dt("int32"), _dt("int64"), _dt("bool")
FLOATS = frozenset({F16, F32, F64})
WIDE_FLOATS = frozenset({F32, F64})
INTS = frozenset({I8, U8, I32, I64})
NUMERIC = FLOATS | INTS
ALL = NUMERIC | {BOOL}

_ARRAYS = (Array, numpy.ndarray)
# Python scalar kinds that leave an array's dtype unchanged in NumPy (for in-range values)
_SCALAR_OK = {F32: (bool, int, float), F64: (bool, int, float), I64: (bool, int)}


def _is_array(x) -> bool:
    return isinstance(x, _ARRAYS)


def _mnp():
    return B._mnp


def _bool_meta(x, *args, **kwargs):
    return (x.shape, BOOL) if type(x) is Array else None


# ---------------------------------------------------------------------------------------------- unary
def unary_pred(dtypes):
    """Accept ``f(x)`` with no other argument, for an array of one of ``dtypes``."""
    def pred(x, *args, **kwargs):
        return not args and not kwargs and _is_array(x) and x.dtype in dtypes

    return pred


def _same_name(name):
    def impl(x):
        return getattr(B._mnp, name)(x)

    impl.__name__ = name
    return impl


FLOAT_UNARY = """exp expm1 log log2 log10 log1p sqrt cbrt sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh
arccosh arctanh floor ceil trunc fix fabs reciprocal""".split()
# MXNet squares and takes absolute values of ints through doubles: int32 squares do not wrap as NumPy's do
# (65536**2 gives INT_MIN, not 0) and int64 values beyond 2**53 come back rounded, so those take floats only
FLOAT_ONLY_UNARY = "square absolute".split()
NUMERIC_UNARY = ["negative"]
PREDICATES_UNARY = "isnan isinf isfinite isposinf isneginf logical_not".split()

for _name in FLOAT_UNARY:
    register_mxnet(_name, _same_name(_name), unary_pred(FLOATS), meta_unary)
for _name in FLOAT_ONLY_UNARY:
    register_mxnet(_name, _same_name(_name), unary_pred(FLOATS), meta_unary)
for _name in NUMERIC_UNARY:
    register_mxnet(_name, _same_name(_name), unary_pred(NUMERIC), meta_unary)
for _name in PREDICATES_UNARY:
    register_mxnet(_name, _same_name(_name), unary_pred(ALL), _bool_meta)
# float64 degrees/radians lose precision in MXNet (float32 constant); deg2rad/rad2deg raise there
for _name, _mx_name in (("degrees", "degrees"), ("radians", "radians"), ("rad2deg", "degrees"),
                        ("deg2rad", "radians")):
    register_mxnet(_name, _same_name(_mx_name), unary_pred({F16, F32}), meta_unary)
register_mxnet("invert", _same_name("invert"), unary_pred(INTS), meta_unary)


def _sign(x):
    """MXNet's sign(nan) is 0; NumPy's is nan."""
    mnp = B._mnp
    s = mnp.sign(x)
    if numpy.dtype(x.dtype).kind == "f":
        s = mnp.where(mnp.isnan(x), x, s)
    return s


register_mxnet("sign", _sign, unary_pred(NUMERIC), meta_unary)


def _around_pred(a, decimals=0, out=None):
    """Floats only: MXNet rounds ints with negative decimals half-up, and raises on float16."""
    return out is None and _is_array(a) and a.dtype in WIDE_FLOATS and type(decimals) is int


def _around(a, decimals=0, out=None):
    """NumPy's algorithm: scale by 10**|decimals| in the array's dtype, round half to even, scale back. MXNet's
    own ``around`` with decimals > 0 scales differently and misses NumPy's result on about a third of values."""
    if decimals == 0:
        return B._mnp.around(a, 0)
    f = 10.0 ** abs(decimals)
    if decimals > 0:
        return B._mnp.around(a * f, 0) / f
    return B._mnp.around(a / f, 0) * f


for _name in ("around", "round", "round_"):
    register_mxnet(_name, _around, _around_pred, meta_unary)


# ---------------------------------------------------------------------------------------------- binary
def operands_ok(x, y, dtypes, scalars=True) -> bool:
    """Two arrays of one dtype in ``dtypes``, or (if ``scalars``) an array of 1+ dimensions and a dtype-preserving
    Python scalar (NumPy promotes a 0-d array with a scalar like two scalars: float32 0-d + 1 is float64)."""
    ax, ay = _is_array(x), _is_array(y)
    if ax and ay:
        return x.dtype == y.dtype and x.dtype in dtypes
    if not scalars:
        return False
    arr, other = (x, y) if ax else (y, x) if ay else (None, None)
    if arr is None or arr.dtype not in dtypes or arr.ndim == 0:
        return False
    return type(other) in _SCALAR_OK.get(arr.dtype, ())


def binary_pred(dtypes, scalars=True):
    """Accept ``f(x, y)`` (no keywords) when ``operands_ok``."""
    def pred(x, y, *args, **kwargs):
        return not args and not kwargs and operands_ok(x, y, dtypes, scalars)

    return pred


def exact_scalars(x, y):
    """A float scalar operand that MXNet's text parameters would round becomes a 0-d array of the other
    operand's dtype (the value NumPy's value-based casting uses)."""
    if type(y) is float:
        return x, safe_scalar(y, x.dtype, x.ctx)
    if type(x) is float:
        return safe_scalar(x, y.dtype, y.ctx), y
    return x, y


def _binary_same_name(name):
    def impl(x, y):
        x, y = exact_scalars(x, y)
        return getattr(B._mnp, name)(x, y)

    impl.__name__ = name
    return impl


# name -> dtypes accepted (two arrays of one dtype; a scalar only with float32/float64/int64 arrays)
ARITHMETIC = {
    "add": ALL, "subtract": NUMERIC, "multiply": ALL, "maximum": NUMERIC, "minimum": NUMERIC,
    "true_divide": FLOATS, "divide": FLOATS, "power": FLOATS, "hypot": FLOATS, "arctan2": FLOATS,
}
COMPARISONS = "equal not_equal less less_equal greater greater_equal".split()

for _name, _dtypes in ARITHMETIC.items():
    register_mxnet(_name, _binary_same_name(_name), binary_pred(_dtypes), meta_binary)
for _name in COMPARISONS:
    register_mxnet(_name, _binary_same_name(_name), binary_pred(ALL), meta_compare)


def _remainder(x, y):
    """Float ``x % 0`` is NaN in NumPy and 0 in MXNet: patch those positions."""
    mnp = B._mnp
    scalar_y = type(y) is not B.ndarray  # (exact_scalars may make it a 0-d array, never a zero one)
    r = mnp.mod(*exact_scalars(x, y))
    kind = numpy.dtype(r.dtype).kind
    if kind == "f" and r.size:  # (MXNet's where crashes the process on an empty result)
        zero = None if scalar_y else (y == 0)
        if zero is not None:
            r = mnp.where(zero, mnp.full((), numpy.nan, dtype=r.dtype, ctx=r.ctx), r)
        elif numpy.asarray(y, dtype=r.dtype) == 0:  # (in the result's dtype: 1e-50 is 0 in float32)
            r = mnp.full(r.shape, numpy.nan, dtype=r.dtype, ctx=r.ctx)
    return r


# MXNet computes integer mod through doubles: int64 values beyond 2**53 come back rounded
for _name in ("remainder", "mod"):
    register_mxnet(_name, _remainder, binary_pred(NUMERIC - {I64}), meta_binary)


# bitwise ops: ints through MXNet's kernels; bools through arithmetic (MXNet's bool bitwise ops do not broadcast)
def _bitwise(int_name, bool_fn):
    def impl(x, y):
        if numpy.dtype(x.dtype) == BOOL:
            return bool_fn(B._mnp, x, y)
        return getattr(B._mnp, int_name)(x, y)

    impl.__name__ = int_name
    return impl


BITWISE = {
    "bitwise_and": lambda mnp, x, y: mnp.multiply(x, y),
    "bitwise_or": lambda mnp, x, y: mnp.add(x, y),
    "bitwise_xor": lambda mnp, x, y: mnp.not_equal(x, y),
}
for _name, _fn in BITWISE.items():
    register_mxnet(_name, _bitwise(_name, _fn), binary_pred(INTS | {BOOL}, scalars=False), meta_binary)


def _truth(x):
    return x if numpy.dtype(x.dtype) == BOOL else B._mnp.not_equal(x, 0)


LOGICAL = {
    "logical_and": lambda mnp, x, y: mnp.multiply(x, y),
    "logical_or": lambda mnp, x, y: mnp.add(x, y),
    "logical_xor": lambda mnp, x, y: mnp.not_equal(x, y),
}


def _logical(fn):
    def impl(x, y):
        return fn(B._mnp, _truth(x), _truth(y))

    return impl


for _name, _fn in LOGICAL.items():
    register_mxnet(_name, _logical(_fn), binary_pred(ALL, scalars=False), meta_compare)


# ---------------------------------------------------------------------------------------------- where, clip
def _where_pred(condition, *xy, **kwargs):
    """Three non-empty arrays, a bool condition and two branches of one dtype (the one-argument form is
    ``nonzero``). MXNet's where segfaults when an empty operand broadcasts against a size-1 one."""
    if kwargs or len(xy) != 2 or not _is_array(condition) or condition.dtype != BOOL or condition.size == 0:
        return False
    x, y = xy
    return (_is_array(x) and _is_array(y) and x.dtype == y.dtype and x.dtype in ALL
            and x.size != 0 and y.size != 0)


def _where(condition, x, y):
    return B._mnp.where(condition, x, y)


register_mxnet("where", _where, _where_pred)


def _clip_pred(a, a_min, a_max, out=None, **kwargs):
    """Scalar bounds (or None) that keep the array's dtype."""
    if out is not None or kwargs or not _is_array(a) or a.dtype not in _SCALAR_OK or a.ndim == 0:
        return False
    kinds = _SCALAR_OK[a.dtype]
    bounds = [b for b in (a_min, a_max) if b is not None]
    return bool(bounds) and all(type(b) in kinds for b in bounds)


# NumPy up to 1.24 ignores a NaN bound in clip; from 1.25 every element becomes NaN (as MXNet's maximum gives)
def _clip_ignores_nan() -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (NumPy 1.17-1.24 deprecate the NaN bound they ignore)
        return bool(numpy.clip(numpy.ones(1), numpy.nan, 2.0)[0] == 1.0)


_CLIP_IGNORES_NAN = _clip_ignores_nan()


def _clip(a, a_min, a_max, out=None):
    """NumPy's definition, minimum(maximum(a, a_min), a_max): MXNet's own clip differs when a_min > a_max.
    A NaN bound follows the installed NumPy (``_CLIP_IGNORES_NAN``)."""
    mnp = B._mnp
    r = a
    if a_min is not None and (a_min == a_min or not _CLIP_IGNORES_NAN):
        r = mnp.maximum(r, a_min)
    if a_max is not None and (a_max == a_max or not _CLIP_IGNORES_NAN):
        r = mnp.minimum(r, a_max)
    return r.copy() if r is a else r


register_mxnet("clip", _clip, _clip_pred, meta_unary)
