"""Gradient rules: ``numpy.fft``, in HIPS autograd's complex convention.

A DFT is a symmetric complex-linear map, so (autograd's convention: the vjp of a holomorphic map is its plain
transpose) the vjp of ``fftn`` is ``fftn`` of ``g`` and that of ``ifftn`` is ``ifftn``; ``s``/``n`` crop or
zero-pad the input, so the gradient is padded or cropped back. The real transforms are real-linear: ``rfft``
keeps half a spectrum (its vjp is the real part of ``fftn`` of the zero-padded ``g``), ``irfft`` reads half a
spectrum and mirrors it (its vjp is ``ifftn(g)`` cut to that half, doubled where a bin stands for two). A real
input gets the real part of its gradient.
"""
from __future__ import annotations

import numpy as onp

from . import defvjp
from .util import match_real, shape_of


def _np():
    import imperdl.numpy as np

    return np


def _plan(x, s, axes, one_d=False):
    """(axes, lengths) of a transform call, as NumPy resolves them; lengths None where the input's own."""
    n = len(shape_of(x))
    if one_d:
        axes = [axes]
        s = None if s is None else [s]
    elif axes is None:
        axes = list(range(n)) if s is None else list(range(n - len(s), n))
    axes = [int(a) % n for a in axes]
    if len(set(axes)) != len(axes):
        raise NotImplementedError("fft: no gradient for a transform that repeats an axis")
    lengths = [shape_of(x)[a] for a in axes] if s is None else [int(v) for v in s]
    return axes, lengths


def _fit(r, shape, axes):
    """Crop or zero-pad ``r`` along ``axes`` to ``shape``'s lengths (undoing what ``n``/``s`` did)."""
    np = _np()
    for a in axes:
        cur, want = shape_of(r)[a], shape[a]
        if cur > want:
            r = r[(slice(None),) * a + (slice(0, want),)]
        elif cur < want:
            widths = [(0, 0)] * len(shape_of(r))
            widths[a] = (0, want - cur)
            r = np.pad(r, widths)
    return r


def _complex_grad(g, a, axes, inverse, norm):
    np = _np()
    fn = np.fft.ifftn if inverse else np.fft.fftn
    return match_real(_fit(fn(g, axes=axes, norm=norm), shape_of(a), axes), a)


def _rule(inverse, kind):
    """kind: '1' (fft(a, n, axis)), '2' (fft2(a, s, axes=(-2, -1))), 'n' (fftn(a, s, axes))."""
    if kind == "1":
        def vjp(g, ans, a, n=None, axis=-1, norm=None):
            return _complex_grad(g, a, _plan(a, n, axis, True)[0], inverse, norm)
    elif kind == "2":
        def vjp(g, ans, a, s=None, axes=(-2, -1), norm=None):
            return _complex_grad(g, a, _plan(a, s, axes)[0], inverse, norm)
    else:
        def vjp(g, ans, a, s=None, axes=None, norm=None):
            return _complex_grad(g, a, _plan(a, s, axes)[0], inverse, norm)
    return vjp


for _inv, _pre in ((False, ""), (True, "i")):
    defvjp(f"fft.{_pre}fft", _rule(_inv, "1"), reads=(1, 2))  # (linear: of the input, its shape and dtype)
    defvjp(f"fft.{_pre}fft2", _rule(_inv, "2"), reads=(1, 2))
    defvjp(f"fft.{_pre}fftn", _rule(_inv, "n"), reads=(1, 2))


def _rfft_grad(g, a, axes, lengths, norm):
    np = _np()
    last, n = axes[-1], lengths[-1]
    widths = [(0, 0)] * len(shape_of(g))
    widths[last] = (0, n - shape_of(g)[last])
    gp = np.pad(g, widths) if widths[last][1] else g
    return match_real(_fit(np.real(np.fft.fftn(gp, axes=axes, norm=norm)), shape_of(a), axes), a)


def _irfft_grad(g, a, axes, lengths, norm):
    np = _np()
    last, n = axes[-1], lengths[-1]
    m = n // 2 + 1
    r = np.fft.ifftn(g, axes=axes, norm=norm)
    r = r[(slice(None),) * last + (slice(0, m),)]
    fac = onp.full(m, 2.0)
    fac[0] = 1.0
    if n % 2 == 0:
        fac[-1] = 1.0
    r = r * fac.reshape((m,) + (1,) * (len(shape_of(r)) - last - 1))
    return match_real(_fit(r, shape_of(a), axes), a)


def _irfft_plan(a, s, axes, one_d):
    """Like ``_plan``, but the default output length of the last axis is 2 * (m - 1)."""
    ax, lengths = _plan(a, s, axes, one_d)
    if s is None:
        lengths[-1] = 2 * (shape_of(a)[ax[-1]] - 1)
    return ax, lengths


# (all linear: of the input, they read its shape and dtype; positions 1-2 are lengths and axes)
defvjp("fft.rfft", lambda g, ans, a, n=None, axis=-1, norm=None: _rfft_grad(g, a, *_plan(a, n, axis, True), norm),
       reads=(1, 2))
defvjp("fft.rfft2", lambda g, ans, a, s=None, axes=(-2, -1), norm=None: _rfft_grad(
    g, a, *_plan(a, s, axes), norm), reads=(1, 2))
defvjp("fft.rfftn", lambda g, ans, a, s=None, axes=None, norm=None: _rfft_grad(g, a, *_plan(a, s, axes), norm),
       reads=(1, 2))
defvjp("fft.irfft", lambda g, ans, a, n=None, axis=-1, norm=None: _irfft_grad(
    g, a, *_irfft_plan(a, n, axis, True), norm), reads=(1, 2))
defvjp("fft.irfft2", lambda g, ans, a, s=None, axes=(-2, -1), norm=None: _irfft_grad(
    g, a, *_irfft_plan(a, s, axes, False), norm), reads=(1, 2))
defvjp("fft.irfftn", lambda g, ans, a, s=None, axes=None, norm=None: _irfft_grad(
    g, a, *_irfft_plan(a, s, axes, False), norm), reads=(1, 2))
defvjp("fft.fftshift", lambda g, ans, x, axes=None: match_real(_np().fft.ifftshift(g, axes), x), reads=(1,))
defvjp("fft.ifftshift", lambda g, ans, x, axes=None: match_real(_np().fft.fftshift(g, axes), x), reads=(1,))
