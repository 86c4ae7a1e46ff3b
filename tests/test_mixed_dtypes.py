"""Mixed dtypes into the MXNet-backed kernels (conv2d, pools, relu, sigmoid, Function) and the nn layers.

Every call follows NumPy's promotion (result dtype ``numpy.result_type`` of the inputs, values as NumPy computes
them), or the rule its docstring documents, under every policy; none reaches MXNet as a mismatch. Under
OnlyMXNetPolicy a call MXNet cannot take raises MXNetUnsupportedError in words. Gradients: each input's gradient
has that input's dtype and matches float64 finite differences of a NumPy reference within the dtype's tolerance.
"""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import MXNetUnsupportedError, avg_pool2d, conv2d, grad, max_pool2d, relu, sigmoid
from imperdl.core.backends import mxnet_backend as _mxb
from imperdl.nn import layers as L

# (through imperdl's loader: on NumPy >= 1.24 a bare ``import mxnet`` fails before imperdl has loaded it)
mx = _mxb.load() or pytest.skip(f"needs MXNet: {_mxb.unavailable_reason()}", allow_module_level=True)

POLICIES = ["prefer_mxnet", "only_mxnet", "only_numpy", "default"]
MXNET_TEXT = ("Traceback", ".cc:", "Stack trace", "MXNetError", "[bt]", "Check failed")
# relative tolerance of a result in each dtype, against a float64 reference (scaled by the result's magnitude)
TOL = {"float16": 2e-2, "float32": 2e-5, "float64": 1e-11}


def _use(policy: str) -> None:
    imperdl.set_global_policy(None if policy == "default" else policy)


def _rand(rng, shape, dtype):
    v = rng.standard_normal(shape)
    if onp.dtype(dtype) == bool:
        return v > 0
    return v.astype(dtype) if onp.dtype(dtype).kind == "f" else onp.round(3 * v).astype(dtype)


def _assert_matches(got, ref, dtype, tol_dtype=None):
    """``got`` (an imperdl result) has ``dtype`` and the reference's values within the tolerance of ``tol_dtype``
    (default ``dtype``: the least precise dtype the computation went through)."""
    dtype = onp.dtype(dtype)
    assert got.dtype == dtype, f"dtype {got.dtype}, expected {dtype}"
    g = onp.asarray(got.asnumpy(), dtype=onp.float64)
    r = onp.asarray(ref, dtype=onp.float64)
    assert g.shape == r.shape
    if dtype.kind in "iub":
        onp.testing.assert_array_equal(g, r)
    else:
        scale = 1.0 + onp.abs(r).max()
        assert onp.abs(g - r).max() <= TOL[onp.dtype(tol_dtype or dtype).name] * scale, onp.abs(g - r).max()


def _call(policy, fn, ref, dtype, tol_dtype=None):
    """Run ``fn`` under ``policy``; the result must match, or (OnlyMXNet only) refuse in words."""
    _use(policy)
    try:
        out = fn()
    except MXNetUnsupportedError as exc:
        assert policy == "only_mxnet", f"{policy}: {exc}"
        msg = str(exc)
        assert "OnlyMXNetPolicy" in msg and "MXNet cannot run it" in msg, msg
        assert not any(t in msg for t in MXNET_TEXT), msg
        return None
    _assert_matches(out, ref, dtype, tol_dtype)
    return out


# ------------------------------------------------------------------------------------------------ references
def ref_conv(x, w, b, s=1, p=1):
    """Cross-correlation in NumPy (loops over the kernel offsets), computed in NumPy's result dtype."""
    dt = onp.result_type(x, w) if b is None else onp.result_type(x, w, b)
    x, w = x.astype(dt), w.astype(dt)
    xp = onp.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    f, _, kh, kw = w.shape
    ho, wo = 1 + (xp.shape[2] - kh) // s, 1 + (xp.shape[3] - kw) // s
    out = onp.zeros((x.shape[0], f, ho, wo), dt)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + s * (ho - 1) + 1:s, j:j + s * (wo - 1) + 1:s]
            out += onp.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return out if b is None else out + b.astype(dt)[:, None, None]


def ref_pool(x, reduce):
    n, c, h, w = x.shape
    return reduce(x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2), axis=(3, 5))


def ref_sigmoid(x):
    dt = x.dtype if x.dtype.kind == "f" else onp.result_type(x.dtype, onp.float16)
    return 1 / (1 + onp.exp(-x.astype(onp.float64))), dt


def _fd_grad(f, args, i, eps=1e-6):
    """Central finite differences of the float64 NumPy function ``f`` w.r.t. ``args[i]``, every entry."""
    args = [a.astype(onp.float64) if a.dtype.kind == "f" else a for a in args]
    x = args[i]
    g = onp.zeros(x.shape)
    for k in range(x.size):
        old = x.flat[k]
        x.flat[k] = old + eps
        up = f(*args)
        x.flat[k] = old - eps
        down = f(*args)
        x.flat[k] = old
        g.flat[k] = (up - down) / (2 * eps)
    return g


def _check_grads(policy, loss, ref_loss, args, argnums):
    """Gradients of ``loss`` (imperdl) w.r.t. ``args[argnums]``: each in its input's dtype, equal to float64 finite
    differences of ``ref_loss`` (NumPy) within that dtype's tolerance."""
    _use(policy)
    grads = grad(loss, argnum=tuple(argnums))(*[np.array(a) for a in args])
    for k, i in enumerate(argnums):
        g, x = grads[k], args[i]
        assert g.dtype == x.dtype, f"gradient of argument {i} is {g.dtype}, the argument {x.dtype}"
        ref = _fd_grad(ref_loss, args, i)
        scale = 1.0 + onp.abs(ref).max()
        tol = {"float16": 3e-2, "float32": 1e-4, "float64": 1e-6}[x.dtype.name]
        err = onp.abs(onp.asarray(g.asnumpy(), dtype=onp.float64) - ref).max()
        assert err <= tol * scale, f"argument {i} ({x.dtype}): max error {err:.3e}"


# ------------------------------------------------------------------------------------------------ core ops
CONV_DTYPES = [
    ("float64", "float32", "float32"), ("float32", "float64", "float64"), ("float32", "float32", "float64"),
    ("float16", "float32", "float32"), ("int32", "float32", "float32"), ("int64", "float64", None),
    ("float16", "float16", "float16"), ("int64", "int64", "int64"), ("float32", "float32", "float32"),
]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("dts", CONV_DTYPES, ids=lambda d: "-".join(str(t) for t in d))
def test_conv2d_follows_numpy_promotion(policy, dts):
    rng = onp.random.default_rng(0)
    x, w = _rand(rng, (2, 3, 5, 5), dts[0]), _rand(rng, (4, 3, 3, 3), dts[1])
    b = None if dts[2] is None else _rand(rng, (4,), dts[2])
    want = onp.result_type(*[a for a in (x, w, b) if a is not None])
    out = _call(policy, lambda: conv2d(x, w, b, 1, 1), ref_conv(x, w, b), want)
    if want in (onp.float32, onp.float64) and policy != "only_numpy":
        # MXNet takes every call whose NumPy result is float32/float64: the mixed ones are cast, not refused
        assert out is not None
        if policy in ("prefer_mxnet", "only_mxnet"):
            assert "mxnet" in out.backends  # it ran on MXNet (reading it added a host copy)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "uint8", "int8", "bool"])
def test_pools_and_activations_keep_their_documented_dtypes(policy, dtype):
    rng = onp.random.default_rng(1)
    x = _rand(rng, (2, 3, 4, 5), dtype)
    fdt = x.dtype if x.dtype.kind == "f" else onp.dtype(onp.float64)
    _call(policy, lambda: max_pool2d(x, 2, 2, 2), ref_pool(x, onp.max), x.dtype)
    _call(policy, lambda: avg_pool2d(x, 2, 2, 2), ref_pool(x.astype(onp.float64), onp.mean), fdt)
    _call(policy, lambda: relu(x), onp.maximum(x, 0).astype(x.dtype), x.dtype)
    ref, sdt = ref_sigmoid(x)
    out = _call(policy, lambda: sigmoid(x), ref, sdt)
    if out is not None:
        assert onp.dtype(sdt) == onp.exp(onp.zeros(1, x.dtype)).dtype  # the float dtype numpy.exp gives it


@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy", "default"])
@pytest.mark.parametrize("dts", [("float32", "float64", "float32"), ("float64", "float32", "float32"),
                                 ("float16", "float32", "float32")], ids=lambda d: "-".join(d))
def test_conv2d_mixed_gradients_have_each_inputs_dtype(policy, dts):
    rng = onp.random.default_rng(2)
    x, w, b = _rand(rng, (1, 2, 4, 4), dts[0]), _rand(rng, (2, 2, 3, 3), dts[1]), _rand(rng, (2,), dts[2])
    cot = rng.standard_normal((1, 2, 4, 4))

    def loss(x, w, b):
        return np.sum(conv2d(x, w, b, 1, 1) * cot)

    _check_grads(policy, loss, lambda x, w, b: onp.sum(ref_conv(x, w, b) * cot), (x, w, b), (0, 1, 2))


@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy", "default"])
@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_pool_and_activation_gradients_under_a_float64_loss(policy, dtype):
    rng = onp.random.default_rng(3)
    x = _rand(rng, (1, 2, 4, 4), dtype)
    cot = rng.standard_normal((1, 2, 2, 2))

    def loss(x):
        return np.sum(max_pool2d(relu(x), 2, 2, 2) * cot) + np.sum(avg_pool2d(sigmoid(x), 2, 2, 2) * cot)

    def ref(x):
        return (onp.sum(ref_pool(onp.maximum(x, 0), onp.max) * cot)
                + onp.sum(ref_pool(ref_sigmoid(x)[0], onp.mean) * cot))

    _check_grads(policy, loss, ref, (x,), (0,))


# ------------------------------------------------------------------------------------------------ Function
def _fc():
    return imperdl.core.Function(mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=4, name="fc"), {"x": (3, 5)})


def _conv_bn():
    h = mx.sym.Convolution(mx.sym.Variable("x"), kernel=(3, 3), num_filter=2, name="cv")
    return imperdl.core.Function(mx.sym.BatchNorm(h, name="bn"), {"x": (2, 3, 5, 5)})


FC_DTYPES = [("float64", "float32"), ("float32", "float64"), ("float16", "float32"), ("int32", "float32"),
             ("float16", "float16"), ("float32", "float32")]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("dts", FC_DTYPES, ids=lambda d: "-".join(d))
def test_function_promotes_its_inputs(policy, dts):
    rng = onp.random.default_rng(4)
    f = _fc()
    x, w, b = _rand(rng, (3, 5), dts[0]), _rand(rng, (4, 5), dts[1]), _rand(rng, (4,), dts[1])
    want = onp.result_type(x, w, b)
    want = want if want.kind == "f" else onp.dtype(onp.float64)
    _use(policy)
    out = f(x=x, fc_weight=w, fc_bias=b)
    _assert_matches(out, x.astype(onp.float64) @ w.T.astype(onp.float64) + b, want)
    # the same Function, called again in one dtype, is not poisoned by the mixed call
    same = f(x=x.astype(onp.float32), fc_weight=w.astype(onp.float32), fc_bias=b.astype(onp.float32))
    _assert_matches(same, x.astype(onp.float64) @ w.T.astype(onp.float64) + b, onp.float32)
    y = _conv_bn()(x=_rand(rng, (2, 3, 5, 5), dts[0]), cv_weight=_rand(rng, (2, 3, 3, 3), dts[1]),
                   cv_bias=_rand(rng, (2,), dts[1]), bn_gamma=_rand(rng, (2,), dts[1]),
                   bn_beta=_rand(rng, (2,), dts[1]))
    assert y.dtype == want and y.shape == (2, 2, 3, 3) and onp.isfinite(y.asnumpy()).all()


@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy", "default"])
@pytest.mark.parametrize("dts", [("float64", "float32"), ("float32", "float64"), ("float16", "float32")],
                         ids=lambda d: "-".join(d))
def test_function_mixed_gradients_have_each_inputs_dtype(policy, dts):
    rng = onp.random.default_rng(5)
    f = _fc()
    x, w, b = _rand(rng, (3, 5), dts[0]), _rand(rng, (4, 5), dts[1]), _rand(rng, (4,), dts[1])
    cot = rng.standard_normal((3, 4))

    def loss(x, w, b):
        return np.sum(f(x=x, fc_weight=w, fc_bias=b) * cot)

    _check_grads(policy, loss, lambda x, w, b: onp.sum((x @ w.T + b) * cot), (x, w, b), (0, 1, 2))


def test_function_batchnorm_statistics_carry_across_dtypes():
    """A call in another dtype continues the moving statistics instead of resetting them."""
    rng = onp.random.default_rng(6)
    f = imperdl.core.Function(mx.sym.BatchNorm(mx.sym.Variable("x"), name="bn", fix_gamma=False), {"x": (8, 3)})
    x = rng.standard_normal((8, 3))
    params = {"bn_gamma": onp.ones(3), "bn_beta": onp.zeros(3)}
    f(x=x.astype(onp.float32), **{k: v.astype(onp.float32) for k, v in params.items()})
    f(x=x, **params)
    mean = x.mean(axis=0)
    mm = f.aux_states["bn_moving_mean"].asnumpy()
    onp.testing.assert_allclose(mm, 0.9 * 0.1 * mean + 0.1 * mean, rtol=1e-5)
    assert mm.dtype == onp.float64


def test_function_refuses_complex_in_words():
    f = _fc()
    with pytest.raises(TypeError, match="complex") as info:
        f(x=onp.ones((3, 5), complex), fc_weight=onp.ones((4, 5)), fc_bias=onp.ones(4))
    assert "'fc'" in str(info.value) or "Function" in str(info.value)
    assert not any(t in str(info.value) for t in MXNET_TEXT)


# ------------------------------------------------------------------------------------------------ nn layers
def _bn_ref(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    return gamma * (x - mu) / onp.sqrt(((x - mu) ** 2).mean(axis=0) + eps) + beta


def _ln_ref(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    return gamma * (x - mu) / onp.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + eps) + beta


def _sig(x):
    return 1 / (1 + onp.exp(-x))


def _lstm_ref(x, h, c, wx, wh, b):
    a = x @ wx + h @ wh + b
    H = h.shape[1]
    i, f, o, g = _sig(a[:, :H]), _sig(a[:, H:2 * H]), _sig(a[:, 2 * H:3 * H]), onp.tanh(a[:, 3 * H:])
    return o * onp.tanh(f * c + i * g)


def _sbn_ref(x, gamma, beta):
    n, c, h, w = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, c)
    return _bn_ref(flat, gamma, beta).reshape(n, h, w, c).transpose(0, 3, 1, 2)


def _gru_ref(x, h, wx, wh, b):
    H = h.shape[1]
    ax, ah = x @ wx + b, h @ wh[:, :2 * H]
    r, z = _sig(ax[:, :H] + ah[:, :H]), _sig(ax[:, H:2 * H] + ah[:, H:])
    return (1 - z) * onp.tanh(ax[:, 2 * H:] + (r * h) @ wh[:, 2 * H:]) + z * h


def _svm_ref(x):
    margins = onp.maximum(x - x[onp.arange(4), LABELS][:, None] + 1, 0)
    margins[onp.arange(4), LABELS] = 0
    return onp.sum(margins) / 4


LABELS = onp.array([0, 2, 1, 2])
TOKENS = onp.array([[0, 3], [2, 1]])
# name: (shapes of the data argument(s), shapes of the parameters, imperdl call, NumPy reference)
LAYERS = {
    "affine": ([(4, 2, 3)], [(6, 5), (5,)], lambda x, w, b: L.affine(x, w, b),
               lambda x, w, b: x.reshape(4, -1) @ w + b),
    "batchnorm": ([(4, 3)], [(3,), (3,)], lambda x, g, b: L.batchnorm(x, g, b, {"mode": "train"}), _bn_ref),
    "spatial_batchnorm": ([(2, 3, 2, 2)], [(3,), (3,)],
                          lambda x, g, b: L.spatial_batchnorm(x, g, b, {"mode": "train"}), _sbn_ref),
    "layernorm": ([(4, 3)], [(3,), (3,)], lambda x, g, b: L.layernorm(x, g, b), _ln_ref),
    "conv": ([(2, 3, 5, 5)], [(4, 3, 3, 3), (4,)], lambda x, w, b: L.conv(x, w, b, {"pad": 1}), ref_conv),
    "rnn_step": ([(3, 4), (3, 5)], [(4, 5), (5, 5), (5,)], L.rnn_step,
                 lambda x, h, wx, wh, b: onp.tanh(x @ wx + h @ wh + b)),
    "lstm_step": ([(3, 4), (3, 5), (3, 5)], [(4, 20), (5, 20), (20,)],
                  lambda *a: L.lstm_step(*a)[0], _lstm_ref),
    "temporal_affine": ([(3, 2, 4)], [(4, 5), (5,)], L.temporal_affine,
                        lambda x, w, b: (x.reshape(6, 4) @ w + b).reshape(3, 2, 5)),
    "softmax_loss": ([(4, 3)], [], lambda x: L.softmax_loss(x, LABELS),
                     lambda x: -onp.sum(x[onp.arange(4), LABELS] - onp.log(onp.exp(x).sum(axis=1))) / 4),
    "word_embedding": ([], [(4, 3)], lambda w: L.word_embedding(TOKENS, w), lambda w: w[TOKENS]),
    "max_pool": ([(2, 3, 4, 4)], [], lambda x: L.max_pool(x, {}), lambda x: ref_pool(x, onp.max)),
    "dropout": ([(4, 3)], [], lambda x: L.dropout(x, {"p": 0.3, "seed": 1}),
                lambda x: x * (onp.random.RandomState(1).random_sample(x.shape) < 0.3) / 0.3),
    "avg_pool": ([(2, 3, 4, 4)], [], lambda x: L.avg_pool(x, {}), lambda x: ref_pool(x, onp.mean)),
    "gru_step": ([(3, 4), (3, 5)], [(4, 15), (5, 15), (15,)], L.gru_step, _gru_ref),
    "svm_loss": ([(4, 3)], [], lambda x: L.svm_loss(x, LABELS), _svm_ref),
    "l2_loss": ([(4, 3), (4, 3)], [], L.l2_loss, lambda x, y: 0.5 * onp.sum((x - y) * (x - y)) / 4),
}
LAYER_DTYPES = [("float64", "float32"), ("float32", "float64"), ("float16", "float32"), ("float32", "float32"),
                ("int32", "float32")]


def _layer_args(name, dx, dw, seed=7):
    rng = onp.random.default_rng(seed)
    data, params, _, _ = LAYERS[name]
    return [_rand(rng, s, dx) for s in data] + [_rand(rng, s, dw) for s in params]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("dts", LAYER_DTYPES, ids=lambda d: "-".join(d))
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_follow_numpy_promotion(policy, dts, name):
    args = _layer_args(name, *dts)
    _, _, layer, ref = LAYERS[name]
    # the reference is NumPy on the same arrays: the same promotions at the same steps, the same result dtype
    expected = ref(*args)
    least = min((a.dtype for a in args if a.dtype.kind == "f"), key=lambda d: d.itemsize, default=onp.float64)
    _call(policy, lambda: layer(*args), expected, onp.asarray(expected).dtype, least)


GRAD_LAYERS = ["affine", "batchnorm", "layernorm", "conv", "lstm_step", "softmax_loss", "word_embedding"]


@pytest.mark.parametrize("policy", ["prefer_mxnet", "default", "only_numpy"])
@pytest.mark.parametrize("name", GRAD_LAYERS)
def test_layer_gradients_in_mixed_dtypes(policy, name):
    args = _layer_args(name, "float64", "float32", seed=8)
    _, _, layer, ref = LAYERS[name]
    out_shape = onp.shape(ref(*args))
    cot = onp.random.default_rng(9).standard_normal(out_shape)

    def loss(*a):
        return np.sum(layer(*a) * cot)

    _check_grads(policy, loss, lambda *a: onp.sum(ref(*a) * cot), args, range(len(args)))
