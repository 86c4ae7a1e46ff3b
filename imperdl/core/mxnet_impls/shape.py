"""MXNet implementations: shape and data-movement ops (reshape, transpose, stacking, splitting, pad, sort, take).

Predicates are shared and compact: an op runs on MXNet only for array dtypes MXNet handles for it (most of
MXNet's layout kernels reject bool, sort kernels reject float16, and NaN ordering differs from NumPy's for
float sorts), integer-kind axis/shape arguments, and no keyword MXNet does not honour. ``mx.np``'s reshape and
transpose return fresh arrays (measured: only basic getitem aliases), so no impl here hands back an alias.
"""
from __future__ import annotations

import operator

import numpy

from ..array import Array
from ..backends import mxnet_backend as B
from ..numpy_compat import normalize_axis_tuple
from ..registry import register_mxnet

_D = numpy.dtype
FLOATS = frozenset(_D(t) for t in ("float16", "float32", "float64"))
INTS = frozenset(_D(t) for t in ("int8", "uint8", "int32", "int64"))
DATA = FLOATS | INTS  # what MXNet's layout kernels take
WITH_BOOL = DATA | {_D(bool)}  # reshape-like kernels also take bool
SORTABLE = INTS  # float sorts: MXNet orders NaN differently
_ARRAYS = (Array, numpy.ndarray)


# ------------------------------------------------------------------------------------------ shared predicates
def arr(x, dtypes=DATA, min_ndim=0, max_ndim=64) -> bool:
    """An imperdl/NumPy array of an accepted dtype and rank."""
    return type(x) in _ARRAYS and x.dtype in dtypes and min_ndim <= x.ndim <= max_ndim


def is_int(v) -> bool:
    """A Python or NumPy integer (not bool)."""
    return (type(v) is int) or isinstance(v, numpy.integer)


def ints(v, allow_int=True) -> bool:
    """An int (when ``allow_int``) or a tuple/list of ints."""
    if allow_int and is_int(v):
        return True
    return type(v) in (tuple, list) and all(is_int(e) for e in v)


def axis_arg(v, none=True, seq=False) -> bool:
    """An axis argument: int, optionally None, optionally a tuple of ints."""
    return (none and v is None) or is_int(v) or (seq and type(v) in (tuple, list) and all(is_int(e) for e in v))


def seq_same(xs, dtypes=DATA, min_ndim=0) -> bool:
    """A non-empty tuple/list of arrays sharing one accepted dtype (MXNet does not promote across them)."""
    if type(xs) not in (tuple, list) or not xs or not all(arr(x, dtypes, min_ndim) for x in xs):
        return False
    d = xs[0].dtype
    return all(x.dtype == d for x in xs)


def no_kwargs(kwargs, **allowed) -> bool:
    """Every keyword is one we handle, with its accepted value(s)."""
    for k, v in kwargs.items():
        ok = allowed.get(k)
        if ok is None or not ok(v):
            return False
    return True


def is_(*values):
    """Accepts exactly these values (None, strings, bools)."""
    return lambda v: any(v is w or (type(v) is str and v == w) for w in values)


def mnp():
    return B._mnp


def _tup(v):
    return tuple(int(e) for e in v) if type(v) in (tuple, list) else operator.index(v)


def check_axes(v, ndim: int, what: str = "axis") -> tuple:
    """``v`` (an int or a sequence of ints) as non-negative axes of an ``ndim``-d array, checked as NumPy checks
    them (AxisError out of range, ValueError for a repeat). Every impl here that takes an axis validates it
    through this: MXNet reads an out-of-range axis outside its buffers (``moveaxis(ones(2), -3, -1)`` killed the
    process) or accepts what NumPy rejects. Signatures do not hold axis values, so this runs per call, in the
    impl; raising sends the call to NumPy, whose exception the user sees."""
    return normalize_axis_tuple(_tup(v), ndim, what)


# ------------------------------------------------------------------------------------------ impls
def _reshape(a, newshape, order="C"):
    if order == "F":  # Fortran order is C order of the reversed axes
        return mnp().transpose(mnp().reshape(mnp().transpose(a), _tup(newshape)[::-1]))
    return mnp().reshape(a, _tup(newshape))


def _transpose(a, axes=None):
    if axes is not None:
        axes = check_axes(axes, a.ndim)
        if len(axes) != a.ndim:
            raise ValueError("axes don't match array")
    return mnp().transpose(a, axes)


def _flatten(a, order="C"):
    return mnp().reshape(mnp().transpose(a) if order == "F" else a, (-1,))


def _squeeze(a, axis=None):
    if axis is not None:
        axis = check_axes(axis, max(a.ndim, 1))  # NumPy lets a 0-d array "squeeze" axis 0 (or -1)
    return mnp().squeeze(a, axis if a.ndim else None)


def _moveaxis(a, source, destination):
    source, destination = check_axes(source, a.ndim, "source"), check_axes(destination, a.ndim, "destination")
    if len(source) != len(destination):
        raise ValueError("`source` and `destination` arguments must have the same number of elements")
    return mnp().moveaxis(a, source, destination)


def _swapaxes(a, axis1, axis2):
    return mnp().swapaxes(a, check_axes(axis1, a.ndim)[0], check_axes(axis2, a.ndim)[0])


def _expand_dims(a, axis):
    return mnp().expand_dims(a, check_axes(axis, a.ndim + 1)[0])


def _roll(a, shift, axis=None):
    if axis is not None:
        axis = _tup(axis)
        for e in axis if type(axis) is tuple else (axis,):  # NumPy allows an axis twice here (shifts add up)
            check_axes(e, a.ndim)
    return mnp().roll(a, _tup(shift), axis)


def _concatenate(arrays, axis=0):
    return mnp().concatenate(list(arrays), axis=axis)


def _split_impl(divisible):
    """NumPy's split semantics: a count (must divide when ``divisible``) or cut points of any value."""

    def impl(ary, indices_or_sections, axis=0):
        m = mnp()
        nd = ary.ndim
        axis = operator.index(axis)
        if not -nd <= axis < nd:
            raise numpy.AxisError(axis, nd)
        axis %= nd
        n = ary.shape[axis]
        ios = indices_or_sections
        if type(ios) not in (list, tuple):
            k = operator.index(ios)
            if k <= 0:
                raise ValueError("number sections must be larger than 0.")
            if n % k == 0:
                return list(m.split(ary, k, axis=axis))
            if divisible:
                raise ValueError("array split does not result in an equal division")
            q, r = divmod(n, k)
            cuts = [i * (q + 1) if i <= r else r * (q + 1) + (i - r) * q for i in range(1, k)]
        else:
            cuts = [slice(operator.index(c), None).indices(n)[0] for c in ios]
        if all(a <= b for a, b in zip(cuts, cuts[1:])):
            return list(m.split(ary, cuts, axis=axis)) if cuts else [ary.copy()]
        bounds = [0] + cuts + [n]
        pieces = []
        for st, en in zip(bounds[:-1], bounds[1:]):
            key = (slice(None),) * axis + (slice(st, max(st, en)),)
            pieces.append(ary[key].copy())  # slices on axis 0 alias the input in MXNet
        return pieces

    return impl


def _axis_split(axis):
    base = _split_impl(True)

    def impl(ary, indices_or_sections):
        return base(ary, indices_or_sections, 0 if axis == 1 and ary.ndim == 1 else axis)

    return impl


_TINY = 2.2250738585072014e-308


def safe_scalar(v, dtype="float64", ctx=None):
    """MXNet passes scalars as text with 15 significant digits and rejects subnormal doubles ("Out of range
    value"): a float that text cannot carry exactly becomes a 0-d array (exact, via the host); every other scalar
    is returned unchanged."""
    if (type(v) is float or isinstance(v, numpy.floating)) and v != 0.0 and (
            abs(v) < _TINY or float(f"{v:.15g}") != v):
        return B._mnp.array(v, dtype=dtype, ctx=ctx)
    return v


def full(shape, value, dtype, ctx):
    """``mx.np.full`` that also takes subnormal fill values, and int64 ones beyond 2**53 (MXNet trap: the fill
    value travels as a double, so ``full(s, 2**53 + 1, int64)`` gives 2**53): those go through the host exactly."""
    v = safe_scalar(value, dtype, ctx)
    if type(v) is int and abs(v) > 2 ** 53:
        v = B._mnp.array(numpy.array(v, dtype=dtype), dtype=dtype, ctx=ctx)
    if type(v) is B.ndarray:
        return B._mnp.broadcast_to(v, shape).copy()
    return B._mnp.full(shape, value, dtype=dtype, ctx=ctx)


def fits(value, dtype) -> bool:
    """A Python number NumPy would store in ``dtype`` without wrapping or an undefined cast."""
    if dtype.kind in "iu":
        if type(value) is float and not (value == value and abs(value) < 2.0 ** 62):
            return False
        info = numpy.iinfo(dtype)
        return info.min <= int(value) <= info.max
    return True


def _pad(array, pad_width, mode="constant", constant_values=0):
    """``mx.np.pad`` only takes a tuple per axis, only ranks >= 2, and ignores ``constant_values``: build
    constant padding ourselves (full + slice assignment) and lift 1-d arrays to 2-d for the other modes."""
    m = mnp()
    nd = array.ndim
    pw = numpy.broadcast_to(numpy.asarray(pad_width, dtype=numpy.int64), (nd, 2)).tolist()
    if any(w < 0 for row in pw for w in row):
        raise ValueError("index can't contain negative values")
    if mode == "constant":
        if not fits(constant_values, numpy.dtype(array.dtype)):
            raise ValueError("constant_values does not fit the array's dtype exactly")
        shape = tuple(s + a + b for s, (a, b) in zip(array.shape, pw))
        out = full(shape, constant_values, array.dtype, array.ctx)
        if array.size:
            out[tuple(slice(a, a + s) for s, (a, _) in zip(array.shape, pw))] = array
        return out
    if nd == 1:
        return m.pad(array.reshape(1, -1), ((0, 0), tuple(pw[0])), mode=mode).reshape(-1)
    return m.pad(array, tuple(tuple(r) for r in pw), mode=mode)


def _take(a, indices, axis=None, mode="raise"):
    m = mnp()
    n = a.size if axis is None else a.shape[operator.index(axis)]
    idx = m.where(indices < 0, indices + n, indices) if indices.size else indices
    return m.take(a, idx, axis=axis)


def _triu(m_, k=0):
    m = mnp()
    x = m_ if m_.ndim >= 2 else m.broadcast_to(m_, (m_.shape[0], m_.shape[0]))
    rows, cols = x.shape[-2:]
    below = m.tril(m.ones((rows, cols), dtype="float32", ctx=x.ctx), operator.index(k) - 1)
    return m.where(below, m.zeros((), dtype=x.dtype, ctx=x.ctx), x)


def _tril(m_, k=0):
    m = mnp()
    x = m_ if m_.ndim >= 2 else m.broadcast_to(m_, (m_.shape[0], m_.shape[0]))
    return m.tril(x, operator.index(k))


def _flip_axes(x, axes):
    """Reverse ``axes`` with one negative-step slice (``mx.np.flip`` fails on some size-1 axes; a reversed
    slice never aliases its input)."""
    axes = normalize_axis_tuple(tuple(range(x.ndim)) if axes is None else _tup(axes), x.ndim)
    return x[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim))]


def _repeat(a, repeats, axis=None):
    """``mx.np.repeat`` with zero repeats drops the other axes, and with a zero-size input fails a shape check:
    build those empty results directly."""
    n = operator.index(repeats)
    if a.size == 0 and n > 0:
        if axis is None:
            return mnp().zeros((0,), dtype=a.dtype)
        ax = normalize_axis_tuple(_tup(axis), a.ndim)[0]
        return mnp().zeros(a.shape[:ax] + (a.shape[ax] * n,) + a.shape[ax + 1:], dtype=a.dtype)
    if n == 0:
        if axis is None:
            return mnp().reshape(a, (-1,))[0:0]
        ax = normalize_axis_tuple(_tup(axis), a.ndim)[0]
        return a[(slice(None),) * ax + (slice(0, 0),)].copy()
    return mnp().repeat(a, repeats, axis)


def _atleast(fn_name):
    def impl(*arys):
        f = getattr(mnp(), fn_name)
        return f(arys[0]) if len(arys) == 1 else [f(a) for a in arys]  # MXNet fails on mixed dtypes

    return impl


def _sort(a, axis=-1, kind=None, order=None):
    return mnp().sort(a, axis=axis)


def _argsort(a, axis=-1, kind=None, order=None):
    return mnp().argsort(a, axis=axis)


def _call(fn_name, *drop):
    """Forward to ``mx.np.<fn_name>``, dropping keywords MXNet lacks (the predicate vetted their values)."""

    def impl(*args, **kwargs):
        for k in drop:
            kwargs.pop(k, None)
        return getattr(mnp(), fn_name)(*args, **kwargs)

    return impl


# ------------------------------------------------------------------------------------------ predicates
def _p_reshape(a, newshape, order="C"):
    return arr(a, WITH_BOOL) and ints(newshape) and order in ("C", "F")


def _p_transpose(a, axes=None):
    return arr(a) and (axes is None or ints(axes, allow_int=False))


def _p_swapaxes(a, axis1, axis2):
    return arr(a, min_ndim=1) and is_int(axis1) and is_int(axis2)


def _p_moveaxis(a, source, destination):
    return arr(a, min_ndim=1) and ints(source) and ints(destination)


def _p_squeeze(a, axis=None):
    return arr(a, WITH_BOOL) and axis_arg(axis, seq=True)


def _p_expand_dims(a, axis):
    return arr(a, WITH_BOOL) and is_int(axis)


def _p_ravel(a, order="C"):
    return arr(a, WITH_BOOL) and order in ("C", "F")


def _p_flip(m, axis=None):
    return arr(m, min_ndim=1) and axis_arg(axis, seq=True)


def _p_fliplr(m):
    return arr(m, min_ndim=2)


def _p_flipud(m):
    return arr(m, min_ndim=1)


def _p_roll(a, shift, axis=None):
    return arr(a, min_ndim=1) and ints(shift) and axis_arg(axis, seq=True)


def _p_tile(A, reps):
    return arr(A) and ints(reps)


def _p_repeat(a, repeats, axis=None):
    return arr(a) and is_int(repeats) and axis_arg(axis)


def _p_broadcast_to(array, shape, subok=False):
    return arr(array) and ints(shape) and subok is False


def _p_concatenate(arrays, axis=0, **kw):
    return seq_same(arrays, min_ndim=1) and axis_arg(axis) and no_kwargs(kw, dtype=is_(None), casting=is_("same_kind"))


def _p_stack(arrays, axis=0, **kw):
    return seq_same(arrays) and is_int(axis) and no_kwargs(kw, dtype=is_(None), casting=is_("same_kind"))


def _p_tup(tup, **kw):
    return seq_same(tup) and no_kwargs(kw, dtype=is_(None), casting=is_("same_kind"))


def _p_split(ary, indices_or_sections, axis=0):
    return arr(ary, min_ndim=1) and ints(indices_or_sections) and is_int(axis)


def _p_split_min(min_ndim):
    def pred(ary, indices_or_sections):
        return arr(ary, min_ndim=min_ndim) and ints(indices_or_sections)

    return pred


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "maximum", "minimum")


def _pad_width_ok(pw) -> bool:
    if is_int(pw):
        return True
    if type(pw) not in (tuple, list) or not pw:
        return False
    return all(is_int(e) for e in pw) or all(type(e) in (tuple, list) and ints(e, allow_int=False) for e in pw)


def _p_pad(array, pad_width, mode="constant", **kw):
    if not arr(array, min_ndim=1) or not _pad_width_ok(pad_width) or mode not in _PAD_MODES:
        return False
    if mode == "constant":
        cv = kw.get("constant_values", 0)
        return set(kw) <= {"constant_values"} and type(cv) in (int, float) and (
            type(cv) is int or array.dtype in FLOATS)
    return not kw and array.size != 0


def _p_diag(v, k=0):
    return arr(v, min_ndim=1, max_ndim=2) and is_int(k)


def _p_diagonal(a, offset=0, axis1=0, axis2=1):
    return arr(a, min_ndim=2) and is_int(offset) and is_int(axis1) and is_int(axis2)


def _p_tri_lu(m, k=0):
    return arr(m, min_ndim=1) and is_int(k) and m.size != 0  # MXNet's where segfaults on empty operands


def _p_atleast(*arys):
    return bool(arys) and all(arr(a) for a in arys)


def _p_sort(a, axis=-1, kind=None, order=None):
    return arr(a, SORTABLE, min_ndim=1) and axis_arg(axis) and order is None and (
        kind is None or kind in ("quicksort", "mergesort", "heapsort", "stable"))


def _p_argsort(a, axis=-1, kind=None, order=None):
    # ties: NumPy's default quicksort order is unspecified; MXNet's is stable (measured) only up to 16 elements
    # along the axis (from 17 on it reverses ties), so only stable kinds and sizes below 16 (one size class of
    # the signature, so the cached decision holds for every call that shares it)
    return (arr(a, SORTABLE, min_ndim=1) and a.size < 16 and axis_arg(axis) and order is None
            and kind in ("stable", "mergesort"))


def _p_take(a, indices, axis=None, out=None, mode="raise"):
    return (arr(a) and arr(indices, {_D("int32"), _D("int64")}, max_ndim=1) and axis_arg(axis) and out is None
            and mode == "raise" and (axis is not None or a.ndim >= 1))


# ------------------------------------------------------------------------------------------ the table
TABLE = [
    ("reshape", _reshape, _p_reshape),
    ("transpose", _transpose, _p_transpose),
    ("swapaxes", _swapaxes, _p_swapaxes),
    ("moveaxis", _moveaxis, _p_moveaxis),
    ("squeeze", _squeeze, _p_squeeze),
    ("expand_dims", _expand_dims, _p_expand_dims),
    ("ravel", _flatten, _p_ravel),
    ("ndarray.flatten", _flatten, _p_ravel),
    ("flip", lambda m, axis=None: _flip_axes(m, axis), _p_flip),
    ("fliplr", lambda m: _flip_axes(m, 1), _p_fliplr),
    ("flipud", lambda m: _flip_axes(m, 0), _p_flipud),
    ("roll", _roll, _p_roll),
    ("tile", lambda A, reps: mnp().tile(A, _tup(reps)), _p_tile),
    ("repeat", _repeat, _p_repeat),
    ("broadcast_to", lambda array, shape, subok=False: mnp().broadcast_to(array, _tup(shape)), _p_broadcast_to),
    ("concatenate", _call("concatenate", "dtype", "casting"), _p_concatenate),
    ("stack", _call("stack", "dtype", "casting"), _p_stack),
    ("vstack", _call("vstack", "dtype", "casting"), _p_tup),
    ("hstack", _call("hstack", "dtype", "casting"), _p_tup),
    ("dstack", _call("dstack"), _p_tup),
    ("column_stack", _call("column_stack"), _p_tup),
    ("split", _split_impl(True), _p_split),
    ("array_split", _split_impl(False), _p_split),
    ("hsplit", _axis_split(1), _p_split_min(1)),
    ("vsplit", _axis_split(0), _p_split_min(2)),
    ("dsplit", _axis_split(2), _p_split_min(3)),
    ("pad", _pad, _p_pad),
    ("diag", _call("diag"), _p_diag),
    ("diagonal", _call("diagonal"), _p_diagonal),
    ("tril", _tril, _p_tri_lu),
    ("triu", _triu, _p_tri_lu),
    ("atleast_1d", _atleast("atleast_1d"), _p_atleast),
    ("atleast_2d", _atleast("atleast_2d"), _p_atleast),
    ("atleast_3d", _atleast("atleast_3d"), _p_atleast),
    ("sort", _sort, _p_sort),
    ("argsort", _argsort, _p_argsort),
    ("take", _take, _p_take),
]

for _name, _impl, _pred in TABLE:
    register_mxnet(_name, _impl, _pred)
