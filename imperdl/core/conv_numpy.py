"""NumPy kernels for 2-D convolution and pooling (NCHW): the CPU fallback the differentiable primitives call.

Conventions (shared with MXNet's ``Convolution``/``Pooling`` in 'valid' mode and CS231n's layers):
- arrays are NCHW: x (N, C, H, W); conv weights (F, C, HH, WW); bias (F,) or None;
- ``stride`` and ``pad`` are ``(h, w)`` pairs of ints; padding is zeros on both sides; pooling has no padding;
- output sizes use the floor: ``Ho = 1 + (H + 2*ph - HH) // sh`` (pooling: ``1 + (H - ph) // sh``), so rows and
  columns that no window reaches are dropped in the forward pass and get zero gradient;
- results are new C-contiguous arrays in the result dtype of the inputs (average pooling of integers: float64,
  like ``numpy.mean``);
- max pooling breaks ties by the first maximum in row-major window order, in the gradient and its adjoint alike.

Every kernel is vectorised over batch, channels and pixels. Convolutions go through im2col (a strided view copied
once into a column matrix, then one batched matmul); backward passes and pooling loop in Python only over the
kernel/window offsets, which are few. Nothing here imports imperdl: these are plain NumPy functions.
"""
from __future__ import annotations

import math
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "conv2d",
    "conv2d_input_grad",
    "conv2d_weight_grad",
    "max_pool2d",
    "max_pool2d_grad",
    "max_pool2d_select",
    "avg_pool2d",
    "avg_pool2d_grad",
    "release_workspace",
]

Pair = tuple[int, int]


# ------------------------------------------------------------------------------------------------ workspace
_workspace = threading.local()
_WORKSPACE_MAX_BYTES = 1 << 28  # bigger temporaries are allocated fresh and not kept


def _scratch(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array for a temporary that never leaves this module, reused across calls (per thread).

    A fresh multi-megabyte array costs a page fault per page on first touch: ~8 ms for the 60 MB float64 im2col
    matrix of CS231n's conv layer, a third of its forward pass. At most one buffer at a time is in use.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _WORKSPACE_MAX_BYTES:
        return np.empty(shape, dtype)
    buf = getattr(_workspace, "buf", None)
    if buf is None or buf.nbytes < nbytes:
        buf = _workspace.buf = np.empty(nbytes, np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def release_workspace() -> None:
    """Free this thread's cached im2col buffer (it is kept between calls to save page faults)."""
    _workspace.buf = None


# ------------------------------------------------------------------------------------------------ helpers
def _pair(op: str, name: str, value: Pair) -> Pair:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be a pair of ints (h, w), got {value!r}") from None
    return a, b


def _conv_geometry(op: str, x_shape, w_shape, stride: Pair, pad: Pair) -> tuple[int, int]:
    """Validate a convolution's shapes and return its output size (Ho, Wo)."""
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(f"{op}: expected x (N, C, H, W) and w (F, C, HH, WW), got x {x_shape} and w {w_shape}")
    if x_shape[1] != w_shape[1]:
        raise ValueError(f"{op}: x has {x_shape[1]} channels but w {w_shape} expects {w_shape[1]} (x {x_shape})")
    (sh, sw), (ph, pw) = _pair(op, "stride", stride), _pair(op, "pad", pad)
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"{op}: need stride >= 1 and pad >= 0, got stride {stride} and pad {pad}")
    hh, ww = w_shape[2:]
    ho = 1 + (x_shape[2] + 2 * ph - hh) // sh
    wo = 1 + (x_shape[3] + 2 * pw - ww) // sw
    if hh < 1 or ww < 1 or ho < 1 or wo < 1:
        raise ValueError(
            f"{op}: kernel {w_shape[2:]} does not fit in input {x_shape[2:]} padded by {pad} (output would be "
            f"{ho}x{wo})"
        )
    return ho, wo


def _pool_geometry(op: str, x_shape, ph: int, pw: int, stride: Pair) -> tuple[int, int]:
    """Validate a pooling's shapes and return its output size (Ho, Wo)."""
    x_shape = tuple(x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{op}: expected x (N, C, H, W), got shape {x_shape}")
    sh, sw = _pair(op, "stride", stride)
    if ph < 1 or pw < 1 or sh < 1 or sw < 1:
        raise ValueError(f"{op}: need pool size >= 1 and stride >= 1, got pool ({ph}, {pw}) and stride {stride}")
    ho, wo = 1 + (x_shape[2] - ph) // sh, 1 + (x_shape[3] - pw) // sw
    if ho < 1 or wo < 1:
        raise ValueError(f"{op}: pool ({ph}, {pw}) does not fit in input {x_shape[2:]} (shape {x_shape})")
    return ho, wo


def _check_grad_shape(op: str, g: np.ndarray, expected: tuple) -> None:
    if g.shape != expected:
        raise ValueError(f"{op}: gradient has shape {g.shape}, expected the output shape {expected}")


def _padded(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


def _columns(xp: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int, dtype) -> np.ndarray:
    """im2col: (N, C*kh*kw, Ho*Wo), copied once from a strided view of the padded input.

    The (N, K, P) layout lets one batched matmul produce (N, F, P), i.e. NCHW output with no transpose.
    """
    n, c = xp.shape[:2]
    s0, s1, s2, s3 = xp.strides
    view = as_strided(xp, (n, c, kh, kw, ho, wo), (s0, s1, s2, s3, s2 * sh, s3 * sw), writeable=False)
    cols = _scratch(view.shape, dtype)
    np.copyto(cols, view, casting="unsafe")
    return cols.reshape(n, c * kh * kw, ho * wo)


def _offsets(kh: int, kw: int, sh: int, sw: int, ho: int, wo: int):
    """(k, (slice_h, slice_w)) for each window offset, row-major: the input pixels that offset reads."""
    for i in range(kh):
        for j in range(kw):
            yield i * kw + j, (slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


# ------------------------------------------------------------------------------------------------ convolution
def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Pair, pad: Pair) -> np.ndarray:
    """Cross-correlation of x (N, C, H, W) with w (F, C, HH, WW) plus b: (N, F, Ho, Wo)."""
    x, w = np.asarray(x), np.asarray(w)
    ho, wo = _conv_geometry("conv2d", x.shape, w.shape, stride, pad)
    if b is not None:
        b = np.asarray(b)
        if b.shape != (w.shape[0],):
            raise ValueError(f"conv2d: bias has shape {b.shape}, expected ({w.shape[0]},) for w {w.shape}")
    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    f, _, kh, kw = w.shape
    cols = _columns(_padded(x, *pad), kh, kw, *stride, ho, wo, dtype)
    out = np.matmul(w.reshape(f, -1).astype(dtype, copy=False), cols)  # (N, F, Ho*Wo), C-contiguous
    if b is not None:
        out += b.astype(dtype, copy=False).reshape(f, 1)
    return out.reshape(x.shape[0], f, ho, wo)


def conv2d_input_grad(g: np.ndarray, w: np.ndarray, x_shape, stride: Pair, pad: Pair) -> np.ndarray:
    """Gradient of sum(g * conv2d(x, w)) w.r.t. x: the transposed convolution of g with w (linear in both).

    Columns of the gradient come from one matmul; they are added back into the padded input one kernel offset at
    a time (col2im), then the padding is cut off. Pixels no window reads keep a zero gradient.
    """
    g, w = np.asarray(g), np.asarray(w)
    x_shape = tuple(int(s) for s in x_shape)
    ho, wo = _conv_geometry("conv2d_input_grad", x_shape, w.shape, stride, pad)
    n, c, h, wd = x_shape
    f, _, kh, kw = w.shape
    _check_grad_shape("conv2d_input_grad", g, (n, f, ho, wo))
    dtype = np.result_type(g, w)
    w2 = w.reshape(f, -1).astype(dtype, copy=False)
    dcols = np.matmul(w2.T, g.reshape(n, f, ho * wo), out=_scratch((n, c * kh * kw, ho * wo), dtype))
    dcols = dcols.reshape(n, c, kh, kw, ho, wo)
    (sh, sw), (ph, pw) = stride, pad
    dxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=dtype)
    for k, (rows, cols) in _offsets(kh, kw, sh, sw, ho, wo):
        dxp[:, :, rows, cols] += dcols[:, :, k // kw, k % kw]
    if ph == 0 and pw == 0:
        return dxp
    return np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + wd])


def conv2d_weight_grad(x: np.ndarray, g: np.ndarray, w_shape, stride: Pair, pad: Pair) -> np.ndarray:
    """Gradient of sum(g * conv2d(x, w)) w.r.t. w: per-sample g @ columns(x).T, summed over the batch."""
    x, g = np.asarray(x), np.asarray(g)
    w_shape = tuple(int(s) for s in w_shape)
    ho, wo = _conv_geometry("conv2d_weight_grad", x.shape, w_shape, stride, pad)
    n = x.shape[0]
    f, _, kh, kw = w_shape
    _check_grad_shape("conv2d_weight_grad", g, (n, f, ho, wo))
    dtype = np.result_type(x, g)
    cols = _columns(_padded(x, *pad), kh, kw, *stride, ho, wo, dtype)
    g3 = g.reshape(n, f, ho * wo).astype(dtype, copy=False)
    return np.matmul(g3, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w_shape)


# ------------------------------------------------------------------------------------------------ pooling
def max_pool2d(x: np.ndarray, ph: int, pw: int, stride: Pair) -> np.ndarray:
    """Maximum over each (ph, pw) window: (N, C, Ho, Wo).

    Running np.maximum over the ph*pw strided slices: a few passes over pooled-size arrays, several times faster
    than reducing a 6-D window view (even the reshape view when stride == pool).
    """
    x = np.asarray(x)
    ho, wo = _pool_geometry("max_pool2d", x.shape, ph, pw, stride)
    slices = _offsets(ph, pw, *stride, ho, wo)
    _, first = next(slices)
    out = x[(..., *first)].copy()
    for _, sl in slices:
        np.maximum(out, x[(..., *sl)], out=out)
    return out


def _first_max_masks(x: np.ndarray, ph: int, pw: int, stride: Pair, ho: int, wo: int) -> list:
    """[(slices, mask)] per window offset, row-major; mask (N, C, Ho, Wo) marks the windows whose first maximum
    sits at that offset. Built with branch-free comparisons: after ReLU, ties (all-zero windows) are common.
    """
    offs = list(_offsets(ph, pw, *stride, ho, wo))
    best = x[(..., *offs[0][1])].copy()
    for _, sl in offs[1:]:
        np.maximum(best, x[(..., *sl)], out=best)
    masks, found = [], None
    for _, sl in offs:
        hit = x[(..., *sl)] == best
        if found is None:
            masks.append((sl, hit))
            found = hit.copy()
        else:
            masks.append((sl, np.greater(hit, found)))  # hit and not found before
            found |= hit
    return masks


def max_pool2d_grad(g: np.ndarray, x: np.ndarray, ph: int, pw: int, stride: Pair) -> np.ndarray:
    """Gradient of sum(g * max_pool2d(x)) w.r.t. x: g goes to each window's first maximum.

    Overlapping windows (stride < pool) accumulate; where windows do not overlap each slice is written once.
    """
    g, x = np.asarray(g), np.asarray(x)
    ho, wo = _pool_geometry("max_pool2d_grad", x.shape, ph, pw, stride)
    _check_grad_shape("max_pool2d_grad", g, x.shape[:2] + (ho, wo))
    dx = np.zeros(x.shape, dtype=np.result_type(g, x))
    zero = dx.dtype.type(0)
    overlap = stride[0] < ph or stride[1] < pw
    for sl, mask in _first_max_masks(x, ph, pw, stride, ho, wo):
        part = np.where(mask, g, zero)
        if overlap:
            dx[(..., *sl)] += part
        else:
            dx[(..., *sl)] = part
    return dx


def max_pool2d_select(gx: np.ndarray, x: np.ndarray, ph: int, pw: int, stride: Pair) -> np.ndarray:
    """gx read at each window's first maximum of x: (N, C, Ho, Wo); the adjoint of max_pool2d_grad in g.

    This is what the gradient rule of max_pool2d_grad needs (second order): linear in gx, x only chooses.
    """
    gx, x = np.asarray(gx), np.asarray(x)
    ho, wo = _pool_geometry("max_pool2d_select", x.shape, ph, pw, stride)
    if gx.shape != x.shape:
        raise ValueError(f"max_pool2d_select: gx has shape {gx.shape}, expected x's shape {x.shape}")
    out = np.zeros(x.shape[:2] + (ho, wo), dtype=gx.dtype)
    for sl, mask in _first_max_masks(x, ph, pw, stride, ho, wo):
        out = np.where(mask, gx[(..., *sl)], out)
    return out


def avg_pool2d(x: np.ndarray, ph: int, pw: int, stride: Pair) -> np.ndarray:
    """Mean over each (ph, pw) window: (N, C, Ho, Wo); sums the ph*pw strided slices, then divides once."""
    x = np.asarray(x)
    ho, wo = _pool_geometry("avg_pool2d", x.shape, ph, pw, stride)
    slices = _offsets(ph, pw, *stride, ho, wo)
    _, first = next(slices)
    out = x[(..., *first)].astype(_float_dtype(x.dtype))
    for _, sl in slices:
        out += x[(..., *sl)]
    out /= ph * pw
    return out


def avg_pool2d_grad(g: np.ndarray, x_shape, ph: int, pw: int, stride: Pair) -> np.ndarray:
    """Gradient of sum(g * avg_pool2d(x)) w.r.t. x (its adjoint): g / (ph*pw) spread over each window."""
    g = np.asarray(g)
    x_shape = tuple(int(s) for s in x_shape)
    ho, wo = _pool_geometry("avg_pool2d_grad", x_shape, ph, pw, stride)
    _check_grad_shape("avg_pool2d_grad", g, x_shape[:2] + (ho, wo))
    dtype = _float_dtype(g.dtype)
    share = g.astype(dtype) / dtype.type(ph * pw)
    dx = np.zeros(x_shape, dtype=dtype)
    overlap = stride[0] < ph or stride[1] < pw
    for _, sl in _offsets(ph, pw, *stride, ho, wo):
        if overlap:
            dx[(..., *sl)] += share
        else:
            dx[(..., *sl)] = share
    return dx
