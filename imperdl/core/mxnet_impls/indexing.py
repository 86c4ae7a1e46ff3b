"""MXNet implementations: ``x[key]`` and ``x[key] = value``.

Measured on MXNet 1.9.1: getitem handles basic indices, integer arrays (also mixed with slices) and boolean
masks exactly, and raises IndexError out of bounds. Setitem is the dangerous one: integer-array keys with an
out-of-bounds or negative index write outside the buffer (heap corruption, not an exception), a value of the
wrong shape may be accepted silently, and bool targets or mask keys with array values fail. So setitem takes
basic keys (the target shape is checked here first) and masks with a scalar value only; the rest is NumPy's.
Basic getitem results may alias their input (the engine tracks views); other results are copied when MXNet
aliases (a full integer index gives an MXNet view of one element).
"""
from __future__ import annotations

import numpy

from ..backends import mxnet_backend as B
from ..registry import register_mxnet
from .shape import DATA, WITH_BOOL, arr, fits, is_int, safe_scalar

_INDEX = frozenset(numpy.dtype(t) for t in ("int32", "int64"))
_BOOL = frozenset((numpy.dtype(bool),))
_NUMERIC_SCALARS = (numpy.bool_, numpy.integer, numpy.floating)


def _items(key):
    return key if type(key) is tuple else (key,)


def _basic(k) -> bool:
    return is_int(k) or type(k) is slice or k is None or k is Ellipsis


def key_kind(x, key):
    """'basic', 'advanced' (integer arrays / int lists with ints and slices), 'mask' (one bool array) or None."""
    items = _items(key)
    if sum(k is Ellipsis for k in items) > 1:
        return None
    if all(_basic(k) for k in items):
        return "basic"
    if type(key) is not tuple and arr(key, _BOOL, min_ndim=1, max_ndim=x.ndim):
        return "mask"
    adv = 0
    for k in items:
        if arr(k, _INDEX, min_ndim=1) or (type(k) is list and k and all(type(e) is int for e in k)):
            adv += 1
        elif not (is_int(k) or type(k) is slice):
            return None
    return "advanced" if adv else None


def _full_int(x, key) -> bool:
    items = _items(key)
    return len(items) == x.ndim and all(type(k) is int for k in items)


def _basic_shape(shape, key):
    """The shape ``x[key]`` has (NumPy's own rules on a zero-stride stand-in; raises IndexError like NumPy)."""
    return numpy.broadcast_to(numpy.empty((), dtype=numpy.int8), shape)[key].shape


def _check_mask(x, mask):
    if tuple(mask.shape) != tuple(x.shape[: mask.ndim]):
        raise IndexError(
            f"boolean index did not match indexed array; mask shape {mask.shape}, array shape {x.shape}"
        )


_INT64 = numpy.dtype("int64")


def _bounded(k):
    """MXNet indexes with 32-bit offsets: an int64 index beyond them wraps to a valid one (``x[[2**32]]`` read
    ``x[0]``). Clipped to [-2**31, 2**31] such an index stays out of bounds, and MXNet's own bounds check
    raises NumPy's IndexError; in-range values are unchanged. One device op on the (small) index array, no host
    read; int32 keys, basic keys and masks are untouched."""
    if type(k) is B.ndarray and k.dtype == _INT64:
        return B._mx.np.clip(k, -2**31, 2**31)
    return k


def _getitem(x, key):
    if type(key) is B.ndarray and key.dtype == numpy.bool_:
        _check_mask(x, key)
    key = tuple(_bounded(k) for k in key) if type(key) is tuple else _bounded(key)
    out = x[key]
    if type(out) is not B.ndarray:
        return out
    return out.copy() if _full_int(x, key) else out


def _broadcastable(vshape, target) -> bool:
    vshape = tuple(vshape)
    while len(vshape) > len(target) and vshape[0] == 1:
        vshape = vshape[1:]
    if len(vshape) > len(target):
        return False
    return all(v in (1, t) for v, t in zip(vshape[::-1], target[::-1]))


def _setitem(x, key, value):
    if type(key) is B.ndarray:  # a mask (the predicate lets no other array key through)
        _check_mask(x, key)
    else:
        target = _basic_shape(x.shape, key)
        if type(value) is B.ndarray and not _broadcastable(value.shape, target):
            raise ValueError(f"could not broadcast input array from shape {value.shape} into shape {target}")
    if type(value) is not B.ndarray and not fits(value, numpy.dtype(x.dtype)):
        # NumPy's own scalar cast (1.23 wraps -1 into a uint8 array as 255, NumPy 2 raises OverflowError): the
        # write then stores what NumPy's would
        box = numpy.empty((), x.dtype)
        box[()] = value
        value = box.item()
    if type(key) is not B.ndarray and 0 in target:
        return  # an empty selection: nothing to write (MXNet asserts start < stop on empty slices)
    x[key] = safe_scalar(value, x.dtype, x.ctx)


def _empty_arrays(key) -> bool:
    return any(type(k) is not list and hasattr(k, "ndim") and k.size == 0 for k in _items(key))


def _p_getitem(x, key):
    kind = key_kind(x, key) if arr(x, WITH_BOOL, min_ndim=1) else None
    if kind is None:
        return False
    # MXNet raises IndexError on empty index arrays into an empty axis
    return kind == "basic" or (x.size != 0 and not _empty_arrays(key))


def _scalar_ok(v, dtype) -> bool:
    t = type(v)
    if t is bool or t is numpy.bool_:
        return True
    if t is int or isinstance(v, numpy.integer):
        return True
    return (t is float or isinstance(v, numpy.floating)) and (dtype.kind == "f" or dtype.kind in "iu")


def _p_setitem(x, key, value):
    if not arr(x, DATA, min_ndim=1):
        return False
    kind = key_kind(x, key)
    if isinstance(value, _NUMERIC_SCALARS) or type(value) in (bool, int, float):
        return kind in ("basic", "mask") and _scalar_ok(value, x.dtype)
    if kind != "basic" or not arr(value, DATA):
        return False
    return value.dtype == x.dtype or (x.dtype.kind == "f" and value.dtype.kind in "iu")


register_mxnet("ndarray.__getitem__", _getitem, _p_getitem)
register_mxnet("ndarray.__setitem__", _setitem, _p_setitem)
