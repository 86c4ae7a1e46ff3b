"""Gradient rules: arrays built from values (``array`` & co, ``linspace``).

``array(seq)`` is a stack of its elements: element ``j`` gets ``g[j]``. Nested lists are lifted to ``array``
calls of their own when recorded (``core.lift``), so this one rule covers every depth, and every NumPy function
given a list holding traced values (``mean([x, y])``, ``concatenate([[x0, x1], y])``) is differentiated as a
function of that array. ``ndmin`` only prepends axes of length 1, which the rule skips.
"""
from __future__ import annotations

import numpy as onp

from . import defvjp, defvjp_argnums
from .util import shape_of, unbroadcast


def _np():
    import imperdl.numpy as np

    return np


def _from_sequence(pos, g, ans, args, kwargs):
    if type(pos) is int and pos == 0 or pos in ("a", "object"):
        x = args[0] if type(pos) is int else kwargs[pos]
        return _np().reshape(g, shape_of(x))  # (a copy, a cast, or axes of length 1 added by ndmin)
    if type(pos) is tuple and pos[0] == 0:
        element = args[0][pos[1]]
        prepended = len(shape_of(ans)) - 1 - len(shape_of(element))
        return g[(0,) * prepended + (pos[1],)]
    raise NotImplementedError(f"array: no gradient with respect to argument {pos!r}")


for _name in ("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "asarray_chkfinite"):
    defvjp_argnums(_name, _from_sequence, sequences=(0,), reads=())  # (shapes only)


# ------------------------------------------------------------------ linspace: samples at fixed fractions
def _fractions(ans, num, endpoint, axis):
    """The fraction ``t_k`` of the way from start to stop of each sample, shaped to broadcast along ``axis``
    of the result (NumPy: ``start + k * (stop - start) / div``, ``div = num - 1`` or ``num``)."""
    num = int(num)
    div = (num - 1) if endpoint else num
    t = onp.arange(num, dtype=float) / div if div > 0 else onp.zeros(num)
    nd = len(shape_of(ans[0] if isinstance(ans, tuple) else ans))
    ax = axis % nd if nd else 0
    return t.reshape((num,) + (1,) * (nd - 1 - ax)), ax, div


def _linspace(which):
    def vjp(g, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
        np = _np()
        t, ax, div = _fractions(ans, num, endpoint, axis)
        gs, gstep = (g[0], g[1]) if retstep else (g, None)
        w = t if which == 1 else 1.0 - t
        r = np.sum(gs * w, axis=ax)
        if gstep is not None and div > 0:
            r = r + (gstep / div if which == 1 else -gstep / div)
        x = stop if which == 1 else start
        return unbroadcast(r, x)

    return vjp


defvjp("linspace", _linspace(0), _linspace(1), kw={"start": _linspace(0), "stop": _linspace(1)},
       reads=(2, 3, 4, 5, 6))  # (start and stop: their shapes)
