"""MXNet implementations: reductions (sum, mean, prod, max/min, argmax/argmin, std/var, all/any, cumsum, average).

One predicate for the family, parameterised by the dtypes each name takes. Guards and why (measured):
- empty inputs are declined: MXNet raises, returns 0 instead of NaN (mean) or fails to raise where NumPy
  does (max of an empty axis);
- NumPy widens integer reductions (sum/prod/cumsum of int32 or bool give int64, mean of ints gives float64);
  MXNet keeps int32 / gives float32, so the impls pass NumPy's result dtype explicitly;
- ``dtype=`` is accepted only when it names the dtype NumPy would give anyway; ``out``, ``initial``, ``where``
  are declined; argmax/argmin with ``keepdims`` are declined (MXNet lacks it), bool argmax raises there;
- ``mxnet.numpy``'s float sum/mean are compensated and give NaN for ``[inf, 1]``: the legacy kernels run them;
- MXNet's cumsum rejects negative axes and none of them reject repeated axes, so each impl checks the axis
  itself and raises NumPy's error type: the dispatcher then lets NumPy report the genuine error.
NaN propagation in max/min/argmax/argmin and float16 max/min were checked equal to NumPy's.
"""
from __future__ import annotations

import numpy

from ..array import Array
from ..backends import mxnet_backend as B
from ..registry import register_mxnet

_dt = numpy.dtype
F16, F32, F64 = _dt("float16"), _dt("float32"), _dt("float64")
I8, U8, I32, I64, BOOL = _dt("int8"), _dt("uint8"), _dt("int32"), _dt("int64"), _dt("bool")
_ARRAYS = (Array, numpy.ndarray)
_NO_VALUE = numpy._NoValue


def _widened(dt):
    """NumPy's result dtype for sum/prod/cumsum: small ints and bool accumulate in int64."""
    return I64 if dt.kind in "biu" and dt != I64 else dt


def _floating(dt):
    """NumPy's result dtype for mean/std/var/average: ints and bool give float64."""
    return dt if dt.kind == "f" else F64


def _axis_ok(axis, allow_tuple=True) -> bool:
    if axis is None or type(axis) is int:
        return True
    return allow_tuple and type(axis) is tuple and all(type(a) is int for a in axis)


def _norm_axis(axis, ndim):
    """Normalise an axis argument like NumPy does, raising its error types for bad axes."""
    if axis is None:
        return None
    axes = axis if type(axis) is tuple else (axis,)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise numpy.AxisError(a, ndim)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return tuple(out) if type(axis) is tuple else out[0]


def _check(a, axis, dtype, out, keepdims, dtypes, result_dtype) -> bool:
    """The shared test: a non-empty array of ``dtypes``, a plain axis, ``dtype=`` naming NumPy's own result dtype."""
    if not isinstance(a, _ARRAYS) or a.dtype not in dtypes or a.size == 0 or out is not None:
        return False
    if not _axis_ok(axis) or (keepdims is not _NO_VALUE and type(keepdims) is not bool):
        return False
    return dtype is None or numpy.dtype(dtype) == result_dtype(a.dtype)


def sum_pred(dtypes, result_dtype):
    """``sum``/``prod``/``mean`` calls: (a, axis, dtype, out, keepdims); ``initial``/``where`` declined."""
    def pred(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, **kwargs):
        return not kwargs and _check(a, axis, dtype, out, keepdims, dtypes, result_dtype)

    return pred


def _ddof_pred(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NO_VALUE, **kwargs):
    """``std``/``var`` calls on floats, with an int ``ddof``."""
    return not kwargs and type(ddof) is int and _check(a, axis, dtype, out, keepdims, {F32, F64}, _floating)


# ---------------------------------------------------------------------------------------------- sum-like
def _reduced_shape(shape, axis, keepdims):
    axes = range(len(shape)) if axis is None else axis if type(axis) is tuple else (axis,)
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _legacy_sum(name, a, axis, keepdims):
    """sum/mean through the legacy operator: ``mxnet.numpy``'s float sum is compensated (Kahan) and turns
    ``inf + 1`` into NaN; the legacy kernel adds plainly, like NumPy."""
    shape = _reduced_shape(a.shape, axis, keepdims)
    if axis == () or a.ndim == 0:
        return a.reshape(shape).copy() if name == "sum" else (a / 1).reshape(shape)
    op = getattr(B._mx.nd, name)
    nd = a.as_nd_ndarray()
    out = op(nd, keepdims=keepdims) if axis is None else op(nd, axis=axis, keepdims=keepdims)
    return out.as_np_ndarray().reshape(shape)


def _accumulating(name, result_dtype):
    """sum/prod/mean: NumPy's result dtype made explicit (a cast first when it widens)."""
    def impl(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE):
        rd = result_dtype(numpy.dtype(a.dtype))
        axis = _norm_axis(axis, a.ndim)
        if rd != numpy.dtype(a.dtype):
            a = a.astype(rd)
        if name != "prod":
            return _legacy_sum(name, a, axis, keepdims is True)
        return B._mnp.prod(a, axis=axis, keepdims=keepdims is True)

    impl.__name__ = name
    return impl


def _moment(name):
    def impl(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NO_VALUE):
        axis = _norm_axis(axis, a.ndim)
        kd = keepdims is True
        axes = range(a.ndim) if axis is None else axis if type(axis) is tuple else (axis,)
        n = int(numpy.prod([a.shape[i] for i in axes], dtype=numpy.int64))
        if n - ddof > 0:
            return getattr(B._mnp, name)(a, axis=axis, ddof=ddof, keepdims=kd)
        # MXNet trap: with ddof >= N it divides by N - ddof unclamped (a tiny or negative-divisor answer) and
        # returns 0 for 0-d inputs; NumPy divides the squared deviations by max(N - ddof, 0): inf, or NaN
        # where they are all 0. The ddof=0 variance is 0 where they are (both compute the mean first), so
        # dividing it by 0 gives NumPy's answer.
        res = B._mnp.var(a, axis=axis, keepdims=kd) / 0.0
        return B._mnp.sqrt(res) if name == "std" else res

    impl.__name__ = name
    return impl


SUMS = {"sum": _widened, "prod": _widened, "mean": _floating}
for _name, _rd in SUMS.items():
    register_mxnet(_name, _accumulating(_name, _rd), sum_pred({F32, F64, I32, I64, BOOL}, _rd))
for _name in ("std", "var"):
    register_mxnet(_name, _moment(_name), _ddof_pred)


def _same(dt):
    return dt


def _ordering_pred(dtypes):
    """max/min/all/any: ``f(a, axis, out, keepdims)`` (no dtype argument, no initial/where)."""
    def pred(a, axis=None, out=None, keepdims=_NO_VALUE, **kwargs):
        return not kwargs and _check(a, axis, None, out, keepdims, dtypes, _same)

    return pred


def _ordering(name):
    def impl(a, axis=None, out=None, keepdims=_NO_VALUE):
        return getattr(B._mnp, name)(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims is True)

    impl.__name__ = name
    return impl


_MAXMIN_DTYPES = {F16, F32, F64, I8, U8, I32, I64, BOOL}
for _name, _mx in (("max", "max"), ("amax", "max"), ("min", "min"), ("amin", "min")):
    register_mxnet(_name, _ordering(_mx), _ordering_pred(_MAXMIN_DTYPES))
for _name in ("all", "any"):
    register_mxnet(_name, _ordering(_name), _ordering_pred(_MAXMIN_DTYPES))


def _arg_pred(a, axis=None, out=None, **kwargs):
    """argmax/argmin: no keepdims (MXNet lacks it), int axis (not on 0-d, which NumPy oddly allows), no bool."""
    if kwargs or out is not None or not isinstance(a, _ARRAYS) or a.size == 0 or (a.ndim == 0 and axis is not None):
        return False
    return a.dtype in {F16, F32, F64, I8, U8, I32, I64} and (axis is None or type(axis) is int)


def _arg(name):
    def impl(a, axis=None, out=None):
        return getattr(B._mnp, name)(a, axis=_norm_axis(axis, a.ndim))

    impl.__name__ = name
    return impl


for _name in ("argmax", "argmin"):
    register_mxnet(_name, _arg(_name), _arg_pred)


def _cumsum_pred(a, axis=None, dtype=None, out=None):
    if not isinstance(a, _ARRAYS) or a.dtype not in {F32, F64, I32, I64, BOOL} or a.size == 0 or out is not None:
        return False
    return (axis is None or type(axis) is int) and (dtype is None or numpy.dtype(dtype) == _widened(a.dtype))


def _cumsum(a, axis=None, dtype=None, out=None):
    """MXNet's cumsum rejects negative axes: normalise them. MXNet trap: it cannot infer a shape for a 0-d
    input (with or without ``axis``); NumPy treats 0-d as 1-d of length 1 (axis 0 or -1 valid), so lift it."""
    if a.ndim == 0:
        a = a.reshape((1,))
    return B._mnp.cumsum(a, axis=_norm_axis(axis, a.ndim), dtype=_widened(numpy.dtype(a.dtype)))


register_mxnet("cumsum", _cumsum, _cumsum_pred)


def _average_pred(a, axis=None, weights=None, returned=False, **kwargs):
    """Unweighted, not ``returned``, no keepdims: then it is a float mean."""
    if kwargs or weights is not None or returned is not False:
        return False
    return isinstance(a, _ARRAYS) and a.dtype in {F32, F64} and a.size > 0 and _axis_ok(axis)


def _average(a, axis=None, weights=None, returned=False):
    return _legacy_sum("mean", a, _norm_axis(axis, a.ndim), False)


register_mxnet("average", _average, _average_pred)
