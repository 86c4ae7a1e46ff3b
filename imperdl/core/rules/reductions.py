"""Gradient rules: reductions (sum, mean, prod, extrema, moments, cumulative ops, trace, average).

Rules see the call's own arguments (``axis`` None/int/tuple/negative, ``keepdims``, ``ddof`` ...) and spread
``g`` back over the reduced axes. ``prod`` and ``cumprod`` stay exact when the input holds zeros (dividing by
``x`` would give NaN there), and extrema split ``g`` evenly among tied winners, as NumPy-autograd does.
Everything is written with ``imperdl.numpy``, so the rules are differentiated again for second order.
"""
from __future__ import annotations

import math

import numpy as onp

from . import defvjp
from .util import dtype_of, reduced_like, shape_of

_NOVALUE = onp._NoValue


def _np():
    import imperdl.numpy as np

    return np


def _given(v, default=None) -> bool:
    return v is not _NOVALUE and v is not default


def _flag(v) -> bool:
    return v is not _NOVALUE and bool(v)


def _axes(x, axis) -> tuple:
    """The reduced axes as sorted non-negative ints."""
    nd = len(shape_of(x))
    if axis is None or axis is _NOVALUE or nd == 0:  # NumPy reduces a 0-d array over axis 0 or -1 too
        return tuple(range(nd))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(int(a) % nd for a in axis))
    return (int(axis) % nd,)


def _count(x, axis) -> int:
    shape = shape_of(x)
    return math.prod(shape[a] for a in _axes(x, axis))


def _keep(g, x, axis, keepdims):
    """``g`` (shaped like the reduction's result) with the reduced axes put back as length 1."""
    np = _np()
    if _flag(keepdims):
        return g
    axes = _axes(x, axis)
    if axis is None or axis is _NOVALUE or not axes:
        return g  # a 0-d result (or nothing reduced) broadcasts as it is
    return np.expand_dims(g, axes)


def _weight(mask, g):
    """``g`` where ``mask`` holds, else zero (``where``, so a NaN or inf elsewhere never leaks in)."""
    np = _np()
    return np.where(mask, g, np.zeros((), dtype=dtype_of(g)))


def _tally(mask, axis, like):
    """How many ``mask`` entries hold per reduced slice (keepdims, at least 1), in ``like``'s real float dtype:
    an int64 count would promote a float32 gradient to float64."""
    np = _np()
    dt = dtype_of(like)
    dt = onp.finfo(dt).dtype if onp.issubdtype(dt, onp.inexact) else onp.dtype(onp.float64)
    return np.maximum(np.sum(mask, axis=axis, keepdims=True, dtype=dt), 1.0)


def _full(gk, x):
    return _np().broadcast_to(gk, shape_of(x))


def _mask(where, x):
    """A ``where=`` argument as a boolean mask of ``x``'s shape (NumPy reads it as truth values: 1.5 is True)."""
    np = _np()
    return np.broadcast_to(np.asarray(where, dtype=bool), shape_of(x))


# ------------------------------------------------------------------------------------------------- sums
def _sum(g, ans, a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, initial=_NOVALUE, where=_NOVALUE):
    gx = reduced_like(g, a, axis if axis is not _NOVALUE else None, _flag(keepdims))
    return _weight(where, gx) if _given(where, True) else gx


def _mean(g, ans, a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, *, where=_NOVALUE):
    np = _np()
    gk = _keep(g, a, axis, keepdims)
    if _given(where, True):
        n = _tally(np.broadcast_to(where, shape_of(a)), axis, g)
        return _weight(where, _full(gk / n, a))
    return _full(gk / _count(a, axis), a)


def _nansum(g, ans, a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, initial=_NOVALUE, where=_NOVALUE):
    np = _np()
    keep = ~np.isnan(a)
    if _given(where, True):
        keep = keep & where
    return _weight(keep, _full(_keep(g, a, axis, keepdims), a))


def _nanmean(g, ans, a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, *, where=_NOVALUE):
    np = _np()
    keep = ~np.isnan(a)
    if _given(where, True):
        keep = keep & where
    return _weight(keep, _full(_keep(g, a, axis, keepdims) / _tally(keep, axis, g), a))


defvjp("sum", _sum, reads=(6,))  # (6: a where= mask given by position; the input: its shape only)
defvjp("mean", _mean, reads=())
defvjp("nansum", _nansum, reads=(0, 6))
defvjp("nanmean", _nanmean, reads=(0,))


# ------------------------------------------------------------------------------------------------ products
def _prod(g, ans, a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, initial=_NOVALUE, where=_NOVALUE):
    """d prod / d x_i = product of the others. Without zeros that is ``ans / x``; with zeros it is built from
    the product ``N`` of the non-zero entries, the product ``Z`` of the zero entries (value 0, but its derivative
    is what second order needs) and, for exactly two zeros, the other zero itself."""
    np = _np()
    if _given(where, True):  # the product of the kept entries: theirs is the gradient, the others get none
        keep = _mask(where, a)
        kept = np.where(keep, a, np.ones((), dtype=dtype_of(a)))
        return _weight(keep, _prod(g, ans, kept, axis, dtype, out, keepdims, initial))
    gk = _keep(g, a, axis, keepdims)
    at0 = a == 0
    if not bool(np.any(at0)):
        return gk * _keep(ans, a, axis, keepdims) / a
    ax = axis if axis is not _NOVALUE else None
    xs = np.where(at0, 1.0, a)
    n_zero = np.sum(at0, axis=ax, keepdims=True)
    nonzero = np.prod(xs, axis=ax, keepdims=True)
    zeros = np.prod(np.where(at0, a, 1.0), axis=ax, keepdims=True)
    zsum = np.sum(np.where(at0, a, 0.0), axis=ax, keepdims=True)
    other = np.where(n_zero == 1, 1.0, np.where(n_zero == 2, zsum - a, 0.0))
    others = np.where(at0, nonzero * other, zeros * nonzero / xs)
    if _given(initial):
        others = others * initial
    return gk * others


defvjp("prod", _prod, reads=("ans", 0))
defvjp("product", _prod, reads=("ans", 0))


# ------------------------------------------------------------------------------------------------- extrema
def _winners(g, ans, a, axis, keepdims, ans_kept=False, keep=None):
    """``g`` shared evenly among the entries equal to the result along the reduced axes (among those ``keep``
    selects, when given)."""
    mask = a == (ans if ans_kept else _keep(ans, a, axis, keepdims))
    if keep is not None:
        mask = mask & keep
    return mask, _keep(g, a, axis, keepdims) / _tally(mask, axis, g)


def _extremum(g, ans, a, axis=None, out=None, keepdims=_NOVALUE, initial=_NOVALUE, where=_NOVALUE):
    """Ties share evenly among the (kept, under ``where=``) entries equal to the result (autograd's rule). A slice
    whose result is NaN has no entry equal to it: its gradient is NaN, as autograd's ``g * mask / count`` gives,
    not a silent zero; a slice whose result is ``initial`` (no kept entry reaches it) is constant: zero."""
    np = _np()
    ans_k = _keep(ans, a, axis, keepdims)
    keep = _mask(where, a) if _given(where, True) else None
    mask, share = _winners(g, ans_k, a, axis, keepdims, ans_kept=True, keep=keep)
    lost = ~np.any(mask, axis=axis, keepdims=True) & np.isnan(ans_k)
    dt = dtype_of(share)
    elsewhere = np.where(lost, np.full((), onp.nan, dtype=dt), np.zeros((), dtype=dt))
    return np.where(mask, _full(share, a), elsewhere)


def _ptp(g, ans, a, axis=None, out=None, keepdims=_NOVALUE):
    mhi, shi = _winners(g, _np().max(a, axis=axis, keepdims=True), a, axis, keepdims, ans_kept=True)
    mlo, slo = _winners(g, _np().min(a, axis=axis, keepdims=True), a, axis, keepdims, ans_kept=True)
    return _weight(mhi, _full(shi, a)) - _weight(mlo, _full(slo, a))


for _name in ("max", "amax", "min", "amin", "nanmax", "nanmin"):
    defvjp(_name, _extremum, reads=("ans", 0))
defvjp("ptp", _ptp, reads=(0,))


# ------------------------------------------------------------------------------------------------- moments
def _centered(a, axis, nan):
    """``a - mean`` along ``axis`` (NaN entries, for the nan-variants, set to the mean: they count zero)."""
    np = _np()
    if nan:
        m = np.nanmean(a, axis=axis, keepdims=True)
        return np.where(np.isnan(a), m, a) - m
    return a - np.mean(a, axis=axis, keepdims=True)


def _dof(a, axis, ddof, nan):
    np = _np()
    if nan:
        return np.sum(~np.isnan(a), axis=axis, keepdims=True, dtype=dtype_of(a)) - ddof
    return _count(a, axis) - ddof


def _moment(nan, std):
    def rule(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NOVALUE, *, where=_NOVALUE):
        np = _np()
        if onp.issubdtype(dtype_of(g), onp.complexfloating):
            g = np.real(g)  # the result is real: an imaginary cotangent part is meaningless
        gk = _keep(g, a, axis, keepdims)
        if _given(where, True):
            return _masked_moment(gk, ans, a, axis, ddof, keepdims, _mask(where, a), nan, std)
        c = _centered(a, axis, nan)
        if onp.issubdtype(dtype_of(a), onp.complexfloating):
            c = np.conj(c)  # var = mean |x - m|^2; autograd's convention gives g * 2 conj(x - m) / dof
        if std and not nan and _count(a, axis) <= 1:
            return gk * np.zeros_like(c)  # the std of one element is 0 whatever it is (0/0 otherwise; autograd: 0)
        if std:
            gx = gk * c / (_dof(a, axis, ddof, nan) * _keep(ans, a, axis, keepdims))
        else:
            gx = gk * 2.0 * c / _dof(a, axis, ddof, nan)
        return gx

    return rule


def _masked_moment(gk, ans, a, axis, ddof, keepdims, keep, nan, std):
    """var/std over the entries ``keep`` selects (and, for the nan-variants, that are not NaN): theirs is the
    gradient of the moment of those entries, the others get none. One kept entry has std 0 whatever it is: 0."""
    np = _np()
    if nan:
        keep = keep & ~np.isnan(a)
    zero = np.zeros((), dtype=dtype_of(a))
    n = np.sum(keep, axis=axis, keepdims=True, dtype=_tally(keep, axis, a).dtype)
    c = np.where(keep, a - np.sum(np.where(keep, a, zero), axis=axis, keepdims=True) / np.maximum(n, 1.0), zero)
    if onp.issubdtype(dtype_of(a), onp.complexfloating):
        c = np.conj(c)
    if std:
        single = n <= 1
        gx = gk * c / ((n - ddof) * np.where(single, 1.0, _keep(ans, a, axis, keepdims)))
        return _weight(keep & ~single, gx)
    return _weight(keep, gk * 2.0 * c / (n - ddof))


defvjp("var", _moment(False, False), reads=("ans", 0))
defvjp("std", _moment(False, True), reads=("ans", 0))
defvjp("nanvar", _moment(True, False), reads=("ans", 0))
defvjp("nanstd", _moment(True, True), reads=("ans", 0))


# -------------------------------------------------------------------------------------------- cumulative ops
def _revcum(g, axis):
    """Reverse cumulative sum along ``axis`` (sum of g[j] for j >= i). Flipped, not ``total - cumsum``: the
    subtraction would cancel catastrophically, and cumprod divides this by entries that may be tiny."""
    np = _np()
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _flat(a, axis):
    """cumsum/cumprod with ``axis=None`` work on the flattened array."""
    if axis is None:
        return _np().reshape(a, (-1,)), 0
    return a, axis


def _unflat(gx, a, axis):
    """Back to ``a``'s shape: a flattened input, or a 0-d one (its cumulative op along axis 0 is 1-d)."""
    return _np().reshape(gx, shape_of(a)) if axis is None or not shape_of(a) else gx


def _cumsum(g, ans, a, axis=None, dtype=None, out=None):
    return _unflat(_revcum(g, 0 if axis is None else axis), a, axis)  # (g is flat when axis is None or a is 0-d)


def _nancumsum(g, ans, a, axis=None, dtype=None, out=None):
    x, ax = _flat(a, axis)
    return _unflat(_weight(~_np().isnan(x), _revcum(g, ax)), a, axis)


def _cumprod(g, ans, a, axis=None, dtype=None, out=None):
    """d ans[j] / d x[i] = product of x[k] for k <= j, k != i. For a non-zero ``x[i]`` that is
    ``revcum(g * ans) / x`` (exact as a function, so second order holds too); for the first and second zero
    along the axis it is built from the cumulative product with that zero replaced by 1; later zeros get 0
    (their value and first derivatives are 0)."""
    np = _np()
    x, ax = _flat(a, axis)
    at0 = x == 0
    if not bool(np.any(at0)):
        return _unflat(_revcum(g * ans, ax) / x, a, axis)
    zc = np.cumsum(at0, axis=ax)
    xs = np.where(at0, 1.0, x)
    gx = _revcum(g * ans, ax) / xs
    for k in (1, 2):
        kth = at0 & (zc == k)
        if bool(np.any(kth)):
            ck = np.cumprod(np.where(kth, 1.0, x), axis=ax)
            gx = np.where(kth, _revcum(g * ck, ax), gx)
    gx = np.where(at0 & (zc > 2), np.zeros((), dtype=dtype_of(gx)), gx)
    return _unflat(gx, a, axis)


defvjp("cumsum", _cumsum, reads=())
defvjp("nancumsum", _nancumsum, reads=(0,))
defvjp("cumprod", _cumprod, reads=("ans", 0))
defvjp("cumproduct", _cumprod, reads=("ans", 0))


# ----------------------------------------------------------------------------------------------- the rest
def _weights_like(w, a, axis):
    """``weights`` reshaped to broadcast against ``a`` (NumPy accepts 1-D weights along ``axis``)."""
    ws, sa = shape_of(w), shape_of(a)
    if ws == sa:
        return w, False
    ax = _axes(a, axis)[0]
    return _np().reshape(w, tuple(n if i == ax else 1 for i, n in enumerate(sa))), True


def _average_parts(g, ans, a, axis, weights, returned, keepdims):
    g0, ans0 = (g[0], ans[0]) if _flag(returned) else (g, ans)
    return _keep(g0, a, axis, keepdims), _keep(ans0, a, axis, keepdims)


def _average_a(g, ans, a, axis=None, weights=None, returned=False, *, keepdims=_NOVALUE):
    np = _np()
    gk, _ = _average_parts(g, ans, a, axis, weights, returned, keepdims)
    if weights is None:
        return _full(gk / _count(a, axis), a)
    wb, _ = _weights_like(weights, a, axis)
    total = np.sum(np.broadcast_to(wb, shape_of(a)), axis=axis, keepdims=True)
    return _full(gk * wb / total, a)


def _average_w(g, ans, a, axis=None, weights=None, returned=False, *, keepdims=_NOVALUE):
    np = _np()
    gk, ansk = _average_parts(g, ans, a, axis, weights, returned, keepdims)
    wb, reshaped = _weights_like(weights, a, axis)
    total = np.sum(np.broadcast_to(wb, shape_of(a)), axis=axis, keepdims=True)
    gw = gk * (a - ansk) / total
    if _flag(returned):
        gw = gw + _keep(g[1], a, axis, keepdims)
    gw = _full(gw, a)
    if reshaped:
        ax = _axes(a, axis)[0]
        gw = np.sum(gw, axis=tuple(i for i in range(len(shape_of(a))) if i != ax))
    return gw


defvjp("average", _average_a, None, _average_w, kw={"weights": _average_w})


def _trace(g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """``g`` placed on the (offset) diagonal of the two traced axes, through a constant 0/1 mask."""
    np = _np()
    shape = shape_of(a)
    nd = len(shape)
    ax1, ax2 = axis1 % nd, axis2 % nd
    eye = onp.eye(shape[ax1], shape[ax2], k=offset, dtype=dtype_of(g))
    if ax1 > ax2:
        eye = eye.T
    mask = eye.reshape(tuple(n if i in (ax1, ax2) else 1 for i, n in enumerate(shape)))
    return np.expand_dims(g, (min(ax1, ax2), max(ax1, ax2))) * mask


defvjp("trace", _trace, reads=())


def _nanprod(g, ans, a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, initial=_NOVALUE, where=_NOVALUE):
    """nanprod is prod with NaN read as 1: the prod rule on that array, with no gradient to the NaN entries."""
    np = _np()
    nan = np.isnan(a)
    return _weight(~nan, _prod(g, ans, np.where(nan, 1.0, a), axis, dtype, out, keepdims, initial, where))


def _nancumprod(g, ans, a, axis=None, dtype=None, out=None):
    np = _np()
    nan = np.isnan(a)
    return _weight(~nan, _cumprod(g, ans, np.where(nan, 1.0, a), axis))


defvjp("nanprod", _nanprod, reads=("ans", 0))
defvjp("nancumprod", _nancumprod, reads=("ans", 0))
