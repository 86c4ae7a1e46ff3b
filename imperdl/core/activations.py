"""``relu`` as one primitive. Written as ``maximum(x, 0)`` it costs a comparison, a tie rule and several
elementwise passes in the backward; as a primitive it is one kernel each way (oneDNN's on MXNet, whose first-order
backward comes from MXNet through the tape) and its rule, built from primitives, serves every order."""
from __future__ import annotations

import numpy

from . import mxnet_autograd as MA
from .array import Array
from .backends import mxnet_backend as _mxb

_FLOATS = frozenset(numpy.dtype(t) for t in ("float16", "float32", "float64"))


def _relu_np(x):
    return numpy.maximum(x, 0).astype(x.dtype, copy=False)


def _relu_mx(x):
    return MA.run_recorded(_mxb._mx.npx.relu, (x,))


def _relu_vjp(pos, g, ans, args, kwargs):
    if pos != 0:
        return None
    got = MA.mxnet_backward(pos, g, ans, args)
    if got is not None:
        return got

    return g * (args[0] > 0)  # (the subgradient 0 at 0, as every framework)


_relu = MA.RecordedOp("relu", _relu_np)
_relu.impls[1] = _relu_mx
_relu.preds[1] = lambda x: getattr(x, "dtype", None) in _FLOATS
_relu.vjp = _relu_vjp


def relu(x) -> Array:
    """``max(x, 0)`` elementwise, as one primitive (gradient 0 at 0)."""
    return _relu(x)


PRIMITIVES = (_relu,)
