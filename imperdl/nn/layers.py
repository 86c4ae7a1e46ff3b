"""Layers in CS231n's and MinPy's vocabulary, written as forward code only.

Every function takes imperdl Arrays or plain NumPy arrays and returns imperdl Arrays. There are no backward
functions: the tape records the forward operations and ``imperdl.core.grad`` differentiates them, so a layer is
correct as soon as its forward pass is. State that must not be differentiated (batchnorm running statistics,
dropout masks) is computed from ``stop_gradient`` values.

Shapes follow the course: images NCHW, sequences ``(N, T, D)``, affine weights ``(D, M)``, recurrent weights
``Wx (D, kH)`` and ``Wh (H, kH)`` with the gates side by side. Loss functions return 0-d Arrays.
"""
from __future__ import annotations

from typing import Any

import numpy as onp

import imperdl.numpy as np
from imperdl.core import Array, avg_pool2d, conv2d, max_pool2d, stop_gradient
from imperdl.core import relu as _relu
from imperdl.core import sigmoid as _sigmoid

__all__ = [
    "affine", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "batchnorm", "spatial_batchnorm", "layernorm",
    "groupnorm", "dropout", "conv", "max_pool", "avg_pool", "svm_loss", "softmax_loss", "l2_loss",
    "softmax_cross_entropy", "rnn_step", "rnn", "lstm_step", "lstm", "gru_step", "gru", "word_embedding",
    "temporal_affine", "temporal_softmax_loss",
]

_BN_KEYS = {"mode", "eps", "momentum", "running_mean", "running_var"}
_NORM_KEYS = {"eps", "mode"}


# ------------------------------------------------------------------------------------------------ helpers
def _check_ndim(name: str, what: str, x: Any, ndim: int, layout: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{name}: {what} must be {ndim}-D {layout}, got shape {tuple(x.shape)}")


def _check_keys(name: str, param: dict, allowed: set) -> None:
    unknown = sorted(set(param) - allowed)
    if unknown:
        raise ValueError(f"{name}: unknown parameter(s) {unknown}; expected some of {sorted(allowed)}")


def _constant(y: Any):
    """A target or mask as an array, read where it lives: an imperdl Array stays one (read on the host, a jit
    trace could not replay new values)."""
    return y if type(y) is Array else onp.asarray(y)


def _labels(name: str, y: Any, n: int):
    """Integer labels as an index array (labels are constants: never differentiated). An imperdl Array stays one:
    read on the host, a jit trace could not replay new labels."""
    y = _constant(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name}: labels must be integers, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{name}: labels must have shape ({n},) to match the scores, got {y.shape}")
    return y


def _mode(name: str, param: dict) -> str:
    mode = param.get("mode", "train")
    if mode not in ("train", "test"):
        raise ValueError(f"{name}: mode must be 'train' or 'test', got {mode!r}")
    return mode


def _normalize(x: Any, axis, eps: float):
    """(x - mean) / sqrt(var + eps) over ``axis``, with the biased variance (the course's convention)."""
    mu = np.mean(x, axis=axis, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=axis, keepdims=True)
    return xc / np.sqrt(var + eps), mu, var


def _log_softmax(x: Any, axis: int = -1):
    """log softmax, shifted by the (constant) row maximum so exp never overflows."""
    shifted = x - np.max(stop_gradient(x), axis=axis, keepdims=True)  # (a constant: the tape records no max)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# ------------------------------------------------------------------------------------------------ dense
def affine(x: Any, w: Any, b: Any):
    """x (N, d1, ..., dk) flattened to (N, D), times w (D, M), plus b (M,): (N, M)."""
    x = np.asarray(x)
    n = x.shape[0]
    d = int(onp.prod(x.shape[1:], dtype=onp.int64))
    if w.shape[0] != d:
        raise ValueError(f"affine: x of shape {tuple(x.shape)} flattens to ({n}, {d}) but w has shape "
                         f"{tuple(w.shape)}; expected w of shape ({d}, M)")
    return np.dot(np.reshape(x, (n, d)), w) + b


def relu(x: Any):
    """max(x, 0), as one primitive (one kernel each way instead of a comparison and a tie rule)."""
    return _relu(x)


def leaky_relu(x: Any, alpha: float = 0.01):
    """x where x > 0, alpha * x elsewhere."""
    x = np.asarray(x)
    return np.where(x > 0, x, alpha * x)


def sigmoid(x: Any):
    """1 / (1 + exp(-x)), stable for large |x|: one primitive (the tape keeps its input and output, not the
    intermediates of a where-based formula)."""
    return _sigmoid(x)


def tanh(x: Any):
    """tanh(x) elementwise (``imperdl.numpy.tanh``), named here with the other activations."""
    return np.tanh(x)


def softmax(x: Any, axis: int = -1):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the maximum so large scores do not overflow."""
    e = np.exp(np.asarray(x) - np.max(stop_gradient(x), axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# ------------------------------------------------------------------------------------------------ normalization
def batchnorm(x: Any, gamma: Any, beta: Any, bn_param: dict | str | None = None, eps: float | None = None,
              momentum: float | None = None, running_mean: Any = None, running_var: Any = None, *,
              mode: str | None = None):
    """Batch normalization of x (N, D) with scale gamma (D,) and shift beta (D,), in two call forms.

    The course's ``batchnorm(x, gamma, beta, bn_param)`` returns the output. ``bn_param``: 'mode' ('train' |
    'test', default 'train'), 'eps' (1e-5), 'momentum' (0.9) and the running statistics 'running_mean' /
    'running_var' (zeros / ones of shape (D,) on first use). In train mode the batch statistics normalize x and
    the running statistics are replaced in ``bn_param`` by ``momentum * running + (1 - momentum) * batch``,
    computed from ``stop_gradient`` copies of the batch statistics: the dict changes as the course expects, and
    the tape neither loses nor gains a path through it. Test mode normalizes with the running statistics.

    MinPy's ``batchnorm(x, gamma, beta, mode='train', eps=1e-5, momentum=0.9, running_mean=None,
    running_var=None)`` (the 4th argument a mode string, or keywords only) returns ``(out, running_mean,
    running_var)`` with the updated statistics; missing statistics start at zeros, as in MinPy.
    """
    if isinstance(bn_param, dict):
        given = [k for k, v in (("eps", eps), ("momentum", momentum), ("running_mean", running_mean),
                                ("running_var", running_var), ("mode", mode)) if v is not None]
        if given:
            raise TypeError(f"batchnorm: with a bn_param dict, give {given} inside it, not as arguments")
        _check_keys("batchnorm", bn_param, _BN_KEYS)
        out, bn_param["running_mean"], bn_param["running_var"] = _batchnorm(
            x, gamma, beta, _mode("batchnorm", bn_param), bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9),
            bn_param.get("running_mean"), bn_param.get("running_var"), 1.0)
        return out
    if bn_param is not None and mode is not None:
        raise TypeError(f"batchnorm: mode given twice ({bn_param!r} and mode={mode!r})")
    minpy = {"mode": bn_param if bn_param is not None else (mode or "train")}
    out, mean, var = _batchnorm(x, gamma, beta, _mode("batchnorm", minpy), 1e-5 if eps is None else eps,
                                0.9 if momentum is None else momentum, running_mean, running_var, 0.0)
    return out, np.asarray(mean), np.asarray(var)


def _batchnorm(x, gamma, beta, mode: str, eps: float, momentum: float, running_mean, running_var, var0: float):
    """(output, running mean, running var); missing running variances start at ``var0``."""
    x = np.asarray(x)
    _check_ndim("batchnorm", "x", x, 2, "(N, D)")
    d = x.shape[1]
    if running_mean is None:
        running_mean = np.zeros(d, dtype=x.dtype)
    if running_var is None:
        running_var = np.full(d, var0, dtype=x.dtype)
    if mode == "train":
        xhat, mu, var = _normalize(x, 0, eps)
        mu = stop_gradient(np.reshape(mu, (d,)))
        var = stop_gradient(np.reshape(var, (d,)))
        running_mean = momentum * stop_gradient(running_mean) + (1 - momentum) * mu
        running_var = momentum * stop_gradient(running_var) + (1 - momentum) * var
    else:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
    return gamma * xhat + beta, running_mean, running_var


def spatial_batchnorm(x: Any, gamma: Any, beta: Any, bn_param: dict):
    """Batch normalization of x (N, C, H, W) per channel (statistics over N, H, W); gamma, beta (C,)."""
    x = np.asarray(x)
    _check_ndim("spatial_batchnorm", "x", x, 4, "(N, C, H, W)")
    n, c, h, w = x.shape
    flat = np.reshape(np.transpose(x, (0, 2, 3, 1)), (n * h * w, c))
    out = batchnorm(flat, gamma, beta, bn_param)
    return np.transpose(np.reshape(out, (n, h, w, c)), (0, 3, 1, 2))


def layernorm(x: Any, gamma: Any, beta: Any, ln_param: dict | None = None):
    """Layer normalization: each sample normalized over its last axis (the features), then gamma * . + beta.

    For the course's x (N, D), gamma and beta have shape (D,). ``ln_param``: 'eps' (1e-5); no running statistics,
    so train and test modes compute the same thing.
    """
    ln_param = {} if ln_param is None else ln_param
    _check_keys("layernorm", ln_param, _NORM_KEYS)
    xhat, _, _ = _normalize(np.asarray(x), -1, ln_param.get("eps", 1e-5))
    return gamma * xhat + beta


def groupnorm(x: Any, gamma: Any, beta: Any, G: int, gn_param: dict | None = None):
    """Group normalization of x (N, C, H, W): the C channels split into G groups, each normalized per sample.

    gamma and beta have shape (1, C, 1, 1) as in the course. ``gn_param``: 'eps' (1e-5).
    """
    gn_param = {} if gn_param is None else gn_param
    _check_keys("groupnorm", gn_param, _NORM_KEYS)
    x = np.asarray(x)
    _check_ndim("groupnorm", "x", x, 4, "(N, C, H, W)")
    n, c, h, w = x.shape
    if G <= 0 or c % G:
        raise ValueError(f"groupnorm: G={G} groups must divide the {c} channels of x {tuple(x.shape)}")
    grouped = np.reshape(x, (n, G, (c // G) * h * w))
    xhat, _, _ = _normalize(grouped, 2, gn_param.get("eps", 1e-5))
    return gamma * np.reshape(xhat, (n, c, h, w)) + beta


# ------------------------------------------------------------------------------------------------ dropout
def dropout(x: Any, dropout_param: dict | float, mode: str | None = None, seed: int | None = None):
    """Dropout, in two call forms.

    The course's ``dropout(x, dropout_param)`` is inverted dropout: in train mode each unit is kept with
    probability ``dropout_param['p']`` and scaled by 1/p, so test mode ('mode': 'test') is the identity.

    MinPy's ``dropout(x, prob, mode='train', seed=None)`` keeps MinPy's arithmetic: ``prob`` is the probability
    of *dropping* a unit, train mode multiplies by the 0/1 mask without rescaling, and test mode scales by
    ``1 - prob``.

    With a seed the mask is drawn from a private generator seeded with it (NumPy's ``RandomState(seed)``, the
    numbers MinPy drew on NumPy after ``seed(seed)``): every call with the same seed and shape gives the same
    mask (gradient checks need that) and the global random state is left alone. The mask is a constant on the
    tape. Float inputs keep their dtype; integer inputs give float64.
    """
    if isinstance(dropout_param, dict):
        if mode is not None or seed is not None:
            raise TypeError("dropout: with a dropout_param dict, give 'mode' and 'seed' inside it")
        _check_keys("dropout", dropout_param, {"p", "mode", "seed"})
        if "p" not in dropout_param:
            raise ValueError("dropout: dropout_param needs 'p', the probability of keeping a unit")
        p = float(dropout_param["p"])
        if not 0 < p <= 1:
            raise ValueError(f"dropout: keep probability p must be in (0, 1], got {p}")
        x = np.asarray(x)
        if _mode("dropout", dropout_param) == "test":
            return x
        u = _uniform(x, dropout_param.get("seed"))
        return x * stop_gradient(np.asarray((u < p) / p, dtype=_mask_dtype(x)))
    prob = float(dropout_param)
    if not 0 <= prob < 1:
        raise ValueError(f"dropout: drop probability prob must be in [0, 1), got {prob}")
    x = np.asarray(x)
    if _mode("dropout", {"mode": mode or "train"}) == "test":
        return x * (1 - prob)
    return x * stop_gradient(np.asarray(_uniform(x, seed) > prob, dtype=_mask_dtype(x)))


def _uniform(x, seed):
    """Uniform draws of x's shape: from a private ``RandomState(seed)``, or from imperdl's global generator."""
    if seed is not None:
        return onp.random.RandomState(seed).random_sample(x.shape)
    return np.random.rand(*x.shape)


def _mask_dtype(x):
    """The mask's dtype: x's for floats (a float32 net stays float32); float64 for integer inputs, as NumPy's
    ``x * (kept / p)`` would give (1 / p truncated to an integer would be a silent wrong answer)."""
    return x.dtype if x.dtype.kind == "f" else onp.float64


# ------------------------------------------------------------------------------------------------ conv / pool
def conv(x: Any, w: Any, b: Any, conv_param: dict):
    """Convolution of x (N, C, H, W) with filters w (F, C, HH, WW) and bias b (F,).

    ``conv_param``: 'stride' (default 1) and 'pad' (default 0), each an int or an (h, w) pair; zero padding.
    Output (N, F, 1 + (H + 2 pad - HH) // stride, 1 + (W + 2 pad - WW) // stride).
    """
    _check_keys("conv", conv_param, {"stride", "pad"})
    return conv2d(x, w, b, stride=conv_param.get("stride", 1), pad=conv_param.get("pad", 0))


_POOL_KEYS = {"pool_height", "pool_width", "stride"}


def _pool_args(pool_param: dict, name: str) -> dict:
    _check_keys(name, pool_param, _POOL_KEYS)
    return {"pool_height": pool_param.get("pool_height", 2), "pool_width": pool_param.get("pool_width", 2),
            "stride": pool_param.get("stride", 2)}


def max_pool(x: Any, pool_param: dict):
    """Max pooling of x (N, C, H, W); ``pool_param``: 'pool_height', 'pool_width', 'stride' (all default 2)."""
    return max_pool2d(x, **_pool_args(pool_param, "max_pool"))


def avg_pool(x: Any, pool_param: dict):
    """Average pooling of x (N, C, H, W); ``pool_param`` as for ``max_pool``."""
    return avg_pool2d(x, **_pool_args(pool_param, "avg_pool"))


# ------------------------------------------------------------------------------------------------ losses
def svm_loss(x: Any, y: Any):
    """Multiclass hinge loss: mean over samples of sum over j != y_i of max(0, x_ij - x_iy_i + 1).

    x: scores (N, C); y: integer labels (N,).
    """
    x = np.asarray(x)
    _check_ndim("svm_loss", "x", x, 2, "scores (N, C)")
    n, c = x.shape
    y = _labels("svm_loss", y, n)
    correct = np.reshape(x[onp.arange(n), y], (n, 1))
    others = np.ones((n, c), dtype=x.dtype)
    others[onp.arange(n), y] = 0
    return np.sum(np.maximum(x - correct + 1, 0) * others) / n


def softmax_loss(x: Any, y: Any):
    """Cross-entropy of softmax(x) against integer labels y (N,), averaged over the N rows of x (N, C)."""
    x = np.asarray(x)
    _check_ndim("softmax_loss", "x", x, 2, "scores (N, C)")
    n = x.shape[0]
    y = _labels("softmax_loss", y, n)
    return -np.sum(_log_softmax(x, axis=1)[onp.arange(n), y]) / n


def l2_loss(x: Any, y: Any):
    """0.5 * (1/N) * sum over all entries of (x - y)**2, i.e. half the per-sample squared error, averaged over N.

    y may have any shape with x's number of entries (targets (N,) against predictions (N, 1) are common); it is
    reshaped to x's shape.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if y.size != x.size:
        raise ValueError(f"l2_loss: targets of shape {tuple(y.shape)} do not match predictions of shape "
                         f"{tuple(x.shape)}")
    diff = x - np.reshape(y, x.shape)
    return 0.5 * np.sum(diff * diff) / x.shape[0]


def softmax_cross_entropy(prob: Any, y: Any):
    """MinPy's loss on probabilities: -(1/N) sum_i log prob[i, y_i].

    ``y`` is either integer labels (N,) or a one-hot / soft-target matrix of prob's shape (N, C). The
    probabilities are used as given (no clipping): a zero probability on the target gives an infinite loss.
    """
    prob = np.asarray(prob)
    _check_ndim("softmax_cross_entropy", "prob", prob, 2, "probabilities (N, C)")
    n = prob.shape[0]
    y = _constant(y)
    if y.ndim == 1:
        labels = _labels("softmax_cross_entropy", y, n)
        return -np.sum(np.log(prob[onp.arange(n), labels])) / n
    if tuple(y.shape) != tuple(prob.shape):
        raise ValueError(f"softmax_cross_entropy: y must be integer labels ({n},) or one-hot {tuple(prob.shape)}, "
                         f"got shape {tuple(y.shape)}")
    return -np.sum(np.log(prob) * y) / n


# ------------------------------------------------------------------------------------------------ recurrent
def rnn_step(x: Any, prev_h: Any, Wx: Any, Wh: Any, b: Any):
    """One vanilla RNN step: tanh(x Wx + prev_h Wh + b); x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,)."""
    return np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)


def _time_major(name: str, x: Any) -> Any:
    x = np.asarray(x)
    _check_ndim(name, "x", x, 3, "(N, T, D)")
    return x


def _unroll(name: str, step, x: Any, h0: Any, *weights: Any):
    """``step`` over the time axis of x (N, T, D) from h0: the hidden states stacked (N, T, H)."""
    x = _time_major(name, x)
    h = h0
    hs = []
    for t in range(x.shape[1]):
        h = step(x[:, t, :], h, *weights)
        hs.append(h)
    return np.stack(hs, axis=1)


def rnn(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any):
    """A vanilla RNN over x (N, T, D) from h0 (N, H): hidden states (N, T, H)."""
    return _unroll("rnn", rnn_step, x, h0, Wx, Wh, b)


def lstm_step(x: Any, prev_h: Any, prev_c: Any, Wx: Any, Wh: Any, b: Any):
    """One LSTM step -> (next_h, next_c). Wx (D, 4H), Wh (H, 4H), b (4H,) hold the gates in the order
    input i, forget f, output o, candidate g (the course's order)."""
    H = prev_h.shape[1]
    a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c


def lstm(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any):
    """An LSTM over x (N, T, D) from h0 (N, H) and a zero initial cell: hidden states (N, T, H)."""
    x = _time_major("lstm", x)
    h = np.asarray(h0)
    c = np.zeros(h.shape, dtype=h.dtype)
    hs = []
    for t in range(x.shape[1]):
        h, c = lstm_step(x[:, t, :], h, c, Wx, Wh, b)
        hs.append(h)
    return np.stack(hs, axis=1)


def gru_step(x: Any, prev_h: Any, Wx: Any, Wh: Any, b: Any):
    """One GRU step. Wx (D, 3H), Wh (H, 3H), b (3H,) hold the blocks in the order reset r, update z, candidate n:

        r = sigmoid(x Wx_r + prev_h Wh_r + b_r)
        z = sigmoid(x Wx_z + prev_h Wh_z + b_z)
        n = tanh(x Wx_n + (r * prev_h) Wh_n + b_n)
        next_h = (1 - z) * n + z * prev_h

    (Cho et al.'s form: the reset gate scales the previous state before its product with Wh_n.)
    """
    H = prev_h.shape[1]
    ax = np.dot(x, Wx) + b
    ah = np.dot(prev_h, Wh[:, :2 * H])
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:])
    n = np.tanh(ax[:, 2 * H:] + np.dot(r * prev_h, Wh[:, 2 * H:]))
    return (1 - z) * n + z * prev_h


def gru(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any):
    """A GRU over x (N, T, D) from h0 (N, H): hidden states (N, T, H); gate layout as in ``gru_step``."""
    return _unroll("gru", gru_step, x, h0, Wx, Wh, b)


def word_embedding(x: Any, W: Any):
    """Rows of W (V, D) picked by the integer indices x (N, T): (N, T, D). The gradient is a scatter-add into W."""
    idx = onp.asarray(x)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"word_embedding: indices must be integers, got dtype {idx.dtype}")
    return np.asarray(W)[idx]


def temporal_affine(x: Any, w: Any, b: Any):
    """The same affine map at every time step: x (N, T, D), w (D, M), b (M,) -> (N, T, M)."""
    x = _time_major("temporal_affine", x)
    n, t, d = x.shape
    return np.reshape(np.dot(np.reshape(x, (n * t, d)), w) + b, (n, t, w.shape[1]))


def temporal_softmax_loss(x: Any, y: Any, mask: Any):
    """Softmax cross-entropy at every time step where ``mask`` is true, summed and divided by N.

    x: scores (N, T, V); y: integer targets (N, T); mask: booleans (N, T) (false at padding).
    """
    x = _time_major("temporal_softmax_loss", x)
    n, t, v = x.shape
    y, mask = _constant(y), _constant(mask)
    if tuple(y.shape) != (n, t) or tuple(mask.shape) != (n, t):
        raise ValueError(f"temporal_softmax_loss: y {tuple(y.shape)} and mask {tuple(mask.shape)} must both be "
                         f"({n}, {t}) to match x {tuple(x.shape)}")
    y = _labels("temporal_softmax_loss", y.reshape(n * t), n * t)
    logp = _log_softmax(np.reshape(x, (n * t, v)), axis=1)
    picked = logp[onp.arange(n * t), y]
    return -np.sum(picked * mask.reshape(n * t).astype(x.dtype)) / n
