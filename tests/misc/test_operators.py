"""autograd's differential operators at imperdl's root, against autograd's own on the same functions."""
from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np

RNG = onp.random.RandomState(21)
X = RNG.randn(4)
V = RNG.randn(4)


def f(lib):
    return lambda x, w=1.5: lib.sum(lib.sin(x) * x ** 2) * w


def vec(lib):
    return lambda x: lib.tanh(lib.outer(x, x[:2]))


CASES = {
    "grad": lambda m, lib: m.grad(f(lib))(X),
    "value_and_grad": lambda m, lib: m.value_and_grad(f(lib))(X),
    "elementwise_grad": lambda m, lib: m.elementwise_grad(lambda x: lib.sin(x) * x)(X),
    "jacobian": lambda m, lib: m.jacobian(vec(lib))(X),
    "hessian": lambda m, lib: m.hessian(f(lib))(X),
    "hessian_vector_product": lambda m, lib: m.hessian_vector_product(f(lib))(X, V),
    "hessian_tensor_product": lambda m, lib: m.hessian_tensor_product(f(lib))(X, V),
    "make_hvp": lambda m, lib: m.make_hvp(f(lib))(X)[0](V),
    "make_jvp": lambda m, lib: m.make_jvp(vec(lib))(X)(V),
    "make_vjp": lambda m, lib: m.make_vjp(vec(lib))(X)[0](onp.ones((4, 2))),
    "deriv": lambda m, lib: m.deriv(lambda t: lib.sin(t) * t ** 3)(0.7),
    "grad_and_aux": lambda m, lib: m.grad_and_aux(lambda x: (f(lib)(x), x * 3.0))(X),
    "grad_named": lambda m, lib: m.grad_named(f(lib), "w")(X, 2.0),
    "tensor_jacobian_product": lambda m, lib: m.tensor_jacobian_product(vec(lib))(X, onp.ones(4)),
    "vector_jacobian_product": lambda m, lib: m.vector_jacobian_product(vec(lib))(X, onp.ones((4, 2))),
    "checkpoint": lambda m, lib: m.grad(m.checkpoint(f(lib)))(X),
}


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [e for part in x for e in _flat(part)]
    return [onp.asarray(x, dtype=float)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_root_operator_matches_autograd(name):
    ours = _flat(CASES[name](imperdl, np))
    theirs = _flat(CASES[name](autograd, anp))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        onp.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_grad_named_rejects_unknown_names():
    with pytest.raises(ValueError, match="no positional parameter 'z'"):
        imperdl.grad_named(lambda x, y: x * y, "z")
