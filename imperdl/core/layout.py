"""NumPy's memory layout of an Array, for the calls whose *values* depend on it: ``ravel``, ``flatten`` and
``reshape`` with ``order='A'`` or ``'K'`` read the elements in memory order.

An MXNet result is always C-contiguous, while NumPy's ``x.T`` is a Fortran-ordered view: read as it lies, the
MXNet copy gives ``x.T.flatten('A')`` in the wrong order. An Array's NumPy layout is known without its data:
a view replays its chain of view operations on a scratch buffer of its root's shape (never touched, so
nothing is computed or copied), any other Array has its host buffer's layout, or C's. The layout turns 'A'
and 'K' into 'C', 'F' or a transposition read in C order, which every backend can then run (and differentiate).
Layouts made by computations (NumPy's ``x.T + 1`` keeps the Fortran order of ``x.T``) are not tracked: a
computed Array is C-ordered, as the MXNet result it may be.
"""
from __future__ import annotations

import numpy

from .array import Array, replay_on_host
from .dispatch import Primitive

# name -> position of the ``order`` argument
ORDER_POSITION = {"ravel": 1, "ndarray.flatten": 1, "reshape": 2}


def scratch_view(a: Array):
    """A NumPy array with ``a``'s strides as NumPy would have them (contents meaningless), or None for a
    C-contiguous Array without host data. For a view, the second value is the scratch root it replays on."""
    v = a._view
    if v is None:
        return a._data[0], None
    root, chain, _ = v
    host = root._data[0]
    scratch = numpy.empty_like(host) if host is not None else numpy.empty(root.shape, dtype=root.dtype)
    return replay_on_host(scratch, chain), scratch


def resolve_order(a: Array, order: str):
    """'A' or 'K' for ``a`` as NumPy reads it: 'C', 'F', or (K of a layout neither) the axes, outermost
    first, whose C order is NumPy's reading order."""
    x, _ = scratch_view(a)
    if x is None or x.flags.c_contiguous:
        return "C"
    if x.flags.f_contiguous:
        return "F"
    if order == "A":
        return "C"
    axes = _memory_axes(x.strides)
    if axes == list(range(x.ndim)):
        return "C"
    return tuple(axes)


def _memory_axes(strides) -> list:
    """The axes, outermost first, in the order NumPy's iterator walks memory for 'K': sorted by decreasing
    stride magnitude (a zero stride, a broadcast axis, keeps its place; reversed axes are not read forwards)."""
    perm = list(range(len(strides)))[::-1]  # innermost first
    for i0 in range(1, len(perm)):
        s0, ipos = abs(strides[perm[i0]]), i0
        for i1 in range(i0 - 1, -1, -1):
            s1 = abs(strides[perm[i1]])
            if s0 and s1:
                if s1 <= s0:
                    break
                ipos = i1
        perm.insert(ipos, perm.pop(i0))
    return perm[::-1]

class LayoutOrdered(Primitive):
    """A primitive with an ``order`` argument: 'A' and 'K' are resolved from the Array's NumPy layout before
    dispatch (see the module docstring). Only ravel, flatten and reshape are made of this class."""

    def __call__(self, *args, **kwargs):
        pos = ORDER_POSITION[self.name]
        order = kwargs["order"] if "order" in kwargs else args[pos] if len(args) > pos else "C"
        if type(order) is not str or order not in ("A", "K", "a", "k") or not args or type(args[0]) is not Array:
            return Primitive.__call__(self, *args, **kwargs)
        a = args[0]
        how = resolve_order(a, order.upper())
        if type(how) is not str:  # 'K' of a mixed layout (ravel, flatten: reshape refuses 'K' as NumPy does)
            if self.name == "reshape":
                return Primitive.__call__(self, *args, **kwargs)
            from .registry import primitive

            return Primitive.__call__(self, primitive("transpose")(a, how), "C")
        if self.name == "reshape" and order in ("K", "k"):
            return Primitive.__call__(self, *args, **kwargs)  # NumPy's ValueError
        if "order" in kwargs:
            return Primitive.__call__(self, *args, **dict(kwargs, order=how))
        return Primitive.__call__(self, *args[:pos], how, *args[pos + 1:], **kwargs)
