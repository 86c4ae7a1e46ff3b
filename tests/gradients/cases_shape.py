"""Gradient cases for shape rules (``imperdl/core/rules/shape.py``); contract in ``checker.py``.

Shape functions are linear, so any float64 input works; the cases vary the arguments that decide *where* each
element goes (axes, negative axes, permutations, shifts, ``n``/sections, pad modes) and use repeated indices
where a gather must accumulate. Sequence arguments (``concatenate`` & co) go through a ``fun`` wrapper taking
the pieces as positional arguments.
"""
from __future__ import annotations

import numpy as onp

import imperdl.numpy as inp


def arr(*shapes, fixed=(), **kwargs):
    """Random float64 arrays of ``shapes`` (all differentiated), then the non-array arguments ``fixed``."""
    def case(rng):
        xs = tuple(rng.standard_normal(s) for s in shapes)
        return xs + tuple(fixed), kwargs, tuple(range(len(shapes)))

    return case


def joined(fn, *shapes, **kwargs):
    """``fn([a, b, ...], **kwargs)`` with each piece differentiated."""
    def case(rng):
        xs = tuple(rng.standard_normal(s) for s in shapes)
        return xs, {}, tuple(range(len(shapes))), {"fun": lambda *a: fn(list(a), **kwargs)}

    return case


def fun(f, *shapes):
    """``f(*arrays)`` for a callable that needs Python arguments the checker cannot pass through."""
    def case(rng):
        xs = tuple(rng.standard_normal(s) for s in shapes)
        return xs, {}, tuple(range(len(shapes))), {"fun": f}

    return case


def _sort_case(axis):
    def case(rng):
        x = rng.permutation(24).reshape(2, 3, 4) + rng.uniform(0, 0.1, (2, 3, 4))
        return (x,), {"axis": axis}, (0,)

    return case


def _take_repeated(rng):
    return (rng.standard_normal((3, 4)), onp.array([[0, 2], [2, 2]])), {"axis": 1}, (0,)


def _take_flat(rng):
    return (rng.standard_normal((3, 4)), onp.array([0, 5, 5, 11, 0])), {}, (0,)


def _take_along(rng):
    x = rng.standard_normal((3, 4))
    return (x, onp.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]]), 1), {}, (0,)


def _compress(rng):
    return (onp.array([True, False, True]), rng.standard_normal((3, 2))), {"axis": 0}, (1,)


def _extract(rng):
    x = rng.standard_normal((3, 4))
    return (x > 0, x), {}, (1,)


def _bincount(rng):
    return (onp.array([0, 3, 3, 1, 5]), rng.standard_normal(5)), {"minlength": 7}, (1,)


def _split(name, n, axis=None, shape=(4, 6)):
    def case(rng):
        kw = {} if axis is None else {"axis": axis}
        return (rng.standard_normal(shape), n), kw, (0,)

    return case


def _split_first_only(rng):
    """Only one output of the split used: the others reach the rule as zeros."""
    return (rng.standard_normal((6, 2)),), {}, (0,), {"fun": lambda a: inp.split(a, [1, 4])[1] * 2.0}


def _astype32(rng):
    return (rng.standard_normal((2, 3)).astype(onp.float32),), {}, (0,), {
        "fun": lambda a: a.astype(onp.float64) * 3.0, "order": 1, "rtol": 1e-3, "atol": 1e-4, "eps": 1e-3}


def _choose_list(rng):
    idx = onp.array([[0, 2, 1], [2, 2, 0]])
    return (rng.standard_normal((2, 3)), rng.standard_normal((3,)), rng.standard_normal((2, 1))), {}, (0, 1, 2), {
        "fun": lambda a, b, c: inp.choose(inp.array(idx), [a, b, c])}


def _choose_array(rng):
    return (onp.array([[1, 0, 1]]), rng.standard_normal((2, 2, 3))), {}, (1,)


def _partition(rng):
    x = rng.permutation(20).reshape(4, 5) + rng.uniform(0, 0.1, (4, 5))
    return (x, 2), {"axis": 1}, (0,)


def _insert_both(rng):
    return (rng.standard_normal((2, 3)), [1, 3], rng.standard_normal((2,))), {"axis": 1}, (0, 2)


def _diff_ends(rng):
    return (rng.standard_normal((3, 4)),), {"axis": 0, "prepend": onp.zeros((1, 4)), "append": 1.0}, (0,)


GRAD_CASES = {
    "reshape": [arr((2, 6), fixed=((3, 4),)), arr((2, 6), fixed=((4, -1),), order="F"),
                fun(lambda a: a.reshape(3, 2, 2), (12,))],
    "ravel": [arr((2, 3, 2)), arr((2, 3), order="F")],
    "ndarray.flatten": arr((3, 2)),
    "squeeze": [arr((1, 3, 1)), arr((2, 1, 3), axis=1)],
    "expand_dims": [arr((2, 3), fixed=(1,)), arr((2, 3), axis=(0, -1))],
    "transpose": [arr((2, 3, 4)), arr((2, 3, 4), fixed=((1, -1, 0),)), fun(lambda a: a.T * 1.0, (2, 3)),
                  fun(lambda a: a.transpose(2, 0, 1), (2, 3, 4))],
    "swapaxes": arr((2, 3, 4), fixed=(0, -1)),
    "moveaxis": [arr((2, 3, 4), fixed=(0, -1)), arr((2, 3, 4, 5), fixed=((0, 1), (3, 0)))],
    "rollaxis": [arr((2, 3, 4, 5), fixed=(3, 1)), arr((2, 3, 4), fixed=(0, 3)), arr((2, 3, 4), fixed=(-1,))],
    "broadcast_to": [arr((3, 1), fixed=((2, 3, 4),)), arr((), fixed=((2, 2),))],
    "full": [fun(lambda v: inp.full((2, 3, 4), v), (3, 1)), fun(lambda v: inp.full((2, 2), v), ()),
             fun(lambda v: inp.full((2, 3), fill_value=v), (3,))],
    "broadcast_arrays": fun(lambda a, b: inp.broadcast_arrays(a, b)[0] * inp.broadcast_arrays(a, b)[1],
                            (3, 1), (1, 4)),
    "atleast_1d": [arr(()), fun(lambda a, b: inp.atleast_1d(a, b)[1] * 2.0, (), (2,))],
    "atleast_2d": [arr((3,)), fun(lambda a, b: inp.atleast_2d(a, b)[0] * 2.0, (), (2,))],
    "atleast_3d": [arr((3,)), arr((2, 3))],
    "ndarray.copy": arr((2, 3)),
    "copy": arr((3,)),
    "ndarray.astype": [arr((2, 3), fixed=(onp.float64,)), arr((2, 3), fixed=(onp.complex128,)), _astype32],
    "concatenate": [joined(inp.concatenate, (2, 3), (1, 3), (4, 3)), joined(inp.concatenate, (2, 3), (2, 1), axis=-1),
                    joined(inp.concatenate, (2, 3), (4,), axis=None)],
    "stack": [joined(inp.stack, (2, 3), (2, 3)), joined(inp.stack, (2, 3), (2, 3), (2, 3), axis=-1)],
    "vstack": joined(inp.vstack, (3,), (2, 3), (1, 3)),
    "hstack": [joined(inp.hstack, (2,), (3,)), joined(inp.hstack, (2, 1), (2, 3))],
    "dstack": joined(inp.dstack, (2,), (1, 2), (1, 2, 3)),
    "column_stack": joined(inp.column_stack, (3,), (3, 2)),
    "split": [_split("split", 2), _split("split", [1, 3], axis=1), _split_first_only],
    "array_split": _split("array_split", 4, axis=1, shape=(2, 7)),
    "hsplit": [_split("hsplit", 2), _split("hsplit", [1], shape=(5,))],
    "vsplit": _split("vsplit", [1, 3]),
    "dsplit": _split("dsplit", 2, shape=(2, 2, 4)),
    "pad": [arr((2, 3), fixed=(((1, 2), (0, 1)),)), arr((3,), fixed=(2,), constant_values=1.5),
            arr((3, 4), fixed=(2,), mode="reflect"), arr((2, 3), fixed=((1, 3),), mode="wrap"),
            arr((2, 3), fixed=(1,), mode="edge"), arr((), fixed=(1,))],
    "tile": [arr((2, 3), fixed=((2, 1, 2),)), arr((3,), fixed=(2,)), arr((2, 1, 2), fixed=((3, 1),))],
    "repeat": [arr((2, 3), fixed=(2,)), arr((2, 3), fixed=(3,), axis=-1),
               arr((2, 3), fixed=([1, 0, 2],), axis=1), arr((4,), fixed=([2, 1, 1, 3],))],
    "flip": [arr((2, 3)), arr((2, 3, 4), axis=(0, 2))],
    "fliplr": arr((2, 3)),
    "flipud": arr((3, 2)),
    "roll": [arr((2, 5), fixed=(2,)), arr((2, 5), fixed=(-3,), axis=1), arr((3, 4), fixed=((1, 2), (0, 1)))],
    "rot90": [arr((2, 3)), arr((2, 3, 4), fixed=(3, (2, 0)))],
    "diag": [arr((3,)), arr((3,), fixed=(-1,)), arr((3, 4), fixed=(1,)), arr((4, 3))],
    "diagonal": [arr((3, 4)), arr((2, 3, 4), fixed=(1, 2, 0))],
    "tril": [arr((3, 4)), arr((2, 3, 3), fixed=(-1,))],
    "triu": arr((3, 4), fixed=(1,)),
    "sort": [_sort_case(-1), _sort_case(0), _sort_case(None)],
    "take": [_take_repeated, _take_flat],
    "take_along_axis": _take_along,
    "compress": _compress,
    "extract": _extract,
    "bincount": _bincount,
    "append": [arr((2, 3), (4,)), arr((2, 3), (2, 2), axis=1)],
    "delete": [arr((3, 4), fixed=(1,), axis=1), arr((5,), fixed=([0, 3],))],
    "insert": [_insert_both, arr((2, 3), fixed=(2, 5.0))],
    "resize": [arr((2, 3), fixed=((4, 4),)), arr((5,), fixed=(3,))],
    "partition": _partition,
    "diagflat": [arr((3,)), arr((2, 2), fixed=(-1,))],
    "choose": [_choose_list, _choose_array],
    "meshgrid": [fun(lambda a, b: inp.meshgrid(a, b)[0] * inp.meshgrid(a, b)[1] + inp.meshgrid(a, b)[0], (3,), (2,)),
                 fun(lambda a, b: inp.meshgrid(a, b, indexing="ij", sparse=True)[1] * 2.0, (3,), (2, 2))],
    "diff": [arr((5,)), arr((3, 5), n=2, axis=0), _diff_ends],
}
