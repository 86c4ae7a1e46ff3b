"""conv2d / max_pool2d / avg_pool2d as primitives: both backends agree with NumPy references, the first-order
gradient after an MXNet forward comes from MXNet's backward (and equals the rule built from primitives), and bad
calls get errors that name the operation and the shapes. Finite-difference checks of every order live in
tests/gradients/cases_convolution.py."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import avg_pool2d, conv2d, grad, make_vjp, max_pool2d
from imperdl.core import conv_numpy as K
from imperdl.core import convolution as C

POLICIES = {"prefer_mxnet": imperdl.PreferMXNetPolicy, "only_numpy": imperdl.OnlyNumPyPolicy}


def naive_conv(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = onp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = 1 + (h + 2 * pad - hh) // stride, 1 + (wd + 2 * pad - ww) // stride
    out = onp.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            win = xp[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = onp.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + (b[None, :, None, None] if b is not None else 0)


@pytest.mark.mxnet
@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("stride,pad", [(1, 1), (2, 0), (2, 3)])
def test_conv2d_matches_reference(policy, dtype, stride, pad):
    rng = onp.random.default_rng(0)
    x = rng.standard_normal((3, 2, 7, 6)).astype(dtype)
    w = rng.standard_normal((4, 2, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    with POLICIES[policy]():
        y = conv2d(np.array(x), np.array(w), np.array(b), stride=stride, pad=pad)
    assert y.dtype == onp.dtype(dtype)
    assert y.backends == (("mxnet",) if policy == "prefer_mxnet" else ("numpy",))
    tol = 1e-4 if dtype == "float32" else 1e-10
    onp.testing.assert_allclose(y.asnumpy(), naive_conv(x, w, b, stride, pad), rtol=tol, atol=tol)


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("ph,pw,stride", [(2, 2, 2), (3, 3, 2), (3, 2, 1)])
def test_pools_match_reference(policy, ph, pw, stride):
    x = onp.random.default_rng(1).standard_normal((2, 3, 7, 8))
    with POLICIES[policy]():
        mp = max_pool2d(x, ph, pw, stride).asnumpy()
        ap = avg_pool2d(x, ph, pw, stride).asnumpy()
    ho, wo = 1 + (7 - ph) // stride, 1 + (8 - pw) // stride
    win = onp.stack([x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].reshape(2, 3, -1)
                     for i in range(ho) for j in range(wo)], axis=-1).reshape(2, 3, ph * pw, ho, wo)
    onp.testing.assert_allclose(mp, win.max(axis=2), rtol=1e-12)
    onp.testing.assert_allclose(ap, win.mean(axis=2), rtol=1e-12)


def _loss(x, w, b):
    h = np.tanh(conv2d(x, w, b, stride=1, pad=1))
    return np.sum(np.sin(max_pool2d(h, 2, 2, 2))) + np.sum(avg_pool2d(h, 2, 2, 2) ** 2)


@pytest.mark.mxnet
def test_first_order_uses_mxnet_backward_and_agrees_with_the_rules():
    rng = onp.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    rule_prims = (C._conv_dx, C._conv_dw, C._max_dx, C._avg_dx)
    before = [sum(p.counts) for p in rule_prims]
    with imperdl.PreferMXNetPolicy():
        fast = grad(_loss, (0, 1, 2))(x, w, b)
    assert [sum(p.counts) for p in rule_prims] == before, "MXNet's backward should have served first order"
    with imperdl.OnlyNumPyPolicy():
        slow = grad(_loss, (0, 1, 2))(x, w, b)
    assert [sum(p.counts) for p in rule_prims] != before
    for a, s in zip(fast, slow):
        onp.testing.assert_allclose(a.asnumpy(), s.asnumpy(), rtol=1e-9, atol=1e-10)


def test_gradient_of_weights_only_and_repeated_vjps():
    """Only traced inputs are recorded; one forward serves several cotangents (jacobian-style)."""
    rng = onp.random.default_rng(3)
    x, w = np.array(rng.standard_normal((2, 3, 5, 5))), rng.standard_normal((2, 3, 3, 3))
    with imperdl.PreferMXNetPolicy():
        vjp, y = make_vjp(lambda w: conv2d(x, w, None, 1, 0))(np.array(w))
        g1 = onp.asarray(rng.standard_normal(y.shape))
        g2 = onp.asarray(rng.standard_normal(y.shape))
        d1, d2 = vjp(np.array(g1)).asnumpy(), vjp(np.array(g2)).asnumpy()
    onp.testing.assert_allclose(d1, K.conv2d_weight_grad(x.asnumpy(), g1, w.shape, (1, 1), (0, 0)), rtol=1e-9)
    onp.testing.assert_allclose(d2, K.conv2d_weight_grad(x.asnumpy(), g2, w.shape, (1, 1), (0, 0)), rtol=1e-9)


def test_conv_layer_float32_training_step_matches_between_backends():
    rng = onp.random.default_rng(4)
    x = rng.standard_normal((4, 3, 8, 8)).astype("float32")
    w = (0.1 * rng.standard_normal((5, 3, 3, 3))).astype("float32")
    b = onp.zeros(5, "float32")
    out = {}
    for name, pol in POLICIES.items():
        with pol():
            out[name] = [g.asnumpy() for g in grad(_loss, (0, 1, 2))(x, w, b)]
    for a, s in zip(out["prefer_mxnet"], out["only_numpy"]):
        assert a.dtype == onp.float32
        onp.testing.assert_allclose(a, s, rtol=2e-3, atol=2e-4)


@pytest.mark.mxnet
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_bad_calls_name_the_operation_and_shapes(policy, no_mxnet_text):
    x, w = np.zeros((2, 3, 5, 5), dtype="float32"), np.zeros((4, 2, 3, 3), dtype="float32")
    with POLICIES[policy]():
        with pytest.raises(ValueError, match=r"conv2d.*3 channels.*expects 2") as e:
            conv2d(x, w)
        no_mxnet_text(str(e.value))
        with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
            conv2d(x, np.zeros((4, 3, 3, 3), dtype="float32"), np.zeros(3, dtype="float32"))
        with pytest.raises(ValueError, match="max_pool2d.*smaller than the pooling window"):
            max_pool2d(x, 6, 6, 1)
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        conv2d(x, w, stride=(1, 2, 3))
    # a user error does not demote the signature: the next valid call still runs on MXNet
    with imperdl.PreferMXNetPolicy():
        y = conv2d(x, np.zeros((4, 3, 3, 3), dtype="float32"))
    assert y.backends == ("mxnet",)


def test_a_float64_cotangent_reaches_float32_mxnet_work():
    """``np.sum(f32) / n`` is float64 by NumPy's rules: MXNet's backward must still get its own dtype."""
    from imperdl.core import relu

    rng = onp.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 6)).astype("float32")
    w = rng.standard_normal((4, 3, 3, 3)).astype("float32")

    def loss(w):
        return np.sum(max_pool2d(relu(conv2d(x, w, None, 1, 1)), 2, 2, 2)) * onp.float64(0.5)

    out = {}
    for name, pol in POLICIES.items():
        with pol():
            out[name] = grad(loss)(w).asnumpy()
    assert out["prefer_mxnet"].dtype == onp.float32
    onp.testing.assert_allclose(out["prefer_mxnet"], out["only_numpy"], rtol=1e-4, atol=1e-5)
