"""imperdl Arrays to and from the MXNet buffers a KVStore reads and writes, without host round trips.

An Array already holding an MXNet copy hands over that buffer; a host-only one is shared with MXNet where the
synchronous engine allows it (``mxnet_backend.share_from_host``, ~5 us whatever the size) and copied otherwise. A
pulled result is wrapped as an Array whose fresh copy is the MXNet buffer (read by the host zero-copy, again where
sharing is safe). Measured in ``bench/distributed.py``.

dtype rule: MXNet's parameter servers add only floating-point values (a pushed int32 ends the server process with
"This operation only support floating point types"), so float16, float32 and float64 travel as they are and
come back in the same dtype; any other dtype is refused with a TypeError naming the entry, before anything is
sent. Nothing is cast behind the user's back. (float16 is summed in float16 on the server.)
"""
from __future__ import annotations

import numpy

from imperdl.context import Context, cpu
from imperdl.core import Array
from imperdl.core.backends import mxnet_backend as mxb
from imperdl.core.backends.mxnet_inputs import is_mx

__all__ = ["FLOATS", "check_dtype", "as_array", "to_mx", "to_send", "from_mx", "empty_like"]

FLOATS = frozenset(numpy.dtype(t) for t in ("float16", "float32", "float64"))


def check_dtype(name: str, dtype, what: str) -> numpy.dtype:
    dtype = numpy.dtype(dtype)
    if dtype not in FLOATS:
        raise TypeError(
            f"imperdl.distributed.{what}: {name!r} has dtype {dtype}; MXNet's KVStore sums float16, float32 and "
            "float64 only (cast it yourself if that is what you want: nothing is cast silently)")
    return dtype


def as_array(x, name: str, what: str) -> Array:
    """``x`` (imperdl Array, MXNet array, NumPy array) as an Array with a float dtype."""
    if type(x) is not Array:
        if is_mx(x):
            from imperdl.core.backends.mxnet_inputs import wrap

            x = wrap(x)
        elif isinstance(x, (numpy.ndarray, numpy.generic, float)):
            x = Array(numpy.asarray(x))
        else:
            raise TypeError(f"imperdl.distributed.{what}: {name!r} is a {type(x).__name__}, expected an array")
    check_dtype(name, x.dtype, what)
    return x


def to_mx(a: Array):
    """The legacy ``mx.nd`` view of ``a``'s MXNet buffer, on ``a``'s own context (0-d arrays as shape (1,))."""
    ctx = a.context
    with ctx:
        x = a._get_shared(1)
    with mxb.section:
        x = x.as_nd_ndarray()
        if a.ndim == 0:
            x = x.reshape((1,))
    return x


def to_send(a: Array):
    """A private MXNet copy of ``a`` to push: MXNet's dist store later writes pulled sums into the very buffer
    that was pushed (measured: the caller's gradients came back overwritten), so the caller's is never pushed.

    On the host side the copy is NumPy's (then shared with MXNet): MXNet's own CPU copy is built without AVX and
    costs ~5x more (38,410 floats: 74 us against ~15 us measured).
    """
    ctx = a.context
    if mxb.ZERO_COPY and ctx.device_type == "cpu" and ctx.device_id == 0 and a.ndim:
        return to_mx(Array(a.asnumpy()))  # (asnumpy: one copy, and the array is not exported to NumPy)
    x = to_mx(a)
    with mxb.section:
        return x.copy()


def empty_like(a: Array):
    """An uninitialised legacy MXNet array shaped like ``a`` (0-d: (1,)) on ``a``'s context."""
    mx = mxb.load()
    return mx.nd.empty(a.shape or (1,), ctx=a.context.as_mxnet(), dtype=a.dtype)


def from_mx(x, shape: tuple, dtype: numpy.dtype, ctx: Context | None = None) -> Array:
    """An Array whose fresh copy is the MXNet buffer ``x`` (no copy)."""
    with mxb.section:
        y = x.as_np_ndarray()
        if not shape:
            y = y.reshape(())
    c = x.context
    return Array(y, 1, ctx or (cpu(c.device_id) if c.device_type == "cpu" else Context(c.device_type, c.device_id)),
                 tuple(shape), numpy.dtype(dtype))
