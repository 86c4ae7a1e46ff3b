"""Gradient cases for arrays built from traced values (``rules/construction.py``), ``eig``/``eigvals``
(``rules/eig.py``), ``select``, ``msort`` and ``gradient``; contract in ``checker.py``. HIPS autograd comparisons
of the same functions are in ``test_autograd_semantics_a.py``.
"""
from __future__ import annotations

import numpy as onp

import imperdl.numpy as inp


def fun(f, *shapes):
    def case(rng):
        xs = tuple(rng.standard_normal(s) for s in shapes)
        return xs, {}, tuple(range(len(shapes))), {"fun": f}

    return case


def _builder(name):
    return fun(lambda x, y: getattr(inp, name)([[x[0], y], [x[1], 2.0]]), (2,), ())


def _real_spectrum(shape):
    def case(rng):
        n = shape[-1]
        p = rng.standard_normal(shape) + 2 * onp.eye(n)
        lam = onp.sort(rng.uniform(-2, 2, shape[:-1]), axis=-1) + onp.arange(n)
        return (p @ (lam[..., None] * onp.linalg.inv(p)),), {}, (0,)

    return case


def _eig_both(rng):
    a = _real_spectrum((3, 3))(rng)[0]
    return a, {}, (0,), {"fun": lambda x: inp.linalg.eig(x)[0] * inp.sum(inp.linalg.eig(x)[1] ** 2, axis=0)}


def _select(rng):
    x = rng.uniform(0.3, 1.5, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    return (x, rng.standard_normal(4)), {}, (0, 1), {
        "fun": lambda x, d: inp.select([x > 0.5, x < -0.5], [x ** 2, inp.sin(x)], d)}


def _msort(rng):
    return (rng.permutation(12).reshape(4, 3) + rng.uniform(0, 0.1, (4, 3)),), {}, (0,)


GRAD_CASES = {
    "array": [_builder("array"), fun(lambda x: inp.array(x, ndmin=3), (2, 2)),
              fun(lambda x: inp.array([x, x * x], dtype=onp.float64), (3,))],
    "asarray": _builder("asarray"),
    "asanyarray": _builder("asanyarray"),
    "ascontiguousarray": _builder("ascontiguousarray"),
    "asfortranarray": _builder("asfortranarray"),
    "asarray_chkfinite": _builder("asarray_chkfinite"),
    "linspace": [fun(lambda a, b: inp.linspace(a, b, 5), (), ()),
                 fun(lambda a, b: inp.linspace(a, b, 4, endpoint=False, axis=-1), (2,), (3, 1))],
    "linalg.eig": [_eig_both],
    "linalg.eigvals": [_real_spectrum((3, 3)), _real_spectrum((2, 3, 3))],
    "select": _select,
    "msort": _msort,
    "gradient": [fun(lambda x: inp.gradient(x), (6,)),
                 fun(lambda x: inp.stack(inp.gradient(x, 0.5, edge_order=2)), (4, 5))],
}
