"""Gradient cases for indexing rules (``imperdl/core/rules/indexing.py``); contract in ``checker.py``.

Reads cover basic keys (ints, slices with steps, None, Ellipsis), integer arrays with repeated indices (the
scatter-add must accumulate), boolean masks and mixed keys; writes check both the overwritten array and the
written value, including a broadcast value.
"""
from __future__ import annotations

import numpy as onp


def read(shape, key):
    return lambda rng: ((rng.standard_normal(shape), key), {}, (0,))


def write(shape, key, vshape):
    return lambda rng: ((rng.standard_normal(shape), key, rng.standard_normal(vshape)), {}, (0, 2))


def _mask(rng):
    x = rng.standard_normal((3, 4))
    return (x, x > 0.2), {}, (0,)


def _write_mask(rng):
    x = rng.standard_normal((3, 4))
    m = onp.zeros((3, 4), dtype=bool)
    m[[0, 2, 2], [1, 0, 3]] = True
    return (x, m, rng.standard_normal(3)), {}, (0, 2)


GRAD_CASES = {
    "ndarray.__getitem__": [
        read((3, 4), 1),
        read((3, 4), (slice(None), -1)),
        read((4, 5), (slice(3, 0, -2), slice(None, None, 2))),
        read((2, 3, 4), (Ellipsis, None, 1)),
        read((5, 3), (slice(None, None, -1), slice(1, 9))),
        read((2, 6), (-1, slice(4, 1, -1))),
        read((2, 3, 4), (None, 1, Ellipsis, slice(1, 1))),
        read((2, 3), (slice(-9, 1), None)),
        read((5,), onp.array([0, 2, 2, 4, 0])),
        read((3, 4), (onp.array([0, 2, 2]), onp.array([1, 1, 3]))),
        read((3, 4, 2), (slice(None), [3, 0, 3], 1)),
        read((3, 4), (1, 2)),
        _mask,
    ],
    "ndarray.__setitem__": [
        write((3, 4), 1, (4,)),
        write((3, 4), (slice(None), slice(1, 3)), (3, 1)),
        write((4, 3), onp.array([0, 3]), (2, 3)),
        write((3, 4), (slice(0, 2), 0), ()),
        _write_mask,
    ],
}
