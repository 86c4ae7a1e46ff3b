"""Function: MXNet symbols called with keyword arrays, checked against NumPy references, differentiated with
the tape (finite differences in float64), cached per shapes, with BatchNorm statistics and loss heads handled,
and clear errors for wrong names and shapes."""
from __future__ import annotations

import numpy as onp
import pytest
from gradients.checker import check_grads

import imperdl.numpy as np
from imperdl.core import Function, NoGradientError, conv2d, grad, max_pool2d
from imperdl.core.backends import mxnet_backend as _mxb

# (through imperdl's loader: on NumPy >= 1.24 a bare ``import mxnet`` fails before imperdl has loaded it)
mx = _mxb.load() or pytest.skip(f"needs MXNet: {_mxb.unavailable_reason()}", allow_module_level=True)
sym = mx.sym


def test_seed003_snippet_runs_and_is_differentiable():
    net = sym.Variable("x")
    net = sym.Convolution(net, name="conv", kernel=(3, 3), num_filter=32, no_bias=True)
    conv = Function(net, input_shapes={"x", (8, 3, 10, 10)})  # a set, as MinPy's announcement wrote it
    x = np.zeros((8, 3, 10, 10))
    w = np.ones((32, 3, 3, 3,))
    y = np.exp(conv(x=x, conv_weight=w))
    assert y.shape == (8, 32, 8, 8) and onp.allclose(y.asnumpy(), 1.0)
    assert conv.get_params() == {"conv_weight": (32, 3, 3, 3)}
    rng = onp.random.default_rng(0)
    x = np.array(rng.standard_normal((8, 3, 10, 10)))
    w = np.array(0.1 * rng.standard_normal((32, 3, 3, 3)))
    gw = grad(lambda w: np.sum(np.exp(conv(x=x, conv_weight=w))))(w)
    ref = grad(lambda w: np.sum(np.exp(conv2d(x, w))))(w)
    onp.testing.assert_allclose(gw.asnumpy(), ref.asnumpy(), rtol=1e-9)


def _net():
    """conv -> relu -> max pool -> flatten -> fully connected, float64."""
    x = sym.Variable("x")
    h = sym.Convolution(x, name="conv", kernel=(3, 3), num_filter=4, pad=(1, 1))
    h = sym.Activation(h, act_type="relu")
    h = sym.Pooling(h, kernel=(2, 2), stride=(2, 2), pool_type="max")
    h = sym.Flatten(h)
    return Function(sym.FullyConnected(h, name="fc", num_hidden=5), name="convnet")


def _params(rng):
    return {"conv_weight": rng.standard_normal((4, 3, 3, 3)), "conv_bias": rng.standard_normal(4),
            "fc_weight": rng.standard_normal((5, 4 * 3 * 3)), "fc_bias": rng.standard_normal(5)}


def _reference(x, p):
    h = onp.maximum(conv2d(x, p["conv_weight"], p["conv_bias"], pad=1).asnumpy(), 0)
    h = max_pool2d(h, 2, 2, 2).asnumpy().reshape(len(x), -1)
    return h @ p["fc_weight"].T + p["fc_bias"]


def test_conv_pool_fc_forward_matches_numpy_and_executor_is_cached():
    rng = onp.random.default_rng(1)
    fn, p = _net(), _params(rng)
    x = rng.standard_normal((2, 3, 6, 6))
    out = fn(x=x, **p)
    onp.testing.assert_allclose(out.asnumpy(), _reference(x, p), rtol=1e-10)
    fn(x=rng.standard_normal((2, 3, 6, 6)), **p)
    assert fn.cache_info() == {"binds": 1, "hits": 1, "entries": 1}
    fn(x=rng.standard_normal((7, 3, 6, 6)), **p)  # another batch size: one more operator, then reused
    fn(x=rng.standard_normal((7, 3, 6, 6)), **p)
    assert fn.cache_info() == {"binds": 2, "hits": 2, "entries": 2}
    assert fn.get_params() == {k: v.shape for k, v in p.items()}  # data shapes learnt from the calls
    assert fn.get_one_output_shape() == (7, 5)


@pytest.mark.parametrize("argnum", ["x", "conv_weight", "conv_bias", "fc_weight"])
def test_gradients_match_finite_differences(argnum):
    rng = onp.random.default_rng(2)
    fn, p = _net(), _params(rng)
    x = rng.standard_normal((2, 3, 6, 6))
    names = ["x", *p]
    args = [x, *p.values()]
    check_grads(lambda *a: np.tanh(fn(**dict(zip(names, a)))), args, argnums=(names.index(argnum),), order=1)


def test_gradients_for_all_inputs_at_once_honour_the_incoming_gradient():
    rng = onp.random.default_rng(3)
    fn, p = _net(), _params(rng)
    x = rng.standard_normal((2, 3, 6, 6))

    def loss(p, scale):
        return scale * np.sum(np.sin(fn(x=x, **p)))

    g1 = grad(loss)(p, 1.0)
    g3 = grad(loss)(p, 3.0)
    assert set(g1) == set(p)
    for k in p:
        onp.testing.assert_allclose(g3[k].asnumpy(), 3 * g1[k].asnumpy(), rtol=1e-10)


def _batchnorm(momentum=0.9, eps=1e-3):
    return Function(sym.BatchNorm(sym.Variable("data"), name="bn", fix_gamma=False, momentum=momentum, eps=eps),
                    name="bn")


def test_batchnorm_train_mode_uses_batch_statistics_and_updates_once_per_forward():
    rng = onp.random.default_rng(4)
    bn = _batchnorm()
    x = rng.standard_normal((16, 3, 4, 4)) * 2 + 5
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    out = bn(data=x, bn_gamma=gamma, bn_beta=beta).asnumpy()
    ref = (x - mean[None, :, None, None]) / onp.sqrt(var[None, :, None, None] + 1e-3)
    onp.testing.assert_allclose(out, ref * gamma[None, :, None, None] + beta[None, :, None, None], rtol=1e-6,
                                atol=1e-6)
    onp.testing.assert_allclose(bn.aux_states["bn_moving_mean"].asnumpy(), 0.1 * mean, rtol=1e-5)
    onp.testing.assert_allclose(bn.aux_states["bn_moving_var"].asnumpy(), 0.9 + 0.1 * var, rtol=1e-5)
    # a differentiated forward updates exactly once too (MXNet itself would update in backward)
    grad(lambda g: np.sum(bn(data=x, bn_gamma=g, bn_beta=beta) ** 2))(gamma)
    onp.testing.assert_allclose(bn.aux_states["bn_moving_mean"].asnumpy(), 0.19 * mean, rtol=1e-5)
    # test mode: moving statistics used, not updated
    bn.is_train = False
    mm, mv = bn.aux_states["bn_moving_mean"].asnumpy(), bn.aux_states["bn_moving_var"].asnumpy()
    out = bn(data=x, bn_gamma=gamma, bn_beta=beta).asnumpy()
    ref = (x - mm[None, :, None, None]) / onp.sqrt(mv[None, :, None, None] + 1e-3)
    onp.testing.assert_allclose(out, ref * gamma[None, :, None, None] + beta[None, :, None, None], rtol=1e-5,
                                atol=1e-5)
    onp.testing.assert_allclose(bn.aux_states["bn_moving_mean"].asnumpy(), mm)


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_gradients_match_finite_differences(train):
    rng = onp.random.default_rng(5)
    bn = _batchnorm()
    bn.is_train = train
    x = rng.standard_normal((6, 2, 3, 3))
    gamma, beta = rng.standard_normal(2), rng.standard_normal(2)
    bn(data=x, bn_gamma=gamma, bn_beta=beta)  # give test mode some statistics
    before = bn.aux_states["bn_moving_mean"].asnumpy()
    check_grads(lambda x, g, b: np.sin(bn(data=x, bn_gamma=g, bn_beta=b)), [x, gamma, beta], argnums=(0, 1, 2),
                order=1)
    if not train:
        onp.testing.assert_array_equal(bn.aux_states["bn_moving_mean"].asnumpy(), before)


def test_dropout_and_flatten_follow_train_and_test_modes():
    fn = Function(sym.Flatten(sym.Dropout(sym.Variable("x"), p=0.5)), name="drop")
    x = onp.ones((4, 50, 2))
    out = fn(x=x).asnumpy()
    assert out.shape == (4, 100)
    assert set(onp.unique(out)) == {0.0, 2.0}
    fn.is_train = False
    onp.testing.assert_array_equal(fn(x=x).asnumpy(), onp.ones((4, 100)))


def _softmax_head():
    net = sym.FullyConnected(sym.Variable("data"), name="fc", num_hidden=4)
    return Function(sym.SoftmaxOutput(net, name="softmax"), input_shapes={"data": (5, 3)}, name="head")


def test_loss_head_gradient_is_scaled_by_the_incoming_gradient():
    rng = onp.random.default_rng(6)
    fn = _softmax_head()
    assert fn.label_names == {"softmax_label"}
    assert set(fn.get_params()) == {"fc_weight", "fc_bias"}
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    y = onp.array([0, 1, 2, 3, 1], dtype="float64")
    probs = fn(data=x, fc_weight=w, fc_bias=b, softmax_label=y).asnumpy()
    z = x @ w.T + b
    ref = onp.exp(z - z.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    onp.testing.assert_allclose(probs, ref, rtol=1e-10)
    d = ref - onp.eye(4)[y.astype(int)]  # SoftmaxOutput's own gradient w.r.t. its input
    g1 = grad(lambda w: np.sum(fn(data=x, fc_weight=w, fc_bias=b, softmax_label=y)))(w)
    onp.testing.assert_allclose(g1.asnumpy(), d.T @ x, rtol=1e-9)
    g3 = grad(lambda w: 3 * np.sum(fn(data=x, fc_weight=w, fc_bias=b, softmax_label=y)))(w)
    onp.testing.assert_allclose(g3.asnumpy(), 3 * d.T @ x, rtol=1e-9)
    with pytest.raises(ValueError, match="loss head.*scaled uniformly"):
        grad(lambda w: np.sum(np.arange(20.0).reshape(5, 4) * fn(data=x, fc_weight=w, fc_bias=b,
                                                                 softmax_label=y)))(w)
    # inference without a label
    onp.testing.assert_allclose(fn(data=x, fc_weight=w, fc_bias=b).asnumpy(), ref, rtol=1e-10)


def test_higher_order_is_refused_clearly():
    fn = Function(sym.FullyConnected(sym.Variable("x"), name="fc", num_hidden=2, no_bias=True), name="fc")
    x = onp.ones((3, 2))
    f = grad(lambda w: np.sum(np.sin(fn(x=x, fc_weight=w))))
    with pytest.raises(NoGradientError, match="first order only"):
        grad(lambda w: np.sum(f(w)))(onp.ones((2, 2)))


def test_wrong_names_and_shapes_are_named(no_mxnet_text):
    rng = onp.random.default_rng(7)
    fn, p = _net(), _params(rng)
    x = rng.standard_normal((2, 3, 6, 6))
    with pytest.raises(TypeError, match=r"missing argument\(s\) conv_weight .*not taken by the symbol, ignored: "
                                        r"\['conv_weights'\]") as e:
        fn(x=x, conv_weights=p["conv_weight"], **{k: v for k, v in p.items() if k != "conv_weight"})
    no_mxnet_text(str(e.value))
    with pytest.raises(TypeError, match=r"missing argument\(s\) fc_bias \(shape \(5,\)\)"):
        fn(x=x, **{k: v for k, v in p.items() if k != "fc_bias"})
    bad = dict(p, conv_weight=rng.standard_normal((4, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"conv_weight has shape \(4, 3, 5, 5\), expected \(4, 3, 3, 3\)") as e:
        fn(x=x, **bad)
    no_mxnet_text(str(e.value))
    with pytest.raises(TypeError, match="keyword arrays only"):
        fn(x)
    with pytest.raises(ValueError, match="not arguments of the symbol"):
        Function(sym.FullyConnected(sym.Variable("x"), num_hidden=2), input_shapes={"data": (1, 2)})


def test_float32_symbol_under_a_float64_loss():
    fn = Function(sym.FullyConnected(sym.Variable("x"), name="fc", num_hidden=3), name="fc32")
    rng = onp.random.default_rng(8)
    x = rng.standard_normal((4, 5)).astype("float32")
    w, b = rng.standard_normal((3, 5)).astype("float32"), onp.zeros(3, "float32")
    gw = grad(lambda w: np.sum(fn(x=x, fc_weight=w, fc_bias=b)) / onp.float64(4.0))(w)
    assert gw.dtype == onp.float32
    onp.testing.assert_allclose(gw.asnumpy(), onp.tile(x.sum(0) / 4, (3, 1)), rtol=1e-5)


def test_a_failed_mxnet_run_says_why_and_does_not_poison_the_function(no_mxnet_text):
    """MXNet fails at run time (a Cholesky factor of a matrix that is not positive definite): the error says so in
    words, and the next call, with a valid matrix, works (a CachedOp that failed once is not reused)."""
    f = Function(sym.linalg.potrf(sym.Variable("A")), {"A": (3, 3)})
    with pytest.raises(RuntimeError, match="positive definite") as info:
        f(A=-onp.eye(3))
    no_mxnet_text(str(info.value))
    onp.testing.assert_allclose(f(A=4 * onp.eye(3)).asnumpy(), 2 * onp.eye(3))
