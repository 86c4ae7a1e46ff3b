"""Convolution and pooling as primitives: ``conv2d``, ``max_pool2d``, ``avg_pool2d`` (NCHW).

Each runs on MXNet (oneDNN on CPU, cuDNN on GPU) or on NumPy (``conv_numpy``: im2col through strided views), and
is differentiated with the rest of the tape:

- first order, after an MXNet forward: MXNet's own backward kernels (``mxnet_autograd``), the fast path;
- otherwise (NumPy forward, or higher order): rules built from primitives. Convolution's two gradients are
  themselves bilinear, and the three operations are closed under differentiation (the gradient of the input
  gradient is a convolution, and so on), so every order is available. Max pooling's gradient is linear in the
  cotangent with a piecewise-constant dependence on the input: its own gradients are a gather and a scatter.
"""
from __future__ import annotations

import numpy

from . import conv_numpy as K
from . import mxnet_autograd as MA
from .array import Array
from .backends import mxnet_backend as _mxb

_FLOATS = frozenset(numpy.dtype(t) for t in ("float32", "float64"))


# ------------------------------------------------------------------------------------------- argument checks
def _pair(v, what: str, op: str) -> tuple:
    if isinstance(v, (int, numpy.integer)) and not isinstance(v, bool):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(e, (int, numpy.integer)) for e in v):
        return (int(v[0]), int(v[1]))
    raise TypeError(f"imperdl.core.{op}: {what} must be an int or a pair of ints, got {v!r}")


def _check_conv(x, w, b, stride, pad) -> None:
    def fail(msg):  # (dispatch prefixes the operation and the argument shapes)
        raise ValueError(f"{msg} (stride {stride}, pad {pad})")

    if len(x.shape) != 4 or len(w.shape) != 4:
        fail("x must be (N, C, H, W) and w (F, C, HH, WW)")
    if x.shape[1] != w.shape[1]:
        fail(f"x has {x.shape[1]} channels but w expects {w.shape[1]}")
    if b is not None and tuple(b.shape) != (w.shape[0],):
        fail(f"b must have shape ({w.shape[0]},), one bias per filter")
    if min(stride) < 1 or min(pad) < 0:
        fail("stride must be >= 1 and pad >= 0")
    if x.shape[2] + 2 * pad[0] < w.shape[2] or x.shape[3] + 2 * pad[1] < w.shape[3]:
        fail("the padded input is smaller than the filter")


def _check_pool(op, x, ph, pw, stride) -> None:
    def fail(msg):  # (dispatch prefixes the operation and the argument shapes)
        raise ValueError(f"{msg} (pool {ph}x{pw}, stride {stride})")

    if len(x.shape) != 4:
        fail("x must be (N, C, H, W)")
    if ph < 1 or pw < 1 or min(stride) < 1:
        fail("pool sizes and stride must be >= 1")
    if x.shape[2] < ph or x.shape[3] < pw:
        fail("the input is smaller than the pooling window")


# ---------------------------------------------------------------------------------------- NumPy implementations
def _conv2d_np(x, w, b, stride, pad):
    _check_conv(x, w, b, stride, pad)
    return K.conv2d(x, w, b, stride, pad)


def _max_pool_np(x, ph, pw, stride):
    _check_pool("max_pool2d", x, ph, pw, stride)
    return K.max_pool2d(x, ph, pw, stride)


def _avg_pool_np(x, ph, pw, stride):
    _check_pool("avg_pool2d", x, ph, pw, stride)
    return K.avg_pool2d(x, ph, pw, stride)


_conv2d = MA.RecordedOp("conv2d", _conv2d_np)
_max_pool = MA.RecordedOp("max_pool2d", _max_pool_np)
_avg_pool = MA.RecordedOp("avg_pool2d", _avg_pool_np)
# the gradients' own primitives (NumPy; MXNet's backward serves first order after an MXNet forward)
_conv_dx = MA.RecordedOp("conv2d_input_grad", K.conv2d_input_grad)
_conv_dw = MA.RecordedOp("conv2d_weight_grad", K.conv2d_weight_grad)
_max_dx = MA.RecordedOp("max_pool2d_grad", K.max_pool2d_grad)
_max_sel = MA.RecordedOp("max_pool2d_select", K.max_pool2d_select)
_avg_dx = MA.RecordedOp("avg_pool2d_grad", K.avg_pool2d_grad)


# ---------------------------------------------------------------------------------------- MXNet implementations
def _float_arrays(*arrays) -> bool:
    return all(a is None or getattr(a, "dtype", None) in _FLOATS for a in arrays)


def _conv_takes(x, w, b, stride, pad) -> bool:
    """MXNet's convolution wants one float32/float64 dtype: it takes every call whose NumPy result dtype is one
    of those (float16 with float32, int32 with float64 ...), the arguments cast to it inside the recorded call
    (so each input's MXNet gradient comes back in its own dtype). Cached per signature like every predicate."""
    arrays = (x, w) if b is None else (x, w, b)
    try:
        return numpy.result_type(*[a.dtype for a in arrays]) in _FLOATS
    except (AttributeError, TypeError):
        return False


def _conv2d_mx(x, w, b, stride, pad):
    _check_conv(x, w, b, stride, pad)
    npx = _mxb._mx.npx
    f, _, hh, ww = w.shape
    dt = None  # the rare mixed call: promote as NumPy does, inside the record
    if w.dtype != x.dtype or (b is not None and b.dtype != x.dtype):
        dt = numpy.result_type(x.dtype, w.dtype, *(() if b is None else (b.dtype,)))

    def run(x, w, b=None):
        if dt is not None:
            x, w, b = (None if a is None else a.astype(dt, copy=False) for a in (x, w, b))
        return npx.convolution(x, w, b, kernel=(hh, ww), stride=stride, pad=pad, num_filter=f, no_bias=b is None)

    return MA.run_recorded(run, (x, w, b))


def _pool_mx(kind, check_name):
    def impl(x, ph, pw, stride):
        _check_pool(check_name, x, ph, pw, stride)
        mx = _mxb._mx
        npx = mx.npx

        def run(x):
            out = npx.pooling(x, kernel=(ph, pw), stride=stride, pool_type=kind, pooling_convention="valid")
            if kind == "max":
                out = _nan_windows(mx, x, out, (ph, pw), stride)
            return out

        return MA.run_recorded(run, (x,))

    return impl


def _nan_windows(mx, x, out, kernel, stride):
    """MXNet's max pooling skips NaN; NumPy's maximum (and the reference kernel) gives NaN for a window holding
    one, and no gradient there. ``-sqrt(sum x**2)`` over a window (lp pooling, p=2; MXNet's p=1 is a plain sum,
    NaN for +inf with -inf) is NaN exactly for such windows and never above the window's maximum otherwise;
    MXNet's ``maximum`` returns its second operand when they tie or it is NaN, its gradient going to the first
    only where the first wins or ties. No host read; the mark is not recorded. Cost measured on the CPU wheel
    (3 device ops more): a (64, 16, 32, 32) float32 max pooling 0.5 -> 2.7 ms, a (2, 3, 8, 8) one 38 -> 135 us;
    a cheaper exact mark is an open item."""
    with mx.autograd.pause():
        mark = 0.0 - mx.npx.pooling(x, kernel=kernel, stride=stride, pool_type="lp", p_value=2,
                                    pooling_convention="valid")  # (0.0 - 0.0 is +0.0: a ReLU's zeros keep their sign)
    return mx.np.maximum(out, mark)


_conv2d.impls[1] = _conv2d_mx
_conv2d.preds[1] = _conv_takes
_max_pool.impls[1] = _pool_mx("max", "max_pool2d")
_max_pool.preds[1] = lambda x, *rest: _float_arrays(x)
_avg_pool.impls[1] = _pool_mx("avg", "avg_pool2d")
_avg_pool.preds[1] = lambda x, *rest: _float_arrays(x)


# ------------------------------------------------------------------------------------------------ gradients
def _conv2d_vjp(pos, g, ans, args, kwargs):
    x, w, b, stride, pad = args
    got = MA.mxnet_backward(pos, g, ans, args)
    if got is not None:
        return got
    if pos == 0:
        return _conv_dx(g, w, tuple(x.shape), stride, pad)
    if pos == 1:
        return _conv_dw(x, g, tuple(w.shape), stride, pad)
    if pos == 2:
        import imperdl.numpy as np

        return np.sum(g, axis=(0, 2, 3))
    return None


def _conv_dx_vjp(pos, gg, ans, args, kwargs):
    g, w, _, stride, pad = args  # ans = conv2d_input_grad(g, w): bilinear in (g, w)
    if pos == 0:
        return _conv2d(gg, w, None, stride, pad)
    if pos == 1:
        return _conv_dw(gg, g, tuple(w.shape), stride, pad)
    return None


def _conv_dw_vjp(pos, gw, ans, args, kwargs):
    x, g, _, stride, pad = args  # ans = conv2d_weight_grad(x, g): bilinear in (x, g)
    if pos == 0:
        return _conv_dx(g, gw, tuple(x.shape), stride, pad)
    if pos == 1:
        return _conv2d(x, gw, None, stride, pad)
    return None


def _max_pool_vjp(pos, g, ans, args, kwargs):
    if pos != 0:
        return None
    got = MA.mxnet_backward(pos, g, ans, args)
    return got if got is not None else _max_dx(g, *args)


def _max_dx_vjp(pos, gg, ans, args, kwargs):
    g, x, ph, pw, stride = args  # linear in g; piecewise constant in x (zero gradient almost everywhere)
    return _max_sel(gg, x, ph, pw, stride) if pos == 0 else None


def _max_sel_vjp(pos, gp, ans, args, kwargs):
    gx, x, ph, pw, stride = args
    return _max_dx(gp, x, ph, pw, stride) if pos == 0 else None


def _avg_pool_vjp(pos, g, ans, args, kwargs):
    if pos != 0:
        return None
    got = MA.mxnet_backward(pos, g, ans, args)
    x, ph, pw, stride = args
    return got if got is not None else _avg_dx(g, tuple(x.shape), ph, pw, stride)


def _avg_dx_vjp(pos, gg, ans, args, kwargs):
    _, _, ph, pw, stride = args
    return _avg_pool(gg, ph, pw, stride) if pos == 0 else None


for _p, _f in [(_conv2d, _conv2d_vjp), (_conv_dx, _conv_dx_vjp), (_conv_dw, _conv_dw_vjp),
               (_max_pool, _max_pool_vjp), (_max_dx, _max_dx_vjp), (_max_sel, _max_sel_vjp),
               (_avg_pool, _avg_pool_vjp), (_avg_dx, _avg_dx_vjp)]:
    _p.vjp = _f


# ------------------------------------------------------------------------------------------------ public API
def conv2d(x, w, b=None, stride=1, pad=0) -> Array:
    """2-D convolution (cross-correlation, as in deep learning) of ``x`` (N, C, H, W) with filters ``w``
    (F, C, HH, WW), plus bias ``b`` (F,); zero padding ``pad`` and ``stride`` are ints or (h, w) pairs.

    The output is ``(N, F, 1 + (H + 2*ph - HH) // sh, 1 + (W + 2*pw - WW) // sw)``, in NumPy's result dtype
    of x, w and b (``numpy.result_type``: float32 x with float64 w gives float64; integers stay integers), on
    every backend; each input's gradient has that input's dtype.
    """
    return _conv2d(x, w, b, _pair(stride, "stride", "conv2d"), _pair(pad, "pad", "conv2d"))


def max_pool2d(x, pool_height: int = 2, pool_width: int = 2, stride=2) -> Array:
    """Max pooling of ``x`` (N, C, H, W) over ``pool_height`` x ``pool_width`` windows, no padding; the output
    is (N, C, 1 + (H - pool_height) // sh, 1 + (W - pool_width) // sw), in x's dtype."""
    return _max_pool(x, int(pool_height), int(pool_width), _pair(stride, "stride", "max_pool2d"))


def avg_pool2d(x, pool_height: int = 2, pool_width: int = 2, stride=2) -> Array:
    """Average pooling, shaped as ``max_pool2d``. Floats keep their dtype; integer and bool inputs average to
    float64 (as ``numpy.mean`` does)."""
    return _avg_pool(x, int(pool_height), int(pool_width), _pair(stride, "stride", "avg_pool2d"))


PRIMITIVES = (_conv2d, _max_pool, _avg_pool, _conv_dx, _conv_dw, _max_dx, _max_sel, _avg_dx)
