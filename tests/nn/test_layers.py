"""imperdl.nn.layers: every forward against a plain-NumPy reference written here, every gradient (the tape's)
against float64 centred differences of that reference, under the 'prefer_mxnet' and 'only_numpy' policies.
"""
from __future__ import annotations

import numpy as onp
import pytest
from test_convolution import naive_conv as ref_conv  # the loop reference, shared with the primitive tests

import imperdl
import imperdl.numpy as np
from imperdl.core import grad
from imperdl.core.array import Array
from imperdl.nn import layers as L


@pytest.fixture(autouse=True, params=["prefer_mxnet", "only_numpy"])
def policy(request):
    """Run every test under both policies (conftest's fixture restores the global one afterwards)."""
    imperdl.set_global_policy(request.param)
    return request.param


@pytest.fixture
def rng():
    return onp.random.RandomState(1234)


# ------------------------------------------------------------------------------------------------ checking tools
def _outs(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _numeric_grad(ref, args, i, us, h=1e-6):
    """Centred differences of sum_k <ref(*args)[k], us[k]> w.r.t. args[i] (float64, all coordinates)."""
    args = [onp.array(a, dtype=onp.float64) if isinstance(a, onp.ndarray) and a.dtype.kind == "f" else a
            for a in args]
    x = args[i]
    g = onp.zeros_like(x)

    def value():
        return sum(float(onp.sum(o * u)) for o, u in zip(_outs(ref(*args)), us))

    for ix in onp.ndindex(*x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = value()
        x[ix] = old - h
        minus = value()
        x[ix] = old
        g[ix] = (plus - minus) / (2 * h)
    return g


def check_layer(layer, ref, args, argnums=None, rtol=1e-9, atol=1e-11, grad_rtol=1e-6, grad_atol=1e-8, seed=0):
    """``layer(*args)`` equals ``ref(*args)``; its tape gradients w.r.t. ``argnums`` (default: every float array)
    equal centred differences of ``ref``. Float arguments go in as imperdl Arrays, others as NumPy."""
    dev = [np.array(a) if isinstance(a, onp.ndarray) and a.dtype.kind == "f" else a for a in args]
    out = layer(*dev)
    expected = ref(*args)
    for o, e in zip(_outs(out), _outs(expected)):
        assert type(o) is Array, f"{layer}: result is {type(o).__name__}, expected an imperdl Array"
        assert o.shape == onp.shape(e), f"shape {o.shape} != {onp.shape(e)}"
        onp.testing.assert_allclose(o.asnumpy(), e, rtol=rtol, atol=atol)
    r = onp.random.RandomState(seed)
    us = [r.standard_normal(onp.shape(e)) for e in _outs(expected)]
    if argnums is None:
        argnums = [k for k, a in enumerate(args) if isinstance(a, onp.ndarray) and a.dtype.kind == "f"]

    def scalar(*a):
        return sum(np.sum(o * u) for o, u in zip(_outs(layer(*a)), us))

    for i in argnums:
        analytic = grad(scalar, argnum=i)(*dev)
        numeric = _numeric_grad(ref, args, i, us)
        assert analytic.shape == args[i].shape
        onp.testing.assert_allclose(onp.asarray(analytic), numeric, rtol=grad_rtol, atol=grad_atol,
                                    err_msg=f"gradient w.r.t. argument {i}")


# ------------------------------------------------------------------------------------------------ references
def ref_sigmoid(x):
    with onp.errstate(over="ignore"):
        return 1.0 / (1.0 + onp.exp(-x))


def ref_softmax(x, axis=-1):
    e = onp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def ref_batchnorm(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    return gamma * (x - mu) / onp.sqrt(var + eps) + beta


def ref_rnn_step(x, h, Wx, Wh, b):
    return onp.tanh(x @ Wx + h @ Wh + b)


def ref_lstm_step(x, h, c, Wx, Wh, b):
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    i, f, o = ref_sigmoid(a[:, :H]), ref_sigmoid(a[:, H:2 * H]), ref_sigmoid(a[:, 2 * H:3 * H])
    g = onp.tanh(a[:, 3 * H:])
    c2 = f * c + i * g
    return o * onp.tanh(c2), c2


def ref_gru_step(x, h, Wx, Wh, b):
    H = h.shape[1]
    Wxr, Wxz, Wxn = Wx[:, :H], Wx[:, H:2 * H], Wx[:, 2 * H:]
    Whr, Whz, Whn = Wh[:, :H], Wh[:, H:2 * H], Wh[:, 2 * H:]
    br, bz, bn = b[:H], b[H:2 * H], b[2 * H:]
    r = ref_sigmoid(x @ Wxr + h @ Whr + br)
    z = ref_sigmoid(x @ Wxz + h @ Whz + bz)
    n = onp.tanh(x @ Wxn + (r * h) @ Whn + bn)
    return (1 - z) * n + z * h


def ref_sequence(step, x, h0, *weights, cell=False):
    hs, h, c = [], h0, onp.zeros_like(h0)
    for t in range(x.shape[1]):
        if cell:
            h, c = step(x[:, t], h, c, *weights)
        else:
            h = step(x[:, t], h, *weights)
        hs.append(h)
    return onp.stack(hs, axis=1)


def ref_pool(x, ph, pw, s, reduce):
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = onp.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = reduce(x[:, :, i * s:i * s + ph, j * s:j * s + pw], axis=(2, 3))
    return out


def away_from_zero(r, shape, gap=0.1):
    """Normal draws pushed away from 0 so kinks (relu, hinge) stay out of the finite-difference stencil."""
    x = r.standard_normal(shape)
    return x + gap * onp.sign(x)


# ------------------------------------------------------------------------------------------------ dense layers
def test_affine(rng):
    x, w, b = rng.randn(2, 3, 4), rng.randn(12, 5), rng.randn(5)
    check_layer(L.affine, lambda x, w, b: x.reshape(2, -1) @ w + b, [x, w, b])


def test_affine_takes_numpy_and_rejects_wrong_shapes(rng):
    out = L.affine(rng.randn(2, 3), rng.randn(3, 4), onp.zeros(4))
    assert type(out) is Array and out.shape == (2, 4)
    with pytest.raises(ValueError, match=r"affine: .*\(2, 6\).*w of shape \(6, M\)"):
        L.affine(rng.randn(2, 2, 3), rng.randn(5, 4), onp.zeros(4))


@pytest.mark.parametrize("name, layer, ref", [
    ("relu", L.relu, lambda x: onp.maximum(x, 0)),
    ("leaky_relu", L.leaky_relu, lambda x: onp.where(x > 0, x, 0.01 * x)),
    ("leaky_relu_0.2", lambda x: L.leaky_relu(x, alpha=0.2), lambda x: onp.where(x > 0, x, 0.2 * x)),
    ("sigmoid", L.sigmoid, ref_sigmoid),
    ("tanh", L.tanh, onp.tanh),
])
def test_elementwise(rng, name, layer, ref):
    check_layer(layer, ref, [away_from_zero(rng, (3, 4))])


def test_elementwise_keep_float32(rng):
    x = rng.randn(3, 4).astype(onp.float32)
    for layer in (L.relu, L.leaky_relu, L.sigmoid, L.tanh, L.softmax):
        assert layer(x).dtype == onp.float32, layer


def test_sigmoid_is_stable_for_large_inputs():
    x = onp.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with onp.errstate(over="raise", invalid="raise", divide="raise"):
        out = L.sigmoid(x).asnumpy()
    assert onp.all(onp.isfinite(out))
    onp.testing.assert_allclose(out, [0.0, onp.exp(-40.0), 0.5, 1.0, 1.0], rtol=1e-12, atol=0)
    g = grad(lambda x: np.sum(L.sigmoid(x)))(np.array(x)).asnumpy()
    z = onp.exp(-onp.abs(x))
    onp.testing.assert_allclose(g, z / (1 + z) ** 2, rtol=1e-12, atol=1e-300)  # sigmoid'(0) = 1/4 included


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax(rng, axis):
    check_layer(lambda x: L.softmax(x, axis=axis), lambda x: ref_softmax(x, axis), [rng.randn(3, 4)])


def test_softmax_is_stable_for_large_inputs():
    out = L.softmax(onp.array([[1000.0, 1000.0, -1000.0]])).asnumpy()
    onp.testing.assert_allclose(out, [[0.5, 0.5, 0.0]], atol=1e-300)


# ------------------------------------------------------------------------------------------------ normalization
def test_batchnorm_train_forward_gradient_and_running_stats(rng):
    x, gamma, beta = rng.randn(5, 3) * 2 + 1, rng.randn(3), rng.randn(3)
    check_layer(lambda x, g, b: L.batchnorm(x, g, b, {"mode": "train"}), ref_batchnorm, [x, gamma, beta])

    bn = {"mode": "train", "momentum": 0.8}
    out = L.batchnorm(x, gamma, beta, bn)
    onp.testing.assert_allclose(out.asnumpy(), ref_batchnorm(x, gamma, beta), rtol=1e-9)
    onp.testing.assert_allclose(onp.asarray(bn["running_mean"]), 0.2 * x.mean(0), rtol=1e-10)
    onp.testing.assert_allclose(onp.asarray(bn["running_var"]), 0.8 + 0.2 * x.var(0), rtol=1e-10)


def test_batchnorm_running_stats_under_grad_do_not_change_the_gradient(rng):
    """The update happens once per call inside grad, the gradient is the plain batchnorm one, and the stored
    statistics are constants for later (traced) calls."""
    x, gamma, beta = rng.randn(6, 4), rng.randn(4), rng.randn(4)
    u = rng.randn(6, 4)
    bn = {"mode": "train"}
    g = grad(lambda x: np.sum(L.batchnorm(x, gamma, beta, bn) * u))(np.array(x))
    numeric = _numeric_grad(lambda x: ref_batchnorm(x, gamma, beta), [x], 0, [u])
    onp.testing.assert_allclose(g.asnumpy(), numeric, rtol=1e-6, atol=1e-8)
    onp.testing.assert_allclose(onp.asarray(bn["running_mean"]), 0.1 * x.mean(0), rtol=1e-10)
    onp.testing.assert_allclose(onp.asarray(bn["running_var"]), 0.9 + 0.1 * x.var(0), rtol=1e-10)
    # a second traced train-mode call builds on the stored values and is again the plain gradient
    x2 = rng.randn(6, 4)
    g2 = grad(lambda x: np.sum(L.batchnorm(x, gamma, beta, bn) * u))(np.array(x2))
    onp.testing.assert_allclose(g2.asnumpy(), _numeric_grad(lambda x: ref_batchnorm(x, gamma, beta), [x2], 0, [u]),
                                rtol=1e-6, atol=1e-8)
    onp.testing.assert_allclose(onp.asarray(bn["running_mean"]), 0.09 * x.mean(0) + 0.1 * x2.mean(0), rtol=1e-10)
    # test mode: the running statistics are constants, so d out / d x = gamma / sqrt(running_var + eps)
    bn["mode"] = "test"
    rv = onp.asarray(bn["running_var"])
    g3 = grad(lambda x: np.sum(L.batchnorm(x, gamma, beta, bn) * u))(np.array(x))
    onp.testing.assert_allclose(g3.asnumpy(), u * gamma / onp.sqrt(rv + 1e-5), rtol=1e-10)


def test_batchnorm_running_stats_are_constants_within_the_same_trace(rng):
    """A train-mode call then a test-mode call inside one differentiated function: the test-mode output reads the
    statistics the first call just stored, and no gradient may flow through them back to x."""
    x, gamma, beta = rng.randn(5, 3), rng.randn(3), rng.randn(3)
    u1, u2 = rng.randn(5, 3), rng.randn(5, 3)
    bn = {"mode": "train", "momentum": 0.5}

    def f(x):
        bn["mode"] = "train"
        a = L.batchnorm(x, gamma, beta, bn)
        bn["mode"] = "test"
        return np.sum(a * u1) + np.sum(L.batchnorm(x, gamma, beta, bn) * u2)

    g = grad(f)(np.array(x)).asnumpy()
    rv = 0.5 + 0.5 * x.var(0)
    expected = _numeric_grad(lambda x: ref_batchnorm(x, gamma, beta), [x], 0, [u1]) + u2 * gamma / onp.sqrt(rv + 1e-5)
    onp.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-8)


def test_batchnorm_test_mode_uses_running_stats(rng):
    x, gamma, beta = rng.randn(4, 3), rng.randn(3), rng.randn(3)
    rm, rv = rng.randn(3), rng.rand(3) + 0.5
    bn = {"mode": "test", "running_mean": rm, "running_var": rv, "eps": 1e-3}
    out = L.batchnorm(x, gamma, beta, bn)
    onp.testing.assert_allclose(out.asnumpy(), gamma * (x - rm) / onp.sqrt(rv + 1e-3) + beta, rtol=1e-10)
    onp.testing.assert_array_equal(onp.asarray(bn["running_mean"]), rm)


def test_batchnorm_running_stats_converge(rng):
    """As in the course's check: after many train-mode passes, test mode reproduces the data's statistics."""
    gamma, beta = onp.ones(3), onp.zeros(3)
    bn = {"mode": "train"}
    for _ in range(60):
        L.batchnorm(rng.randn(50, 3) * 3 + 5, gamma, beta, bn)
    bn["mode"] = "test"
    out = L.batchnorm(rng.randn(500, 3) * 3 + 5, gamma, beta, bn).asnumpy()
    assert onp.all(onp.abs(out.mean(0)) < 0.25) and onp.all(onp.abs(out.std(0) - 1) < 0.2), (out.mean(0), out.std(0))


def test_batchnorm_errors(rng):
    with pytest.raises(ValueError, match="batchnorm: mode must be 'train' or 'test'"):
        L.batchnorm(rng.randn(2, 3), onp.ones(3), onp.zeros(3), {"mode": "eval"})
    with pytest.raises(ValueError, match=r"batchnorm: unknown parameter\(s\) \['momentun'\]"):
        L.batchnorm(rng.randn(2, 3), onp.ones(3), onp.zeros(3), {"mode": "train", "momentun": 0.9})
    with pytest.raises(ValueError, match=r"batchnorm: x must be 2-D \(N, D\), got shape \(2, 3, 4\)"):
        L.batchnorm(rng.randn(2, 3, 4), onp.ones(3), onp.zeros(3), {"mode": "train"})


def test_spatial_batchnorm(rng):
    x, gamma, beta = rng.randn(2, 3, 2, 3), rng.randn(3), rng.randn(3)

    def ref(x, g, b):
        flat = x.transpose(0, 2, 3, 1).reshape(-1, 3)
        return ref_batchnorm(flat, g, b).reshape(2, 2, 3, 3).transpose(0, 3, 1, 2)

    check_layer(lambda x, g, b: L.spatial_batchnorm(x, g, b, {"mode": "train"}), ref, [x, gamma, beta])
    bn = {"mode": "train"}
    L.spatial_batchnorm(x, gamma, beta, bn)
    assert bn["running_mean"].shape == (3,)
    onp.testing.assert_allclose(onp.asarray(bn["running_mean"]), 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-10)
    bn["mode"] = "test"
    rm, rv = onp.asarray(bn["running_mean"]), onp.asarray(bn["running_var"])
    out = L.spatial_batchnorm(x, gamma, beta, bn).asnumpy()
    shape = (1, 3, 1, 1)
    expected = gamma.reshape(shape) * (x - rm.reshape(shape)) / onp.sqrt(rv.reshape(shape) + 1e-5) \
        + beta.reshape(shape)
    onp.testing.assert_allclose(out, expected, rtol=1e-10)


def test_layernorm(rng):
    x, gamma, beta = rng.randn(4, 5) * 2 + 1, rng.randn(5), rng.randn(5)

    def ref(x, g, b):
        mu = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        return g * (x - mu) / onp.sqrt(var + 1e-5) + b

    check_layer(lambda x, g, b: L.layernorm(x, g, b, {}), ref, [x, gamma, beta])
    check_layer(lambda x, g, b: L.layernorm(x, g, b), ref, [x, gamma, beta], argnums=[])


def test_groupnorm(rng):
    x, gamma, beta = rng.randn(2, 6, 2, 2), rng.randn(1, 6, 1, 1), rng.randn(1, 6, 1, 1)

    def ref(x, g, b):
        grouped = x.reshape(2, 3, -1)
        mu = grouped.mean(axis=2, keepdims=True)
        var = grouped.var(axis=2, keepdims=True)
        return g * ((grouped - mu) / onp.sqrt(var + 1e-5)).reshape(x.shape) + b

    check_layer(lambda x, g, b: L.groupnorm(x, g, b, 3, {}), ref, [x, gamma, beta])
    with pytest.raises(ValueError, match="groupnorm: G=4 groups must divide the 6 channels"):
        L.groupnorm(x, gamma, beta, 4, {})


# ------------------------------------------------------------------------------------------------ dropout
def test_dropout_keep_probability_and_scaling():
    x = onp.ones((200, 100))
    out = L.dropout(x, {"p": 0.3, "mode": "train"}).asnumpy()
    kept = out != 0
    assert abs(kept.mean() - 0.3) < 0.015, kept.mean()
    onp.testing.assert_allclose(out[kept], 1 / 0.3)
    assert abs(out.mean() - 1.0) < 0.05


def test_dropout_seed_gives_the_same_mask_and_leaves_global_rng_alone(rng):
    x = rng.randn(8, 9)
    onp.random.seed(5)
    before = onp.random.get_state()[1].copy()
    a = L.dropout(x, {"p": 0.5, "mode": "train", "seed": 7}).asnumpy()
    b = L.dropout(x, {"p": 0.5, "mode": "train", "seed": 7}).asnumpy()
    c = L.dropout(x, {"p": 0.5, "mode": "train", "seed": 8}).asnumpy()
    onp.testing.assert_array_equal(a, b)
    assert not onp.array_equal(a, c)
    onp.testing.assert_array_equal(onp.random.get_state()[1], before)


def test_dropout_without_seed_follows_np_random_seed(rng):
    x = rng.randn(8, 9)
    np.random.seed(3)
    a = L.dropout(x, {"p": 0.5, "mode": "train"}).asnumpy()
    np.random.seed(3)
    b = L.dropout(x, {"p": 0.5, "mode": "train"}).asnumpy()
    onp.testing.assert_array_equal(a, b)


def test_dropout_test_mode_is_identity(rng):
    x = rng.randn(4, 5)
    out = L.dropout(x, {"p": 0.25, "mode": "test"})
    assert type(out) is Array
    onp.testing.assert_array_equal(out.asnumpy(), x)
    g = grad(lambda x: np.sum(L.dropout(x, {"p": 0.25, "mode": "test"}) * 2))(np.array(x))
    onp.testing.assert_array_equal(g.asnumpy(), onp.full_like(x, 2.0))


def test_dropout_gradient_with_seed(rng):
    x = rng.randn(4, 5)
    mask = (onp.random.RandomState(11).random_sample(x.shape) < 0.6) / 0.6
    check_layer(lambda x: L.dropout(x, {"p": 0.6, "mode": "train", "seed": 11}), lambda x: x * mask, [x])


def test_dropout_errors(rng):
    with pytest.raises(ValueError, match=r"dropout: keep probability p must be in \(0, 1\], got 0.0"):
        L.dropout(rng.randn(2, 2), {"p": 0.0, "mode": "train"})
    with pytest.raises(ValueError, match="dropout: dropout_param needs 'p'"):
        L.dropout(rng.randn(2, 2), {"mode": "train"})


# ------------------------------------------------------------------------------------------------ conv / pool
def _need(name):
    try:
        import imperdl.core as core

        return getattr(core, name)
    except AttributeError:
        pytest.skip(f"imperdl.core.{name} is not available yet (the convolution primitives are being written)")


@pytest.mark.parametrize("stride, pad", [(1, 1), (2, 0)])
def test_conv(rng, stride, pad):
    _need("conv2d")
    x, w, b = rng.randn(2, 2, 5, 5), rng.randn(3, 2, 3, 3), rng.randn(3)
    check_layer(lambda x, w, b: L.conv(x, w, b, {"stride": stride, "pad": pad}),
                lambda x, w, b: ref_conv(x, w, b, stride, pad), [x, w, b], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("params", [
    {"pool_height": 2, "pool_width": 2, "stride": 2},
    {"pool_height": 3, "pool_width": 2, "stride": 1},
])
def test_max_pool(rng, params):
    _need("max_pool2d")
    # distinct values far apart: the maximum of each window is unique and stays so under a 1e-6 perturbation
    x = rng.permutation(2 * 2 * 5 * 4).reshape(2, 2, 5, 4) * 0.1
    check_layer(lambda x: L.max_pool(x, params),
                lambda x: ref_pool(x, params["pool_height"], params["pool_width"], params["stride"], onp.max), [x])


@pytest.mark.parametrize("params", [
    {"pool_height": 2, "pool_width": 2, "stride": 2},
    {"pool_height": 3, "pool_width": 2, "stride": 1},
])
def test_avg_pool(rng, params):
    _need("avg_pool2d")
    x = rng.randn(2, 2, 5, 4)
    check_layer(lambda x: L.avg_pool(x, params),
                lambda x: ref_pool(x, params["pool_height"], params["pool_width"], params["stride"], onp.mean), [x],
                rtol=1e-7, atol=1e-9)


def test_pool_defaults_and_unknown_keys(rng):
    _need("max_pool2d")
    assert L.max_pool(rng.randn(1, 1, 4, 4), {}).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match=r"max_pool: unknown parameter\(s\) \['pool_size'\]"):
        L.max_pool(rng.randn(1, 1, 4, 4), {"pool_size": 2})


# ------------------------------------------------------------------------------------------------ losses
def ref_svm_loss(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if j != y[i]:
                total += max(0.0, x[i, j] - x[i, y[i]] + 1)
    return total / x.shape[0]


def ref_softmax_loss(x, y):
    p = ref_softmax(x)
    return -onp.mean(onp.log(p[onp.arange(len(y)), y]))


def _scores_without_hinge_kinks(rng, n, c, y):
    """Scores whose margins x_ij - x_iy + 1 stay at least 0.05 away from 0."""
    while True:
        x = rng.randn(n, c)
        m = x - x[onp.arange(n), y][:, None] + 1
        m[onp.arange(n), y] = 1
        if onp.abs(m).min() > 0.05:
            return x


def test_svm_loss(rng):
    y = onp.array([0, 3, 1, 2, 3])
    x = _scores_without_hinge_kinks(rng, 5, 4, y)
    check_layer(lambda x: L.svm_loss(x, y), lambda x: ref_svm_loss(x, y), [x])
    assert L.svm_loss(x, y).shape == ()


def test_softmax_loss(rng):
    y = onp.array([0, 3, 1, 2, 3])
    x = rng.randn(5, 4)
    check_layer(lambda x: L.softmax_loss(x, y), lambda x: ref_softmax_loss(x, y), [x])
    assert L.softmax_loss(x, y).shape == ()
    # stable for huge scores, and about log(C) for tiny ones (the course's sanity check)
    assert onp.isfinite(float(L.softmax_loss(onp.array([[1000.0, -1000.0]]), onp.array([1]))))
    onp.testing.assert_allclose(float(L.softmax_loss(rng.randn(50, 10) * 1e-3, rng.randint(10, size=50))),
                                onp.log(10), rtol=1e-2)


def test_losses_take_any_integer_label_dtype_and_reject_float_labels(rng):
    x = rng.randn(3, 4)
    for dtype in (onp.int32, onp.int64, onp.uint8):
        y = onp.array([1, 0, 3], dtype=dtype)
        onp.testing.assert_allclose(float(L.softmax_loss(x, y)), ref_softmax_loss(x, y.astype(int)), rtol=1e-10)
        onp.testing.assert_allclose(float(L.svm_loss(x, y)), ref_svm_loss(x, y.astype(int)), rtol=1e-10)
    with pytest.raises(TypeError, match="softmax_loss: labels must be integers, got dtype float64"):
        L.softmax_loss(x, onp.array([1.0, 0.0, 3.0]))
    with pytest.raises(ValueError, match=r"svm_loss: labels must have shape \(3,\)"):
        L.svm_loss(x, onp.array([1, 0]))


def test_l2_loss(rng):
    x, y = rng.randn(4, 3), rng.randn(4, 3)
    check_layer(L.l2_loss, lambda x, y: 0.5 * onp.sum((x - y) ** 2) / 4, [x, y])
    x1, t = rng.randn(5, 1), rng.randn(5)
    check_layer(L.l2_loss, lambda x, y: 0.5 * onp.sum((x[:, 0] - y) ** 2) / 5, [x1, t])
    with pytest.raises(ValueError, match=r"l2_loss: targets of shape \(4,\) do not match predictions"):
        L.l2_loss(x, rng.randn(4))


def test_softmax_cross_entropy(rng):
    prob = ref_softmax(rng.randn(4, 3))
    y = onp.array([2, 0, 1, 1])
    onehot = onp.eye(3)[y]
    ref = -onp.mean(onp.log(prob[onp.arange(4), y]))
    check_layer(lambda p: L.softmax_cross_entropy(p, y), lambda p: -onp.mean(onp.log(p[onp.arange(4), y])), [prob])
    check_layer(lambda p: L.softmax_cross_entropy(p, onehot), lambda p: -onp.sum(onp.log(p) * onehot) / 4, [prob])
    onp.testing.assert_allclose(float(L.softmax_cross_entropy(prob, onehot)), ref, rtol=1e-12)
    with pytest.raises(ValueError, match="softmax_cross_entropy: y must be integer labels"):
        L.softmax_cross_entropy(prob, onp.zeros((4, 2)))


# ------------------------------------------------------------------------------------------------ recurrent
N, T, D, H = 2, 3, 4, 3


def test_rnn_step(rng):
    check_layer(L.rnn_step, ref_rnn_step, [rng.randn(N, D), rng.randn(N, H), rng.randn(D, H) * 0.5,
                                           rng.randn(H, H) * 0.5, rng.randn(H)])


def test_rnn_sequence(rng):
    args = [rng.randn(N, T, D), rng.randn(N, H), rng.randn(D, H) * 0.5, rng.randn(H, H) * 0.5, rng.randn(H)]
    check_layer(L.rnn, lambda *a: ref_sequence(ref_rnn_step, *a), args)
    # the sequence is the step applied in a loop
    h, hs = args[1], []
    for t in range(T):
        h = L.rnn_step(args[0][:, t], h, *args[2:])
        hs.append(h.asnumpy())
    onp.testing.assert_allclose(L.rnn(*args).asnumpy(), onp.stack(hs, axis=1), rtol=1e-12)


def test_lstm_step(rng):
    args = [rng.randn(N, D), rng.randn(N, H), rng.randn(N, H), rng.randn(D, 4 * H) * 0.5,
            rng.randn(H, 4 * H) * 0.5, rng.randn(4 * H)]
    check_layer(L.lstm_step, ref_lstm_step, args)


def test_lstm_gate_order(rng):
    """Only the input gate open and g = tanh(b_g): the cell becomes i * g, so a swap of gates would show."""
    b = onp.zeros(4 * H)
    b[:H] = 50      # i -> 1
    b[H:2 * H] = -50  # f -> 0
    b[2 * H:3 * H] = 50  # o -> 1
    b[3 * H:] = 0.5
    h, c = L.lstm_step(onp.zeros((1, D)), onp.zeros((1, H)), onp.ones((1, H)), onp.zeros((D, 4 * H)),
                       onp.zeros((H, 4 * H)), b)
    onp.testing.assert_allclose(c.asnumpy(), onp.full((1, H), onp.tanh(0.5)), rtol=1e-12)
    onp.testing.assert_allclose(h.asnumpy(), onp.tanh(c.asnumpy()), rtol=1e-12)


def test_lstm_sequence(rng):
    args = [rng.randn(N, T, D), rng.randn(N, H), rng.randn(D, 4 * H) * 0.5, rng.randn(H, 4 * H) * 0.5,
            rng.randn(4 * H)]
    check_layer(L.lstm, lambda *a: ref_sequence(ref_lstm_step, *a, cell=True), args)


def test_gru_step(rng):
    check_layer(L.gru_step, ref_gru_step, [rng.randn(N, D), rng.randn(N, H), rng.randn(D, 3 * H) * 0.5,
                                           rng.randn(H, 3 * H) * 0.5, rng.randn(3 * H)])


def test_gru_sequence(rng):
    args = [rng.randn(N, T, D), rng.randn(N, H), rng.randn(D, 3 * H) * 0.5, rng.randn(H, 3 * H) * 0.5,
            rng.randn(3 * H)]
    check_layer(L.gru, lambda *a: ref_sequence(ref_gru_step, *a), args)


def test_word_embedding_gradient_is_a_scatter_add(rng):
    W = rng.randn(5, 3)
    x = onp.array([[0, 3, 3], [1, 3, 0]])
    check_layer(lambda W: L.word_embedding(x, W), lambda W: W[x], [W])
    g = grad(lambda W: np.sum(L.word_embedding(x, W)))(np.array(W)).asnumpy()
    onp.testing.assert_array_equal(g[:, 0], [2, 1, 0, 3, 0])
    with pytest.raises(TypeError, match="word_embedding: indices must be integers"):
        L.word_embedding(x.astype(float), W)


def test_temporal_affine(rng):
    x, w, b = rng.randn(N, T, D), rng.randn(D, 5), rng.randn(5)
    check_layer(L.temporal_affine, lambda x, w, b: onp.einsum("ntd,dm->ntm", x, w) + b, [x, w, b])


def test_temporal_softmax_loss(rng):
    V = 6
    x = rng.randn(N, T, V)
    y = rng.randint(V, size=(N, T))
    mask = onp.array([[True, True, False], [True, False, False]])

    def ref(x):
        total = 0.0
        for n in range(N):
            for t in range(T):
                if mask[n, t]:
                    total -= onp.log(ref_softmax(x[n, t])[y[n, t]])
        return total / N

    check_layer(lambda x: L.temporal_softmax_loss(x, y, mask), ref, [x])
    assert L.temporal_softmax_loss(x, y, mask).shape == ()
    # masked steps do not matter at all
    x2 = x.copy()
    x2[~mask] = 1e3
    onp.testing.assert_allclose(float(L.temporal_softmax_loss(x2, y, mask)), ref(x), rtol=1e-12)
    with pytest.raises(ValueError, match=r"temporal_softmax_loss: y \(2, 2\) and mask \(2, 3\) must both be"):
        L.temporal_softmax_loss(x, y[:, :2], mask)


def test_recurrent_layers_reject_non_sequences(rng):
    with pytest.raises(ValueError, match=r"lstm: x must be 3-D \(N, T, D\), got shape \(2, 4\)"):
        L.lstm(rng.randn(2, 4), rng.randn(2, H), rng.randn(D, 4 * H), rng.randn(H, 4 * H), rng.randn(4 * H))


# ------------------------------------------------------------------------------------------------ a model
def test_two_layer_net_gradients_through_a_params_dict(rng):
    """The pieces together, as a course model writes them: one grads dict for the whole params dict."""
    X, y = rng.randn(4, 5), onp.array([0, 2, 1, 2])
    params = {"W1": rng.randn(5, 6) * 0.5, "b1": rng.randn(6), "W2": rng.randn(6, 3) * 0.5, "b2": rng.randn(3)}

    def loss(p):
        h = L.relu(L.affine(X, p["W1"], p["b1"]))
        return L.softmax_loss(L.affine(h, p["W2"], p["b2"]), y)

    def ref(**p):
        h = onp.maximum(X @ p["W1"] + p["b1"], 0)
        return ref_softmax_loss(h @ p["W2"] + p["b2"], y)

    grads = grad(loss)({k: np.array(v) for k, v in params.items()})
    assert set(grads) == set(params)
    for k in params:
        def f(v, k=k):
            return ref(**{**params, k: v})
        numeric = _numeric_grad(f, [params[k].copy()], 0, [1.0])
        onp.testing.assert_allclose(onp.asarray(grads[k]), numeric, rtol=1e-6, atol=1e-8, err_msg=k)
