"""``relu`` and ``sigmoid`` as primitives. Written with NumPy functions they cost several elementwise passes and
keep every intermediate on the tape (``maximum``'s tie rule; a numerically stable sigmoid's ``where``); as
primitives they are one kernel forward (relu's first-order backward comes from MXNet through the tape after an
MXNet forward) and their rules, built from primitives, serve every order."""
from __future__ import annotations

import numpy

from . import mxnet_autograd as MA
from .array import Array
from .backends import mxnet_backend as _mxb
from .reads import declare

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


def _sigmoid_np(x):
    # floats keep their dtype; integers and bools take the float dtype numpy.exp gives them (int8 -> float16,
    # int32 -> float64), never their own (a sigmoid truncated to an integer is a silent wrong answer)
    dt = x.dtype if x.dtype.kind == "f" else numpy.result_type(x.dtype, numpy.float16)
    x = x.astype(dt, copy=False)
    with numpy.errstate(over="ignore"):
        return numpy.exp(-numpy.logaddexp(0, -x)).astype(dt, copy=False)  # exp(-softplus(-x)): stable


def _sigmoid_mx(x):
    return _mxb._mx.npx.sigmoid(x)


def _sigmoid_vjp(pos, g, ans, args, kwargs):
    # s * (1 - s) with 1 - s written as sigmoid(-x): exact in the tails, where s rounds to 1 (MXNet's own
    # backward computes s * (1 - s) and gives 0 there, so it is not used)
    return g * ans * _sigmoid(-args[0]) if pos == 0 else None


_relu = MA.RecordedOp("relu", _relu_np)
_relu.impls[1] = _relu_mx
_relu.preds[1] = lambda x: getattr(x, "dtype", None) in _FLOATS
_relu.vjp = declare(_relu_vjp, ("ans", 0))  # (ans: it carries MXNet's record of the forward)
_sigmoid = MA.RecordedOp("sigmoid", _sigmoid_np)
_sigmoid.impls[1] = _sigmoid_mx
_sigmoid.preds[1] = _relu.preds[1]
_sigmoid.vjp = declare(_sigmoid_vjp, ("ans", 0))


def relu(x) -> Array:
    """``max(x, 0)`` elementwise, as one primitive (gradient 0 at 0), in x's dtype (integers stay integers)."""
    return _relu(x)


def sigmoid(x) -> Array:
    """The logistic function ``1 / (1 + exp(-x))``, stable for large ``|x|``, as one primitive.

    Floats keep their dtype; integer and bool inputs give the float dtype ``numpy.exp`` gives them."""
    return _sigmoid(x)


PRIMITIVES = (_relu, _sigmoid)
