"""MXNet implementations: creation (zeros, full, arange, linspace, eye, ...), astype and copy.

MXNet defaults every creation dtype to float32, so each impl passes NumPy's dtype explicitly (float64 unless
``dtype=`` says otherwise; ``full`` and ``arange`` infer it from their Python arguments as NumPy does). Arrays go
to the current context. ``linspace`` is rebuilt from NumPy's own formula so float64 results match bit for bit.
"""
from __future__ import annotations

import operator

import numpy

from ... import context as _context
from ..backends import mxnet_backend as B
from ..registry import register_mxnet
from .shape import FLOATS, WITH_BOOL, arr, fits, full, ints, is_, is_int, no_kwargs, safe_scalar

_D = numpy.dtype
_F64 = _D("float64")
_NUMS = (int, float)


def _ctx():
    return _context.current_context().as_mxnet()


def _dtype(dtype, default=_F64):
    """The NumPy dtype a ``dtype=`` argument names, or None when it is not one MXNet stores."""
    if dtype is None:
        return default
    try:
        d = numpy.dtype(dtype)
    except TypeError:
        return None
    return d if d in WITH_BOOL else None


def _scalar_kind_ok(v, d) -> bool:
    """Python fill value of a kind that casts to ``d`` the same way in both libraries (values are checked in
    the impl): bools anywhere, ints into ints and floats, floats into floats only."""
    t = type(v)
    return t is bool or (t is int and d.kind in "iuf") or (t is float and d in FLOATS)


def _fill_dtype(v):
    return numpy.dtype(type(v)) if type(v) in (bool, int, float) else None


# ------------------------------------------------------------------------------------------ impls
def _maker(fn_name):
    def impl(shape, dtype=None, order="C", **kw):
        return getattr(B._mnp, fn_name)(shape, dtype=_dtype(dtype), ctx=_ctx())

    return impl


def _wrapped(value, d):
    """The value NumPy stores: ``full`` copies with unsafe casting, so an int out of the dtype's range wraps
    (``full((), -1, dtype=uint8)`` is 255). MXNet trap: its fill value travels as a double and is cast in C
    (``full(2, 2**40, dtype=int32)`` gives INT_MIN, not NumPy's 0), so take NumPy's answer from a 0-d host
    array. Raising here instead would fall back, and the cached decision would then send every later call
    of the signature to NumPy. An int beyond int64 raises OverflowError: NumPy then decides."""
    return value if fits(value, d) else numpy.full((), value, d).item()


def _full(shape, fill_value, dtype=None, order="C", **kw):
    d = _dtype(dtype, _fill_dtype(fill_value))
    return full(shape, _wrapped(fill_value, d), d, _ctx())


def _like(fn_name):
    def impl(a, dtype=None, order="K", subok=True, shape=None):
        return getattr(B._mnp, fn_name)(a, dtype=_dtype(dtype, numpy.dtype(a.dtype)))

    return impl


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    d = _dtype(dtype, numpy.dtype(a.dtype))
    return full(a.shape, _wrapped(fill_value, d), d, a.ctx)


def _arange(start, stop=None, step=None, dtype=None, **kw):
    d = _dtype(dtype, numpy.dtype(numpy.int64))
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if step == 0:
        raise ZeroDivisionError("division by zero")
    return B._mnp.arange(start, stop, step, dtype=d, ctx=_ctx())


def _linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """NumPy's formula: ``arange(num) * step + start`` in float64, last point set to ``stop``, then cast."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = float(start), float(stop)
    div = num - 1 if endpoint else num
    delta = stop - start
    ctx = _ctx()
    y = B._mnp.arange(0, num, dtype=_F64, ctx=ctx)
    if div > 0:
        step = delta / div
        y = y / div * safe_scalar(delta, ctx=ctx) if step == 0 else y * safe_scalar(step, ctx=ctx)
    else:
        y = y * safe_scalar(delta, ctx=ctx)
    y = y + safe_scalar(start, ctx=ctx)
    if endpoint and num > 1:
        y[-1] = safe_scalar(stop, ctx=ctx)
    d = _dtype(dtype)
    return y if d == _F64 else y.astype(d)


def _eye(N, M=None, k=0, dtype=float, order="C", **kw):
    return B._mnp.eye(N, M, k, dtype=_dtype(dtype), ctx=_ctx())


def _identity(n, dtype=None, **kw):
    return B._mnp.eye(n, dtype=_dtype(dtype), ctx=_ctx())


def _tri(N, M=None, k=0, dtype=float, **kw):
    d = _dtype(dtype)
    ones = B._mnp.ones((N, N if M is None else M), dtype=d, ctx=_ctx())
    return B._mnp.tril(ones, k)


def _meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    m = B._mnp
    xs = [m.reshape(x, (-1,)) for x in xi]
    n = len(xs)
    sizes = [x.shape[0] for x in xs]
    if indexing == "xy" and n > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, x in enumerate(xs):
        dim = 1 - i if indexing == "xy" and n > 1 and i < 2 else i
        shape = [1] * n
        shape[dim] = x.shape[0]
        out.append(m.broadcast_to(x.reshape(tuple(shape)), tuple(sizes)).copy())
    return out


def _astype(a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    return a.astype(_dtype(dtype), copy=True)


def _copy(a, order="K", subok=False):
    return a.copy()


# ------------------------------------------------------------------------------------------ predicates
def _order_c(v):
    return v in ("C", "K", "A")


def _p_maker(shape, dtype=float, order="C", **kw):
    return ints(shape) and _dtype(dtype) is not None and order == "C" and no_kwargs(kw, like=is_(None))


def _p_full(shape, fill_value, dtype=None, order="C", **kw):
    d = _dtype(dtype, _fill_dtype(fill_value))
    return (ints(shape) and d is not None and _scalar_kind_ok(fill_value, d) and order == "C"
            and no_kwargs(kw, like=is_(None)))


def _p_like(a, dtype=None, order="K", subok=True, shape=None):
    return arr(a, WITH_BOOL) and _dtype(dtype, a.dtype) is not None and _order_c(order) and shape is None


def _p_full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    d = _dtype(dtype, a.dtype) if arr(a, WITH_BOOL) else None
    return d is not None and _scalar_kind_ok(fill_value, d) and _order_c(order) and shape is None


_ARANGE_DTYPES = frozenset(_D(t) for t in ("int32", "int64", "float32", "float64"))


def _p_arange(start, stop=None, step=None, dtype=None, **kw):
    # float arguments: NumPy fills from (start, start + step) with its own rounding; only exact integer ranges
    return (is_int(start) and (stop is None or is_int(stop)) and (step is None or is_int(step))
            and _dtype(dtype, _D("int64")) in _ARANGE_DTYPES and no_kwargs(kw, like=is_(None)))


# a frozenset, not a tuple: ``None in (dtype, ...)`` is True (NumPy compares None equal to float64)
_LINSPACE_DTYPES = frozenset((_F64, _D("float32")))


def _p_linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    return (type(start) in _NUMS and type(stop) in _NUMS and is_int(num) and type(endpoint) is bool
            and retstep is False and _dtype(dtype) in _LINSPACE_DTYPES and axis == 0)


def _p_eye(N, M=None, k=0, dtype=float, order="C", **kw):
    d = _dtype(dtype)
    return (is_int(N) and (M is None or is_int(M)) and is_int(k) and d is not None and d.kind != "b"
            and order == "C" and no_kwargs(kw, like=is_(None)))


def _p_identity(n, dtype=None, **kw):
    return _p_eye(n, dtype=float if dtype is None else dtype, **kw)


def _p_tri(N, M=None, k=0, dtype=float, **kw):
    return _p_eye(N, M, k, dtype, **kw)


def _p_meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if not xi or not all(arr(x, WITH_BOOL - {_D(bool)}) for x in xi):
        return False
    d = xi[0].dtype
    return all(x.dtype == d for x in xi) and copy is True and sparse is False and indexing in ("xy", "ij")


def _p_astype(a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    d = _dtype(dtype, None) if dtype is not None else None
    if not arr(a, WITH_BOOL) or d is None or casting != "unsafe" or copy is not True or not _order_c(order):
        return False
    # float -> int/bool of NaN, inf or out-of-range values is undefined in C: both libraries may differ
    return a.dtype.kind != "f" or d.kind == "f"


def _p_copy(a, order="K", subok=False):
    return arr(a, WITH_BOOL) and _order_c(order) and subok is False


def _p_ndcopy(a, order="C"):
    return arr(a, WITH_BOOL) and _order_c(order)


TABLE = [
    ("zeros", _maker("zeros"), _p_maker),
    ("ones", _maker("ones"), _p_maker),
    ("empty", _maker("zeros"), _p_maker),  # any contents are valid for empty; zeros are deterministic
    ("full", _full, _p_full),
    ("zeros_like", _like("zeros_like"), _p_like),
    ("ones_like", _like("ones_like"), _p_like),
    ("empty_like", _like("zeros_like"), _p_like),
    ("full_like", _full_like, _p_full_like),
    ("arange", _arange, _p_arange),
    ("linspace", _linspace, _p_linspace),
    ("eye", _eye, _p_eye),
    ("identity", _identity, _p_identity),
    ("tri", _tri, _p_tri),
    ("meshgrid", _meshgrid, _p_meshgrid),
    ("ndarray.astype", _astype, _p_astype),
    ("ndarray.copy", lambda a, order="C": a.copy(), _p_ndcopy),
    ("copy", _copy, _p_copy),
]

for _name, _impl, _pred in TABLE:
    register_mxnet(_name, _impl, _pred)
