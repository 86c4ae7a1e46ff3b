"""MinPy programs' habits: argnum=range(n), np.record_op_stat()/show_op_stat(), Function called with every
parameter of the model, layers.batchnorm/dropout in MinPy's forms, Solver(task_type='regression')."""
from __future__ import annotations

import contextlib
import io

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Function, grad, grad_and_loss
from imperdl.nn import ModelBase, NDArrayIter, Solver
from imperdl.nn import layers as L

RNG = onp.random.RandomState(9)


def test_argnum_accepts_any_iterable_of_ints():
    a, b, c = RNG.randn(3), RNG.randn(3), RNG.randn(3)

    def f(a, b, c):
        return np.sum(a * b * np.sin(c))

    expected = (b * onp.sin(c), a * onp.sin(c), a * b * onp.cos(c))
    grads, loss = grad_and_loss(f, argnum=range(3))(a, b, c)  # MinPy's Solver passes range(len(params))
    assert isinstance(grads, tuple) and len(grads) == 3
    for g, e in zip(grads, expected):
        onp.testing.assert_allclose(g.asnumpy(), e, rtol=1e-13)
    onp.testing.assert_allclose(float(loss), onp.sum(a * b * onp.sin(c)), rtol=1e-13)
    gen = grad(f, argnum=(i for i in (0, 2)))  # read once, usable many times
    for _ in range(2):
        g0, g2 = gen(a, b, c)
        onp.testing.assert_allclose(g2.asnumpy(), expected[2], rtol=1e-13)
    onp.testing.assert_allclose(grad(f, onp.int64(1))(a, b, c).asnumpy(), expected[1], rtol=1e-13)
    with pytest.raises(TypeError, match="argnum must be an int or an iterable of ints"):
        grad(f, argnum=1.0)
    with pytest.raises(TypeError, match="argnum must be an int or an iterable of ints"):
        grad(f, argnum=["a"])


def test_record_and_show_op_stat():
    a = np.ones((4, 4))
    np.exp(a)
    np.record_op_stat()  # counting starts afresh
    b = np.exp(a) + a
    np.sinc(b)
    np.sinc(b)
    stats = imperdl.statistics()["ops"]
    assert set(stats) == {"exp", "add", "sinc"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        np.show_op_stat()
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "--------Op Dispatch Statistics Start--------"
    assert lines[-1] == "--------Op Dispatch Statistics End--------"
    mx_part = lines[lines.index("MXNET op called times:") + 1:lines.index("NUMPY op called times:")]
    np_part = lines[lines.index("NUMPY op called times:") + 1:-2]
    for name, c in stats.items():
        if c["mxnet"]:
            assert f" {name} : {c['mxnet']}" in mx_part
        if c["numpy"] + c["fallback"]:
            assert f" {name} : {c['numpy'] + c['fallback']}" in np_part
    n_mx = sum(c["mxnet"] for c in stats.values())
    assert f"{n_mx / 4:.1%} in MXNet" in lines[-2]


# ------------------------------------------------------------------------------------------------ Function
@pytest.fixture
def fc():
    import mxnet as mx

    x = mx.sym.Variable("x")
    return (Function(mx.sym.FullyConnected(x, name="fc1", num_hidden=3), name="fc1"),
            Function(mx.sym.FullyConnected(x, name="fc2", num_hidden=3, no_bias=True), name="fc2"))


@pytest.mark.mxnet
def test_function_ignores_other_layers_params_and_none(fc):
    with_bias, no_bias = fc
    x = RNG.randn(4, 5)
    params = {"fc1_weight": RNG.randn(3, 5), "fc1_bias": RNG.randn(3), "fc2_weight": RNG.randn(3, 5),
              "conv_weight": RNG.randn(2, 2)}
    out = with_bias(x=x, **params)  # MinPy's models pass **self.params to every layer
    onp.testing.assert_allclose(out.asnumpy(), x @ params["fc1_weight"].T + params["fc1_bias"], rtol=1e-6)
    out2 = no_bias(x=x, fc2_bias=None, **params)  # a bias the symbol does not take, given or left as None
    onp.testing.assert_allclose(out2.asnumpy(), x @ params["fc2_weight"].T, rtol=1e-6)

    def loss(w):
        return np.sum(no_bias(x=x, fc2_weight=w, fc1_weight=params["fc1_weight"], fc2_bias=None) ** 2)

    g = grad(loss)(params["fc2_weight"])
    onp.testing.assert_allclose(g.asnumpy(), 2 * (x @ params["fc2_weight"].T).T @ x, rtol=1e-6)


@pytest.mark.mxnet
def test_function_names_ignored_keywords_when_an_argument_is_missing(fc):
    with_bias, _ = fc
    with pytest.raises(TypeError, match=r"missing argument\(s\) fc1_bias .*ignored: \['fc1_bais'\]"):
        with_bias(x=RNG.randn(4, 5), fc1_weight=RNG.randn(3, 5), fc1_bais=RNG.randn(3))


# ------------------------------------------------------------------------------------------------ layers
def _minpy_batchnorm(x, gamma, beta, mode, eps, momentum, running_mean, running_var):
    """MinPy 0.3's layers.batchnorm arithmetic, in NumPy."""
    n, d = x.shape
    running_mean = onp.zeros(d) if running_mean is None else running_mean
    running_var = onp.zeros(d) if running_var is None else running_var
    if mode == "train":
        mean = onp.sum(x, axis=0) / n
        xm = x - mean[None, :]
        var = onp.sum(xm ** 2, axis=0) / n
        out = gamma * (xm / onp.sqrt(var + eps)[None, :]) + beta
        return out, momentum * running_mean + (1 - momentum) * mean, momentum * running_var + (1 - momentum) * var
    return gamma * (x - running_mean) / onp.sqrt(running_var + eps) + beta, running_mean, running_var


@pytest.mark.parametrize("call", ["positional", "keywords", "defaults"])
def test_batchnorm_minpy_form(call):
    x, gamma, beta = RNG.randn(6, 4), RNG.randn(4), RNG.randn(4)
    rm, rv = RNG.randn(4), RNG.rand(4) + 0.5
    if call == "positional":
        got = L.batchnorm(x, gamma, beta, "train", 1e-3, 0.8, rm, rv)
        want = _minpy_batchnorm(x, gamma, beta, "train", 1e-3, 0.8, rm, rv)
    elif call == "keywords":
        got = L.batchnorm(x, gamma, beta, running_mean=rm, running_var=rv, mode="test", eps=1e-4)
        want = _minpy_batchnorm(x, gamma, beta, "test", 1e-4, 0.9, rm, rv)
    else:
        got = L.batchnorm(x, gamma, beta)
        want = _minpy_batchnorm(x, gamma, beta, "train", 1e-5, 0.9, None, None)
    assert isinstance(got, tuple) and len(got) == 3
    for a, b in zip(got, want):
        assert a.shape == b.shape and a.dtype == b.dtype
        onp.testing.assert_allclose(a.asnumpy(), b, rtol=1e-12, atol=1e-14)


def test_batchnorm_minpy_form_gradient_matches_the_course_form():
    x, gamma, beta = RNG.randn(5, 3), RNG.randn(3), RNG.randn(3)
    g_minpy = grad(lambda x: np.sum(L.batchnorm(x, gamma, beta, mode="train")[0] ** 3))(x)
    g_course = grad(lambda x: np.sum(L.batchnorm(x, gamma, beta, {"mode": "train"}) ** 3))(x)
    onp.testing.assert_allclose(g_minpy.asnumpy(), g_course.asnumpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="inside it"):
        L.batchnorm(x, gamma, beta, {"mode": "train"}, eps=1e-3)
    with pytest.raises(ValueError, match="mode must be 'train' or 'test'"):
        L.batchnorm(x, gamma, beta, "predict")


def test_dropout_minpy_form():
    x = RNG.randn(50, 8)
    prob = 0.3
    out = L.dropout(x, prob, mode="train", seed=4)
    mask = onp.random.RandomState(4).random_sample(x.shape) > prob  # MinPy: seed(seed); rand(*shape) > prob
    onp.testing.assert_array_equal(out.asnumpy(), x * mask)  # not rescaled, as in MinPy
    onp.testing.assert_allclose(L.dropout(x, prob, "test").asnumpy(), x * (1 - prob), rtol=1e-15)
    g = grad(lambda x: np.sum(L.dropout(x, prob, seed=4) * 2.0))(x)
    onp.testing.assert_array_equal(g.asnumpy(), 2.0 * mask)
    # the course's dict form is unchanged: keep probability, inverted
    course = L.dropout(x, {"p": 0.7, "mode": "train", "seed": 4})
    keep = onp.random.RandomState(4).random_sample(x.shape) < 0.7
    onp.testing.assert_allclose(course.asnumpy(), x * keep / 0.7, rtol=1e-15)
    with pytest.raises(ValueError, match=r"drop probability prob must be in \[0, 1\)"):
        L.dropout(x, 1.0)
    with pytest.raises(TypeError, match="inside it"):
        L.dropout(x, {"p": 0.5}, mode="test")


# ------------------------------------------------------------------------------------------------ Solver
class LinearRegression(ModelBase):
    def __init__(self):
        super().__init__()
        self.add_param("w", (3, 1)).add_param("b", (1,))

    def forward(self, X, mode):
        return np.dot(X, self.params["w"]) + self.params["b"]

    def loss(self, predict, y):
        return np.mean((predict[:, 0] - y) ** 2)


def test_solver_task_type_regression():
    X = RNG.randn(64, 3)
    y = X @ onp.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * RNG.randn(64)
    train = NDArrayIter(X[:48], y[:48], batch_size=16, shuffle=False)
    val = NDArrayIter(X[48:], y[48:], batch_size=16, shuffle=False)
    model = LinearRegression()
    solver = Solver(model, train, val, task_type="regression", update_rule="sgd",
                    optim_config={"learning_rate": 0.1}, num_epochs=3, verbose=False, init_rule="constant",
                    init_config={"value": 0.0})
    solver.init()
    solver.train()
    assert len(solver.val_acc_history) == 3
    # the check reports minus the mean squared error: recompute it for the best (kept) parameters
    p = {k: v.asnumpy() for k, v in model.params.items()}
    mse = onp.mean(((X[48:] @ p["w"] + p["b"])[:, 0] - y[48:]) ** 2)
    onp.testing.assert_allclose(solver.best_val_acc, -mse, rtol=1e-10)
    assert solver.best_val_acc == max(solver.val_acc_history)
    assert solver.val_acc_history[-1] > solver.val_acc_history[0]  # it learns
    onp.testing.assert_allclose(solver.check_accuracy(X[48:], y[48:]), -mse, rtol=1e-10)
    with pytest.raises(ValueError, match="task_type must be one of"):
        Solver(model, train, val, task_type="ranking")


def test_minpy_module_paths_with_minpy_read_as_imperdl():
    """MinPy's examples import ``minpy.dispatch.policy`` (both import forms), ``minpy.array`` and call
    ``np.set_policy``: the same lines with ``imperdl`` name imperdl's policy module, Array and set_global_policy."""
    import imperdl.dispatch.policy as policy_a

    import imperdl
    import imperdl.array
    import imperdl.core.policy
    import imperdl.numpy as inp
    from imperdl.core.array import Array
    from imperdl.dispatch import policy as policy_b

    assert policy_a is imperdl.core.policy and policy_b is imperdl.core.policy
    assert imperdl.array.Array is Array and isinstance(inp.ones(2), imperdl.array.Array)
    inp.set_policy(policy_a.OnlyNumPyPolicy())
    assert isinstance(imperdl.get_global_policy(), imperdl.OnlyNumPyPolicy)
