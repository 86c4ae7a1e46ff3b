"""The user's own MXNet arrays (``mx.nd.NDArray``, ``mx.np.ndarray``) as imperdl inputs.

An MXNet array is wrapped as an imperdl ``Array`` on its own context around a new MXNet handle to the same memory
(``MXNDArrayDetach``: shares the buffer, not the user's autograd history), so no data goes through the host: an
MXNet-run operator reads the user's buffer directly, a NumPy-run one reads it the way any MXNet-held Array is read
(zero-copy where sharing is safe). The wrapper is copy-on-write: imperdl never writes the user's buffer; an
in-place update of ``np.asarray(mx_array)`` writes a private copy, and every arithmetic result is a new array.

Detection is by class, through ``mxnet.ndarray.NDArray`` (the base of both APIs' classes and of the sparse ones),
looked up only if MXNet is imported in the process. Dispatch calls ``converted`` only for calls whose signature
could not be summarised (an MXNet array is not a type ``signature`` knows), so ordinary calls pay nothing.
"""
from __future__ import annotations

import ctypes
import sys

import numpy

seen: dict = {}  # type -> bool, filled on first sight of each type
# NumPy returns the array itself from these when given just an array: so the wrapper is the answer, with no data work
RETURNS_ITS_ARGUMENT = frozenset(("asarray", "asanyarray"))


def _base():
    mod = sys.modules.get("mxnet.ndarray.ndarray")
    return None if mod is None else getattr(mod, "NDArray", None)


def is_mx(x) -> bool:
    """``x`` is an MXNet array of either API (one dict lookup once its type has been seen)."""
    t = type(x)
    known = seen.get(t)
    if known is None:
        base = _base()
        known = base is not None and issubclass(t, base)
        if known or base is not None:  # (before MXNet is imported, no type is final: look again later)
            seen[t] = known
    return known


def wrap(x):
    """An imperdl Array standing for the MXNet array ``x``, on ``x``'s context, sharing its memory (copy-on-write).

    Sparse arrays are densified on their device; dtypes imperdl does not keep on MXNet (bfloat16 & co) are copied
    to the host, where NumPy can hold them.
    """
    from ..array import Array
    from . import mxnet_backend as mxb

    mx = mxb.load()
    if mx is None:  # an MXNet array exists, but imperdl's adapter cannot load MXNet here: read it as the user can
        return Array(numpy.asarray(x.asnumpy()))
    if x.stype != "default":
        x = x.tostype("default")
    with mxb.section:  # (0-d and zero-size shapes read as NumPy's)
        handle = mx.base.NDArrayHandle()
        mx.base.check_call(mx.base._LIB.MXNDArrayDetach(x.handle, ctypes.byref(handle)))
        view = mxb.ndarray(handle=handle)
        shape, dtype = tuple(view.shape), numpy.dtype(view.dtype)
    if dtype not in mxb.SUPPORTED:
        return Array(view.asnumpy())
    a = Array(view, 1, mxb.context_of(view), shape, dtype)
    a._cow = True  # the buffer is the user's: a write makes it ours first
    return a


def _tree(x, found: list):
    """``x`` with MXNet arrays wrapped, inside lists, tuples and dicts; ``found[0]`` set when one was."""
    t = type(x)
    if t is list or t is tuple:
        items = [_tree(e, found) for e in x]
        return t(items) if found[0] else x
    if t is dict:
        items = {k: _tree(v, found) for k, v in x.items()}
        return items if found[0] else x
    if is_mx(x):
        found[0] = True
        return wrap(x)
    return x


def converted(args: tuple, kwargs: dict | None):
    """``(args, kwargs)`` with every MXNet array wrapped, or None when the call holds none."""
    found = [False]
    new_args = _tree(tuple(args), found)
    new_kwargs = _tree(dict(kwargs), found) if kwargs else {}
    if not found[0]:
        return None
    return new_args, new_kwargs



def call(prim, args: tuple, kwargs: dict):
    """``prim`` called with the wrapped arguments."""
    if not kwargs and len(args) == 1 and prim.name in RETURNS_ITS_ARGUMENT:
        return args[0]
    return prim(*args, **kwargs)
