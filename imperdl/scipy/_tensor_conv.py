"""HIPS autograd's generalized convolution: ``convolve(A, B, axes=..., dot_axes=..., mode=...)``.

Autograd's ``scipy.signal.convolve`` convolves along chosen pairs of axes and contracts others (a batch of images
against a bank of filters in one call); SciPy's has neither keyword. It is written here as a composition of
imperdl primitives (one sliced ``tensordot`` per filter offset, summed), so it is differentiable to any order
without a rule of its own. The result's axes are A's free axes, B's free axes, then the convolved axes.
"""
from __future__ import annotations

import itertools


def _np():
    import imperdl.numpy as np

    return np


def tensor_convolve(A, B, axes=None, dot_axes=((), ()), mode="full"):
    np = _np()
    if mode not in ("full", "valid"):
        raise ValueError(f"imperdl.scipy.signal.convolve with axes/dot_axes: mode must be 'full' or 'valid', "
                         f"got {mode!r}")
    if axes is None:
        axes = (tuple(range(A.ndim)), tuple(range(A.ndim)))
    conv = [tuple(axes[0]), tuple(axes[1])]
    dots = [tuple(dot_axes[0]), tuple(dot_axes[1])]
    free = [tuple(i for i in range(x.ndim) if i not in conv[k] and i not in dots[k]) for k, x in enumerate((A, B))]
    if mode == "full":  # zero-pad A so that the full result is A's 'valid' window against B
        pad = [(0, 0)] * A.ndim
        for ia, ib in zip(*conv):
            pad[ia] = (B.shape[ib] - 1,) * 2
        A = np.pad(A, pad)
    a_big = all(A.shape[ia] >= B.shape[ib] for ia, ib in zip(*conv))
    if not a_big and not all(A.shape[ia] <= B.shape[ib] for ia, ib in zip(*conv)):
        raise ValueError("imperdl.scipy.signal.convolve: in 'valid' mode one array must be at least as large as "
                         f"the other along every convolved axis (shapes {A.shape} and {B.shape}, axes {axes})")
    big, small = (0, 1) if a_big else (1, 0)
    X, Y = (A, B) if a_big else (B, A)
    cx, cy = conv[big], conv[small]
    out_len = {ax: X.shape[ax] - Y.shape[ay] + 1 for ax, ay in zip(cx, cy)}
    rest_x = [i for i in range(X.ndim) if i not in dots[big]]
    y_kept = [i for i in range(Y.ndim) if i not in cy]
    dot_y = [y_kept.index(i) for i in dots[small]]
    total = None
    for offset in itertools.product(*(range(Y.shape[ay]) for ay in cy)):
        xs = [slice(None)] * X.ndim
        ys = [slice(None)] * Y.ndim
        for ax, ay, o in zip(cx, cy, offset):
            xs[ax] = slice(o, o + out_len[ax])
            ys[ay] = Y.shape[ay] - 1 - o
        term = np.tensordot(X[tuple(xs)], Y[tuple(ys)], axes=(list(dots[big]), dot_y))
        total = term if total is None else total + term
    # term axes: X's non-contracted axes in order, then Y's free axes
    pos_x = {ax: k for k, ax in enumerate(rest_x)}
    pos_y = {ax: len(rest_x) + k for k, ax in enumerate(free[small])}
    pos = (pos_x, pos_y) if a_big else (pos_y, pos_x)
    order = [pos[0][i] for i in free[0]] + [pos[1][i] for i in free[1]] + [pos_x[ax] for ax in cx]
    return np.transpose(total, order) if order != sorted(order) else total
