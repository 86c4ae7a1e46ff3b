"""Gradient rules for ``scipy.signal.convolve`` and ``correlate`` (real inputs, modes full/valid/same).

Every mode is a window of the full convolution, so the cotangent is first placed in a zero full-size array;
then the gradient for one input is the 'valid' convolution of that with the other input reversed: itself a
convolution, so higher orders follow. ``correlate(a, b)`` is ``convolve(a, reversed b)``.
"""
from __future__ import annotations

from . import defgrad


def _np():
    import imperdl.numpy as np

    return np


def _conv():
    from .._registry import primitive

    return primitive("signal.convolve")


def _full_cotangent(g, in1, in2):
    """``g`` padded to the full convolution's shape at the place the mode's window took (SciPy centres it)."""
    pads = []
    for n1, n2, lo in zip(in1.shape, in2.shape, g.shape):
        full = n1 + n2 - 1
        start = (full - lo) // 2
        pads.append((start, full - lo - start))
    return _np().pad(g, pads) if any(p != (0, 0) for p in pads) else g


def _conv_in1(g, ans, in1, in2, mode="full", method="auto", **_):
    return _conv()(_full_cotangent(g, in1, in2), _np().flip(in2), "valid", method)


def _conv_in2(g, ans, in1, in2, mode="full", method="auto", **_):
    return _conv()(_full_cotangent(g, in1, in2), _np().flip(in1), "valid", method)


defgrad("signal.convolve", "in1 in2 mode='full' method='auto'", in1=_conv_in1, in2=_conv_in2)
defgrad("signal.correlate", "in1 in2 mode='full' method='auto'",
        in1=lambda g, ans, in1, in2, **kw: _conv_in1(g, ans, in1, _np().flip(in2), **kw),
        in2=lambda g, ans, in1, in2, **kw: _np().flip(_conv_in2(g, ans, in1, _np().flip(in2), **kw)))
