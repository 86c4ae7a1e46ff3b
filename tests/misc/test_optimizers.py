"""imperdl.misc.optimizers against autograd.misc.optimizers: the same objective written with autograd.numpy and
with imperdl.numpy, optimised from the same pytree, gives the same trajectory (every callback) and result."""
from __future__ import annotations

import autograd
import autograd.misc.optimizers as ag_opt
import autograd.numpy as anp
import numpy as onp
import pytest

import imperdl.numpy as np
from imperdl.core import grad
from imperdl.misc import optimizers

RNG = onp.random.RandomState(3)
X = RNG.randn(20, 3)
Y = (RNG.rand(20) > 0.5).astype(float)
PARAMS = {"w": RNG.randn(3), "b": onp.array(0.1), "extra": [RNG.randn(2, 2)]}


def _objective(lib):
    def objective(params, i):
        batch = slice((i % 4) * 5, (i % 4) * 5 + 5)  # minibatches depend on the iteration, as in autograd's examples
        logits = lib.dot(X[batch], params["w"]) + params["b"]
        nll = lib.sum(lib.logaddexp(0.0, logits) - Y[batch] * logits)
        return nll + 0.1 * lib.sum(params["extra"][0] ** 2)

    return objective


def _run(module, lib, gradient, name, **kw):
    seen = []

    def callback(x, i, g):
        seen.append((i, onp.array(x["w"]), onp.array(g["w"]), onp.array(g["extra"][0])))

    result = getattr(module, name)(gradient(_objective(lib)), PARAMS, callback=callback, **kw)
    return result, seen


@pytest.mark.parametrize("name, kw", [
    ("sgd", {"num_iters": 30, "step_size": 0.2, "mass": 0.5}),
    ("rmsprop", {"num_iters": 30, "step_size": 0.05, "gamma": 0.8, "eps": 1e-6}),
    ("adam", {"num_iters": 30, "step_size": 0.05, "b1": 0.8, "b2": 0.99, "eps": 1e-6}),
    ("sgd", {}),  # autograd's defaults (num_iters, step_size, mass, gamma, b1, b2, eps)
    ("rmsprop", {}),
    ("adam", {}),
])
def test_same_trajectory_as_autograd(name, kw):
    ours, ours_seen = _run(optimizers, np, grad, name, **kw)
    theirs, theirs_seen = _run(ag_opt, anp, autograd.grad, name, **kw)
    assert len(ours_seen) == len(theirs_seen) > 0
    for (i, x, g, ge), (j, x2, g2, ge2) in zip(ours_seen, theirs_seen):
        assert i == j
        onp.testing.assert_allclose(x, x2, rtol=1e-12, atol=1e-14)
        onp.testing.assert_allclose(g, g2, rtol=1e-12, atol=1e-14)
        onp.testing.assert_allclose(ge, ge2, rtol=1e-12, atol=1e-14)
    assert list(ours) == list(theirs) and type(ours["extra"]) is list
    for k in ("w", "b"):
        assert ours[k].shape == theirs[k].shape and ours[k].dtype == theirs[k].dtype
        onp.testing.assert_allclose(ours[k].asnumpy(), theirs[k], rtol=1e-12, atol=1e-14)
    onp.testing.assert_allclose(ours["extra"][0].asnumpy(), theirs["extra"][0], rtol=1e-12, atol=1e-14)


def test_optimiser_without_callback_on_a_plain_array():
    x0 = onp.array([1.5, -2.0])
    ours = optimizers.sgd(grad(lambda x, i: np.sum(x ** 2)), x0, num_iters=10)
    theirs = ag_opt.sgd(autograd.grad(lambda x, i: anp.sum(x ** 2)), x0, num_iters=10)
    onp.testing.assert_allclose(ours.asnumpy(), theirs, rtol=1e-14)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_meta_gradient_through_the_optimiser_matches_autograd(name):
    """The optimisers are differentiable programs: d(final loss)/d(step_size), as autograd computes it."""
    x0 = onp.array([1.0, -0.5])

    def meta(lib, module, gradient):
        def final(step):
            x = getattr(module, name)(gradient(lambda x, i: lib.sum(lib.sin(x) * x ** 2)), x0, num_iters=5,
                                      step_size=step)
            return lib.sum(x ** 2)

        return final

    ours = grad(meta(np, optimizers, grad))(0.1)
    theirs = autograd.grad(meta(anp, ag_opt, autograd.grad))(0.1)
    onp.testing.assert_allclose(float(ours), theirs, rtol=1e-12)
