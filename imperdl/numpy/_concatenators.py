"""``np.r_`` and ``np.c_`` that differentiate: NumPy's own objects decide the layout, the tape sees a gather.

NumPy's ``r_[...]`` converts each item with ``numpy.array``, which cannot see through a traced Array. Without
traced items the call is NumPy's on host values. With them, NumPy's object runs twice: on the values (the result,
exactly NumPy's) and on an index map, where each traced item is replaced by the positions of its elements in one
flat vector of all traced items and everything else (numbers, slices, plain arrays) by ``-1``. The result is then
``where(index >= 0, take(concatenate(traced items), index), value)``, recorded like any other computation.
"""
from __future__ import annotations

import numpy

from ..core.array import Array
from ..core.lift import traced as _traced


def _host(x):
    if type(x) is Array:
        from ..core.recording import state, value_read

        if state.stack:
            value_read(x, "numpy's r_/c_ on an imperdl Array")
        return x._get(0)
    if type(x) in (list, tuple):
        return type(x)(_host(e) for e in x)
    return x


class _Concatenator:
    def __init__(self, target):
        self._target = target  # numpy.r_ or numpy.c_

    def __len__(self):
        return 0

    def __getitem__(self, key):
        import imperdl.numpy as np

        items = key if type(key) is tuple else (key,)
        if not _traced(items):
            out = self._target[_host(key)]
            return Array(out) if type(out) is numpy.ndarray else out
        if any(isinstance(it, str) and it in ("r", "c") for it in items):
            raise TypeError("imperdl.numpy.r_/c_: the matrix directives 'r' and 'c' are not differentiable")
        items = tuple(np.array(it) if type(it) in (list, tuple) and _traced(it) else it for it in items)
        value = self._target[_host(items)]
        traced, index_items, offset = [], [], 0
        for it in items:
            if type(it) is Array and _traced(it):
                traced.append(it)
                index_items.append(numpy.arange(offset, offset + it.size).reshape(it.shape))
                offset += it.size
            elif isinstance(it, (str, slice)):
                index_items.append(it if isinstance(it, str) else numpy.full(numpy.r_[it].shape, -1))
            elif numpy.ndim(_host(it)) == 0 and not isinstance(it, (Array, numpy.ndarray)):
                index_items.append(-1)
            else:
                index_items.append(numpy.full(numpy.shape(_host(it)), -1))
        index = self._target[tuple(index_items)]
        flat = np.concatenate([np.ravel(t) for t in traced])
        picked = np.take(flat, numpy.maximum(index, 0))
        out = np.where(index >= 0, picked, value)
        return out if out.dtype == value.dtype else out.astype(value.dtype)


r_ = _Concatenator(numpy.r_)
c_ = _Concatenator(numpy.c_)
