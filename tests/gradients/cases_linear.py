"""Gradient cases for products (``imperdl/core/rules/linalg.py``, first half); contract in ``checker.py``.

Each product is checked with 0-d, 1-d, 2-d and batched operands where NumPy accepts them, ``tensordot`` with
int and pair axes (out of order), ``einsum`` with explicit and implicit outputs, ellipses with broadcasting,
repeated subscripts (diagonals) and indices summed inside one operand, and complex operands for the holomorphic
products (HIPS autograd's convention: no conjugation).
"""
from __future__ import annotations

import imperdl.numpy as inp


def _draw(rng, shape, cplx=False):
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if cplx else x


def prod(*shapes, fixed=(), cplx=False, **kwargs):
    """Random operands of ``shapes`` (all differentiated) followed by the non-array arguments ``fixed``."""
    def case(rng):
        xs = tuple(_draw(rng, s, cplx) for s in shapes)
        return xs + tuple(fixed), kwargs, tuple(range(len(shapes)))

    return case


def ein(subscripts, *shapes, cplx=False):
    def case(rng):
        xs = tuple(_draw(rng, s, cplx) for s in shapes)
        return (subscripts,) + xs, {}, tuple(range(1, len(shapes) + 1))

    return case


def _vdot_complex(rng):
    """A complex 0-d result, lifted to 1-d: the checker draws a complex 0-d cotangent as a NumPy scalar, which
    ``vjp`` does not take as an array (reported)."""
    a, b = _draw(rng, (2, 2), True), _draw(rng, (4,), True)
    return (a, b), {}, (0, 1), {"fun": lambda x, y: inp.vdot(x, y) * inp.ones(2)}


def _multi_dot(*shapes):
    def case(rng):
        xs = tuple(rng.standard_normal(s) for s in shapes)
        return xs, {}, tuple(range(len(shapes))), {"fun": lambda *a: inp.linalg.multi_dot(list(a))}

    return case


GRAD_CASES = {
    "dot": [prod((2, 3), (3, 4)), prod((3,), (3,)), prod((2, 3, 4), (4,)), prod((3,), (2, 3, 4)),
            prod((2, 3), ()), prod((2, 3), (4, 3, 2)), prod((2, 3), (3,), cplx=True)],
    "matmul": [prod((2, 3), (3, 4)), prod((3,), (3,)), prod((2, 2, 3), (3,)), prod((3,), (2, 3, 4)),
               prod((2, 1, 2, 3), (4, 3, 2)), prod((2, 3), (3, 2), cplx=True)],
    "tensordot": [prod((2, 3, 4), (3, 4, 5)), prod((2, 3, 4), (4, 2, 5), fixed=(([2, 0], [0, 1]),)),
                  prod((3, 2), (3,), fixed=((0, 0),)), prod((2, 3), (4,), fixed=(0,))],
    "einsum": [ein("ij,jk->ik", (2, 3), (3, 4)), ein("ij,jk", (2, 3), (3, 4)), ein("ii->i", (3, 3)),
               ein("ii", (3, 3)), ein("iij,jk->ik", (3, 3, 2), (2, 4)), ein("ij->", (2, 3)),
               ein("ij,k->jk", (2, 3), (4,)), ein("...ij,...jk->...ik", (2, 2, 3), (1, 3, 4)),
               ein("i...,i->...", (3, 2, 2), (3,)), ein("ba,ca", (2, 3), (4, 3)),
               ein("ij,ij->i", (2, 3), (2, 3), cplx=True), ein("i,i,i", (3,), (3,), (3,))],
    "inner": [prod((3,), (3,)), prod((2, 3), (4, 3)), prod((2, 3), ()), prod((2, 3), (3,), cplx=True)],
    "outer": [prod((3,), (4,)), prod((2, 2), (3,)), prod((3,), (2,), cplx=True)],
    "vdot": [prod((3,), (3,)), prod((2, 3), (6,)), _vdot_complex],
    "kron": [prod((2, 3), (2, 2)), prod((3,), (2, 2)), prod((2,), (3,))],
    "cross": [prod((3,), (3,)), prod((2, 3), (3,)), prod((3, 2), (2, 3), axisa=0, axisc=0),
              prod((4, 3), (4, 3), axis=-1)],
    "linalg.multi_dot": [_multi_dot((2, 3), (3, 4), (4, 2)), _multi_dot((3,), (3, 4), (4, 2), (2,)),
                         _multi_dot((2, 3), (3,))],
}
