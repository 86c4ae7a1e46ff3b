"""imperdl.misc.fixed_points and imperdl.builtins against HIPS autograd's (values, first and second order)."""
from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as onp
import pytest
from autograd.misc.fixed_points import fixed_point as ag_fixed_point

import imperdl.numpy as np
from imperdl.core import grad
from imperdl.misc.fixed_points import fixed_point


def _newton(a):
    return lambda x: 0.5 * (x + a / x)


def _descent(a):
    return lambda x: x - 0.05 * (x ** 2 - a)


def _dist(x, y):
    return np.max(np.abs(x - y))


def _ag_dist(x, y):
    return anp.max(anp.abs(x - y))


@pytest.mark.parametrize("step,tol", [(_newton, 1e-12), (_descent, 1e-4), (_newton, 1e-3)])
def test_scalar_value_gradient_and_second_order_are_autograds(step, tol):
    f = lambda a: fixed_point(step, a, 10.0, _dist, tol)  # noqa: E731
    ref = lambda a: ag_fixed_point(step, a, 10.0, _ag_dist, tol)  # noqa: E731
    onp.testing.assert_allclose(float(f(2.0)), ref(2.0), rtol=1e-12)
    onp.testing.assert_allclose(float(grad(f)(2.0)), autograd.grad(ref)(2.0), rtol=1e-10)
    onp.testing.assert_allclose(float(grad(grad(f))(2.0)), autograd.grad(autograd.grad(ref))(2.0), rtol=1e-8)


def test_tight_tolerance_gives_the_analytic_derivatives():
    f = lambda a: fixed_point(_newton, a, 10.0, _dist, 1e-13)  # noqa: E731  (sqrt(a))
    assert float(grad(f)(2.0)) == pytest.approx(0.5 * 2.0 ** -0.5, rel=1e-10)
    assert float(grad(grad(f))(2.0)) == pytest.approx(-0.25 * 2.0 ** -1.5, rel=1e-8)


def test_container_parameters_get_gradients_like_autograds():
    rng = onp.random.default_rng(0)
    w, b = 0.3 * rng.standard_normal((3, 3)) / 3, rng.standard_normal(3)

    def loss(params, fp, dot, total, dist):
        step = lambda p: (lambda x: dot(p[0], x) + p[1])  # noqa: E731
        return total(fp(step, params, onp.zeros(3), dist, 1e-13) ** 2)

    got = grad(lambda p: loss(p, fixed_point, np.dot, np.sum, _dist))((w, b))
    ref = autograd.grad(lambda p: loss(p, ag_fixed_point, anp.dot, anp.sum, _ag_dist))((w, b))
    for g, r in zip(got, ref):
        onp.testing.assert_allclose(onp.asarray(g), r, rtol=1e-8, atol=1e-12)
    x_star = onp.linalg.solve(onp.eye(3) - w, b)  # and the analytic gradient in b: 2 (I - W)^-T x*
    onp.testing.assert_allclose(onp.asarray(got[1]), 2 * onp.linalg.solve((onp.eye(3) - w).T, x_star), rtol=1e-8)


def test_builtins_are_pythons_containers_and_traced_through():
    from imperdl import builtins as B

    assert (B.tuple, B.list, B.dict, B.isinstance) == (tuple, list, dict, isinstance)
    g = grad(lambda x: B.tuple((x * 2.0, x ** 2))[1] + B.list([x])[0])(3.0)
    assert float(g) == 7.0
