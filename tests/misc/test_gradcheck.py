"""check_grads (autograd.test_util's) and quick_grad_check (MinPy's / old autograd's): they pass on right
derivatives and raise AssertionError with the numbers on wrong ones, built-in gradient rules included."""
from __future__ import annotations

import contextlib
import io

import numpy as onp
import pytest

import imperdl.numpy as np
from imperdl.core import check_grads, defvjp, primitive, quick_grad_check
from imperdl.core.registry import primitive as registered

RNG = onp.random.RandomState(5)


def test_check_grads_passes_on_pytrees_in_both_modes():
    onp.random.seed(0)
    params = {"W": RNG.randn(3, 2), "b": [RNG.randn(2)]}
    x = RNG.randn(4, 3)

    def net(p, x):
        return np.tanh(np.dot(x, p["W"]) + p["b"][0])

    check_grads(net, modes=["fwd", "rev"], order=2)(params, x)
    check_grads(net, argnum=1, modes=["rev"], order=3)(params, x)


@contextlib.contextmanager
def _wrong_rule(name, factor):
    """The registry's rule for ``name`` scaled by ``factor`` (as a bug in a rule table would be)."""
    prim = registered(name)
    saved = prim.vjp
    prim.vjp = lambda pos, g, ans, args, kwargs: saved(pos, g, ans, args, kwargs) * factor
    try:
        yield
    finally:
        prim.vjp = saved


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_check_grads_catches_a_wrong_builtin_rule(mode):
    onp.random.seed(1)
    x = RNG.randn(6)
    f = lambda x: np.sum(np.sin(x) * x)  # noqa: E731
    check_grads(f, modes=[mode], order=1)(x)
    with _wrong_rule("sin", 1.01):
        with pytest.raises(AssertionError, match=r"does not match finite differences: analytic -?\d.*numeric -?\d"):
            check_grads(f, modes=[mode], order=1)(x)


def test_check_grads_rejects_unknown_modes():
    with pytest.raises(ValueError, match="'fwd' and/or 'rev'"):
        check_grads(np.sin, modes=["forward"])


def test_quick_grad_check_minpy_and_autograd_forms():
    x = RNG.randn(3, 4)
    w = RNG.randn(4)

    def loss(x, w):
        return np.sum(np.tanh(np.dot(x, w)) ** 2)

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert quick_grad_check(loss, x, extra_args=(w,), rs=onp.random.RandomState(0)) is True
    assert "Gradient projection OK" in out.getvalue()
    # MinPy's form: one array argument, float32, MinPy's tolerances
    assert quick_grad_check(lambda a: np.sum(a * a), x.astype(onp.float32), verbose=False,
                            rs=onp.random.RandomState(1)) is True


def test_quick_grad_check_reports_a_wrong_gradient_with_numbers():
    @primitive
    def square(x):
        return onp.sum(x ** 2)

    defvjp(square, lambda ans, x: lambda g: 2.2 * g * x)
    with pytest.raises(AssertionError, match=r"quick_grad_check of square failed: numeric -?\d.*analytic -?\d"):
        quick_grad_check(square, RNG.randn(5), verbose=False, rs=onp.random.RandomState(2))
