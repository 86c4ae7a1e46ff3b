"""A pytree (any nesting of lists, tuples and dicts with arrays or scalars at the leaves) as one 1-D vector.

``flatten(tree) -> (vector, unflatten)``; ``unflatten(vector)`` rebuilds the tree's structure. Dict entries go into
the vector in sorted key order and come back in the dict's own order, as in ``autograd.misc.flatten``. Both
directions are written with imperdl.numpy operations, so gradients flow through them (``grad`` of a function of
``unflatten(v)`` w.r.t. ``v`` is the flattened gradient).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy


def _leaves(tree, out: list) -> list:
    t = type(tree)
    if t is list or t is tuple:
        for e in tree:
            _leaves(e, out)
    elif t is dict:
        for k in sorted(tree):
            _leaves(tree[k], out)
    else:
        out.append(tree)
    return out


def _rebuild(tree, pieces):
    """``tree``'s structure with its leaves taken, in flattening order, from the iterator ``pieces``."""
    t = type(tree)
    if t is list or t is tuple:
        return t(_rebuild(e, pieces) for e in tree)
    if t is dict:
        built = {k: _rebuild(tree[k], pieces) for k in sorted(tree)}
        return {k: built[k] for k in tree}
    return next(pieces)


def flatten(value: Any) -> tuple:
    """``(vector, unflatten)``: the leaves of ``value`` raveled and concatenated, and the inverse map."""
    import imperdl.numpy as np

    leaves = _leaves(value, [])
    shapes = [numpy.shape(leaf) for leaf in leaves]
    dtypes = [_dtype_of(leaf) for leaf in leaves]
    vector = np.concatenate([np.ravel(leaf) for leaf in leaves]) if leaves else np.array([])
    sizes = [int(numpy.prod(s, dtype=numpy.int64)) for s in shapes]

    def unflatten(vec):
        vec = vec if hasattr(vec, "shape") else np.asarray(vec)
        if vec.shape != (sum(sizes),):
            raise ValueError(f"unflatten: expected a vector of shape ({sum(sizes)},), got {vec.shape}")
        parts = []
        start = 0
        for shape, size, dt in zip(shapes, sizes, dtypes):
            piece = np.reshape(vec[start:start + size], shape)
            if dt is not None and piece.dtype != dt:
                piece = piece.astype(dt)
            parts.append(piece)
            start += size
        return _rebuild(value, iter(parts))

    return vector, unflatten


def _dtype_of(leaf):
    """The dtype a leaf comes back with: its own when inexact (float32 stays float32), else the vector's."""
    dt = getattr(leaf, "dtype", None)
    if dt is None:
        return None
    dt = numpy.dtype(dt)
    return dt if dt.kind in "fc" else None


def flatten_func(func: Callable, example: Any) -> tuple:
    """``(flat_func, unflatten, flat_example)``: ``flat_func(vector, *args)`` is ``func`` on the unflattened vector,
    its result flattened."""
    flat_example, unflatten = flatten(example)

    def flat_func(vec, *args):
        return flatten(func(unflatten(vec), *args))[0]

    return flat_func, unflatten, flat_example


__all__ = ["flatten", "flatten_func"]
