"""imperdl.nn.gradient_check: in-place perturbation seen by a model that reads its params dict, exact restoration
(also when the function raises), imperdl Array and NumPy parameters alike, rel_error, sparse and quick checks."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import grad
from imperdl.nn import layers as L
from imperdl.nn.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    quick_grad_check,
    rel_error,
)


@pytest.fixture(autouse=True, params=["prefer_mxnet", "only_numpy"])
def policy(request):
    imperdl.set_global_policy(request.param)
    return request.param


class TinyModel:
    """A course-style model: loss reads self.params, so only an in-place perturbation can reach it."""

    def __init__(self, make, rng):
        self.params = {"W": make(rng.randn(4, 3)), "b": make(rng.randn(3))}
        self.X = rng.randn(5, 4)
        self.y = onp.array([0, 1, 2, 1, 0])

    def loss(self):
        return L.softmax_loss(L.affine(self.X, self.params["W"], self.params["b"]), self.y)

    def reference(self, W, b):
        s = self.X @ W + b
        s = s - s.max(axis=1, keepdims=True)
        p = onp.exp(s) / onp.exp(s).sum(axis=1, keepdims=True)
        return -onp.mean(onp.log(p[onp.arange(5), self.y]))


def analytic_grad(W, b):
    """d(sum of squares) for the quadratic tests."""
    return 2 * W, 2 * b


@pytest.mark.parametrize("kind", ["imperdl", "numpy"])
def test_eval_numerical_gradient_perturbs_the_model_params_in_place(kind, capsys):
    rng = onp.random.RandomState(0)
    model = TinyModel(np.array if kind == "imperdl" else onp.array, rng)
    saved = {k: onp.array(v, copy=True) for k, v in model.params.items()}
    identity = {k: id(v) for k, v in model.params.items()}
    expected = grad(lambda p: L.softmax_loss(L.affine(model.X, p["W"], p["b"]), model.y))(
        {k: np.array(v) for k, v in saved.items()})
    for name in ("W", "b"):
        num = eval_numerical_gradient(lambda _: model.loss(), model.params[name], verbose=(name == "b"))
        assert type(num) is onp.ndarray and num.shape == saved[name].shape and num.dtype == onp.float64
        assert rel_error(num, expected[name]) < 1e-7, name
    assert capsys.readouterr().out.count("\n") == 3  # verbose prints one line per coordinate of b
    for k in saved:
        assert id(model.params[k]) == identity[k]
        onp.testing.assert_array_equal(onp.asarray(model.params[k]), saved[k])  # bit for bit


def test_a_copy_would_not_be_seen():
    """Guard on the test above: without in-place writes, the model's loss would not move at all."""
    rng = onp.random.RandomState(0)
    model = TinyModel(np.array, rng)
    num = eval_numerical_gradient(lambda _: model.loss(), onp.array(model.params["W"]), verbose=False)
    onp.testing.assert_array_equal(num, 0)


@pytest.mark.parametrize("make", [np.array, onp.array])
def test_restored_even_when_f_raises(make):
    x = make(onp.array([0.1, 0.2, 0.3]))
    before = onp.array(x, copy=True)
    calls = []

    def f(v):
        calls.append(float(v[0]))
        if len(calls) == 2:
            raise RuntimeError("boom")
        return v[0]

    with pytest.raises(RuntimeError, match="boom"):
        eval_numerical_gradient(f, x, verbose=False)
    onp.testing.assert_array_equal(onp.asarray(x), before)
    assert calls == [0.1 + 1e-5, 0.1 - 1e-5]


@pytest.mark.parametrize("make", [np.array, onp.array])
def test_float32_values_restored_exactly(make):
    x = make(onp.random.RandomState(1).randn(3, 2).astype(onp.float32))
    before = onp.array(x, copy=True)
    num = eval_numerical_gradient(lambda v: np.sum(np.asarray(v) * 3), x, verbose=False, h=1e-2)
    onp.testing.assert_array_equal(onp.asarray(x), before)
    assert num.dtype == onp.float32
    onp.testing.assert_allclose(num, 3.0, rtol=1e-3)


@pytest.mark.parametrize("make", [np.array, onp.array])
def test_eval_numerical_gradient_array(make):
    rng = onp.random.RandomState(2)
    x, df = make(rng.randn(3, 4)), rng.randn(3, 4)
    num = eval_numerical_gradient_array(lambda v: L.sigmoid(v), x, df)
    s = 1 / (1 + onp.exp(-onp.asarray(x)))
    onp.testing.assert_allclose(num, df * s * (1 - s), rtol=1e-7, atol=1e-10)
    # f returning the perturbed array itself (an alias) still gives the identity's vjp
    num = eval_numerical_gradient_array(lambda v: v, x, df)
    onp.testing.assert_allclose(num, df, rtol=1e-8)


def test_rel_error():
    assert rel_error(onp.array([1.0, 2.0]), onp.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 3.0]), onp.array([1.0, 1.0])) == pytest.approx(0.5)
    assert rel_error(0.0, 1e-9) == pytest.approx(0.1)  # the 1e-8 floor
    assert rel_error(np.array(2.0), 2.0) == 0.0
    assert isinstance(rel_error(np.array([1.0]), np.array([1.1])), float)


def test_grad_check_sparse(capsys):
    rng = onp.random.RandomState(3)
    W = np.array(rng.randn(6, 5))

    def f(w):
        return np.sum(np.asarray(w) ** 3)

    good = 3 * onp.asarray(W) ** 2
    errors = grad_check_sparse(f, W, good, num_checks=5, seed=0)
    assert len(errors) == 5 and max(errors) < 1e-7
    assert capsys.readouterr().out.count("relative error") == 5
    bad = good.copy()
    bad[onp.unravel_index(onp.arange(30), (6, 5))] *= 1.1
    assert min(grad_check_sparse(f, W, bad, num_checks=5, seed=0)) > 0.01
    # the same seed checks the same coordinates
    assert grad_check_sparse(f, W, good, num_checks=5, seed=0) == errors


def test_quick_grad_check():
    rng = onp.random.RandomState(4)
    x = rng.randn(4, 3)
    y = onp.array([0, 2, 1, 1])
    before = x.copy()
    assert quick_grad_check(lambda s: L.softmax_loss(s, y), x, verbose=False) < 1e-7
    onp.testing.assert_array_equal(x, before)
    # extra arguments, and a wrong gradient is caught
    w = rng.randn(3, 2)
    assert quick_grad_check(lambda a, b: np.sum(np.tanh(np.dot(a, b))), x, extra_args=(w,), verbose=False) < 1e-7

    def wrong(v):  # the forward is x**2, the gradient the tape sees is that of x**3 / 1.5: numbers disagree
        from imperdl.core import stop_gradient

        return np.sum(v ** 3 / 1.5 - stop_gradient(v ** 3 / 1.5 - v ** 2))

    assert quick_grad_check(wrong, x, verbose=False) > 1e-2


def test_check_gradients_passes_right_gradients_and_catches_wrong_ones(capsys):
    from imperdl.core import customop
    from imperdl.nn.gradient_check import check_gradients

    rng = onp.random.RandomState(0)
    x, w = rng.randn(4, 3), rng.randn(3, 2)
    worst = check_gradients(lambda x, w: np.tanh(np.dot(x, w)), x, w, names=["x", "w"])
    assert worst < 1e-7 and "dx: relative error" in capsys.readouterr().out

    @customop("numpy")
    def cube(a):
        return a ** 3

    cube.def_grad(lambda ans, a: lambda g: g * 2 * a ** 2)  # wrong: should be 3 a**2
    with pytest.raises(AssertionError, match="a gradient is off"):
        check_gradients(lambda a: cube(a), rng.randn(5), verbose=False)
