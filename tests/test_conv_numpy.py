"""The NumPy convolution/pooling kernels against naive loop references, their adjoint identities, and MXNet."""
from __future__ import annotations

import threading

import numpy as onp
import pytest

from imperdl.core import conv_numpy as K

# (x shape, w shape, stride, pad): strides > 1, rectangular kernels, uneven pads, sizes the floor drops rows of
CONV_CASES = [
    ((2, 3, 5, 6), (4, 3, 3, 3), (1, 1), (1, 1)),
    ((2, 2, 8, 7), (3, 2, 3, 3), (2, 2), (1, 1)),  # last row/col dropped by the floor
    ((1, 3, 7, 9), (2, 3, 2, 4), (2, 3), (0, 2)),
    ((3, 1, 6, 5), (2, 1, 5, 1), (3, 1), (2, 0)),
    ((2, 2, 4, 4), (5, 2, 4, 4), (1, 1), (0, 0)),  # 1x1 output
    ((1, 2, 3, 3), (2, 2, 1, 1), (2, 2), (3, 3)),  # pad larger than kernel
]

# (x shape, pool h, pool w, stride): divisible, overlapping, stride > pool (gaps), non-divisible, rectangular
POOL_CASES = [
    ((2, 3, 4, 6), 2, 2, (2, 2)),
    ((2, 2, 7, 7), 3, 3, (2, 2)),
    ((1, 2, 5, 7), 2, 3, (1, 2)),
    ((2, 1, 8, 7), 3, 2, (3, 3)),
    ((1, 3, 7, 8), 2, 2, (3, 3)),
    ((2, 2, 5, 5), 1, 1, (1, 1)),
    ((1, 1, 4, 4), 4, 4, (1, 1)),
]


def _conv_id(case):
    x, w, s, p = case
    return f"x{x}-w{w}-s{s}-p{p}".replace(" ", "")


def _pool_id(case):
    x, ph, pw, s = case
    return f"x{x}-{ph}x{pw}-s{s}".replace(" ", "")


# ------------------------------------------------------------------------------------------------ references
def _pad(x, p):
    return onp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))


def _out_hw(h, w, kh, kw, s, p):
    return 1 + (h + 2 * p[0] - kh) // s[0], 1 + (w + 2 * p[1] - kw) // s[1]


def ref_conv(x, w, b, s, p):
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = _out_hw(h, wd, kh, kw, s, p)
    xp = _pad(x, p)
    out = onp.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * s[0]:i * s[0] + kh, j * s[1]:j * s[1] + kw]
            out[:, :, i, j] = onp.einsum("nchw,fchw->nf", patch, w)
    return out if b is None else out + b[:, None, None]


def ref_conv_grads(x, w, g, s, p):
    """(dx, dw) of sum(g * conv(x, w)), accumulated window by window."""
    kh, kw = w.shape[2:]
    xp = _pad(x, p)
    dxp, dw = onp.zeros_like(xp), onp.zeros_like(w)
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            rows, cols = slice(i * s[0], i * s[0] + kh), slice(j * s[1], j * s[1] + kw)
            dxp[:, :, rows, cols] += onp.einsum("nf,fchw->nchw", g[:, :, i, j], w)
            dw += onp.einsum("nf,nchw->fchw", g[:, :, i, j], xp[:, :, rows, cols])
    return dxp[:, :, p[0]:p[0] + x.shape[2], p[1]:p[1] + x.shape[3]], dw


def _windows(x, ph, pw, s):
    """Yield (i, j, rows, cols, window (N, C, ph*pw)) for each pooling window."""
    ho, wo = _out_hw(x.shape[2], x.shape[3], ph, pw, s, (0, 0))
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * s[0], i * s[0] + ph), slice(j * s[1], j * s[1] + pw)
            yield i, j, rows, cols, x[:, :, rows, cols].reshape(x.shape[0], x.shape[1], ph * pw)


def ref_max_pool(x, ph, pw, s, g=None, gx=None):
    """(pooled, grad of sum(g * pooled), gx picked at the first maximum of each window)."""
    ho, wo = _out_hw(x.shape[2], x.shape[3], ph, pw, s, (0, 0))
    out = onp.zeros(x.shape[:2] + (ho, wo))
    dx = onp.zeros(x.shape)
    sel = onp.zeros(out.shape)
    n, c = onp.indices(x.shape[:2])
    for i, j, rows, cols, win in _windows(x, ph, pw, s):
        out[:, :, i, j] = win.max(axis=2)
        k = win.argmax(axis=2)  # first maximum, row-major
        r, q = rows.start + k // pw, cols.start + k % pw
        if g is not None:
            onp.add.at(dx, (n, c, r, q), g[:, :, i, j])
        if gx is not None:
            sel[:, :, i, j] = gx[n, c, r, q]
    return out, dx, sel


def ref_avg_pool(x, ph, pw, s, g):
    ho, wo = _out_hw(x.shape[2], x.shape[3], ph, pw, s, (0, 0))
    out = onp.zeros(x.shape[:2] + (ho, wo))
    dx = onp.zeros(x.shape)
    for i, j, rows, cols, win in _windows(x, ph, pw, s):
        out[:, :, i, j] = win.mean(axis=2)
        dx[:, :, rows, cols] += g[:, :, i, j, None, None] / (ph * pw)
    return out, dx


def _inner(a, b):
    return float(onp.sum(a * b))


@pytest.fixture
def rng():
    return onp.random.default_rng(1234)


# ------------------------------------------------------------------------------------------------ convolution
@pytest.mark.parametrize("case", CONV_CASES, ids=_conv_id)
def test_conv_matches_loop_reference(case, rng):
    xs, ws, s, p = case
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    out = K.conv2d(x, w, b, s, p)
    ref = ref_conv(x, w, b, s, p)
    assert out.shape == ref.shape and out.dtype == onp.float64 and out.flags.c_contiguous
    onp.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    onp.testing.assert_allclose(K.conv2d(x, w, None, s, p), ref - b[:, None, None], rtol=1e-12, atol=1e-12)

    g = rng.standard_normal(ref.shape)
    dx_ref, dw_ref = ref_conv_grads(x, w, g, s, p)
    dx = K.conv2d_input_grad(g, w, x.shape, s, p)
    dw = K.conv2d_weight_grad(x, g, w.shape, s, p)
    assert dx.shape == x.shape and dx.flags.c_contiguous and dw.shape == w.shape
    onp.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    onp.testing.assert_allclose(dw, dw_ref, rtol=1e-12, atol=1e-12)


def test_conv_input_grad_is_zero_where_the_floor_drops_pixels(rng):
    x, w = rng.standard_normal((1, 1, 6, 6)), rng.standard_normal((1, 1, 3, 3))
    g = rng.standard_normal(K.conv2d(x, w, None, (2, 2), (0, 0)).shape)  # 2x2 output: row/col 5 never read
    dx = K.conv2d_input_grad(g, w, x.shape, (2, 2), (0, 0))
    assert not dx[..., 5, :].any() and not dx[..., :, 5].any() and dx[..., :5, :5].any()


@pytest.mark.parametrize("case", CONV_CASES, ids=_conv_id)
def test_conv_adjoint_identities(case, rng):
    xs, ws, s, p = case
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    g = rng.standard_normal(K.conv2d(x, w, None, s, p).shape)
    lhs = _inner(K.conv2d(x, w, None, s, p), g)
    assert lhs == pytest.approx(_inner(x, K.conv2d_input_grad(g, w, xs, s, p)), rel=1e-12, abs=1e-12)
    assert lhs == pytest.approx(_inner(w, K.conv2d_weight_grad(x, g, ws, s, p)), rel=1e-12, abs=1e-12)


def test_conv_dtypes(rng):
    xs, ws, s, p = CONV_CASES[1]
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    g = rng.standard_normal(K.conv2d(x, w, b, s, p).shape)
    x32, w32, b32, g32 = (a.astype(onp.float32) for a in (x, w, b, g))
    results32 = [
        (K.conv2d(x32, w32, b32, s, p), K.conv2d(x, w, b, s, p)),
        (K.conv2d_input_grad(g32, w32, xs, s, p), K.conv2d_input_grad(g, w, xs, s, p)),
        (K.conv2d_weight_grad(x32, g32, ws, s, p), K.conv2d_weight_grad(x, g, ws, s, p)),
    ]
    for got, want in results32:
        assert got.dtype == onp.float32
        onp.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # mixed inputs: NumPy's result dtype
    assert K.conv2d(x32, w, None, s, p).dtype == onp.float64
    assert K.conv2d(x32, w32, b, s, p).dtype == onp.float64
    assert K.conv2d_input_grad(g32, w, xs, s, p).dtype == onp.float64
    assert K.conv2d_weight_grad(x, g32, ws, s, p).dtype == onp.float64


def test_conv_results_do_not_share_the_workspace(rng):
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    first = K.conv2d(x, w, None, (1, 1), (1, 1))
    kept = first.copy()
    g = rng.standard_normal(first.shape)
    K.conv2d(rng.standard_normal((2, 3, 6, 6)), w, None, (1, 1), (1, 1))
    K.conv2d_input_grad(g, w, x.shape, (1, 1), (1, 1))
    K.conv2d_weight_grad(x, g, w.shape, (1, 1), (1, 1))
    onp.testing.assert_array_equal(first, kept)
    K.release_workspace()
    onp.testing.assert_array_equal(K.conv2d(x, w, None, (1, 1), (1, 1)), kept)


def test_conv_threads_do_not_share_the_workspace(rng):
    w = rng.standard_normal((8, 3, 5, 5))
    inputs = [rng.standard_normal((4, 3, 16, 16)) for _ in range(3)]  # different data: a shared buffer would mix them
    wants = [ref_conv(x, w, None, (1, 1), (2, 2)) for x in inputs]
    errors = []

    def work(x, want):
        for _ in range(30):
            if not onp.allclose(K.conv2d(x, w, None, (1, 1), (2, 2)), want):
                errors.append("wrong result")

    threads = [threading.Thread(target=work, args=pair) for pair in zip(inputs, wants)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: K.conv2d(onp.zeros((1, 3, 5, 5)), onp.zeros((2, 4, 3, 3)), None, (1, 1), (0, 0)), "channels"),
        (lambda: K.conv2d(onp.zeros((3, 5, 5)), onp.zeros((2, 3, 3, 3)), None, (1, 1), (0, 0)), "(N, C, H, W)"),
        (lambda: K.conv2d(onp.zeros((1, 3, 2, 2)), onp.zeros((2, 3, 3, 3)), None, (1, 1), (0, 0)), "does not fit"),
        (lambda: K.conv2d(onp.zeros((1, 3, 5, 5)), onp.zeros((2, 3, 3, 3)), onp.zeros(3), (1, 1), (0, 0)), "bias"),
        (lambda: K.conv2d(onp.zeros((1, 3, 5, 5)), onp.zeros((2, 3, 3, 3)), None, (0, 1), (0, 0)), "stride"),
        (lambda: K.conv2d_input_grad(onp.zeros((1, 2, 4, 4)), onp.zeros((2, 3, 3, 3)), (1, 3, 5, 5), (1, 1), (0, 0)),
         "expected the output shape (1, 2, 3, 3)"),
        (lambda: K.max_pool2d(onp.zeros((1, 1, 3, 3)), 4, 4, (1, 1)), "does not fit"),
        (lambda: K.max_pool2d_select(onp.zeros((1, 1, 4, 3)), onp.zeros((1, 1, 4, 4)), 2, 2, (2, 2)), "gx"),
        (lambda: K.avg_pool2d_grad(onp.zeros((1, 1, 3, 3)), (1, 1, 4, 4), 2, 2, (2, 2)), "(1, 1, 2, 2)"),
    ],
)
def test_errors_name_the_operator_and_shapes(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


# ------------------------------------------------------------------------------------------------ pooling
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("case", POOL_CASES, ids=_pool_id)
def test_max_pool_matches_loop_reference(case, ties, rng):
    xs, ph, pw, s = case
    # ties: few distinct values, so most windows hold several maxima and the first one must win
    x = rng.integers(0, 3, xs).astype(onp.float64) if ties else rng.standard_normal(xs)
    out = K.max_pool2d(x, ph, pw, s)
    g, gx = rng.standard_normal(out.shape), rng.standard_normal(xs)
    ref, dx_ref, sel_ref = ref_max_pool(x, ph, pw, s, g, gx)
    assert out.shape == ref.shape and out.flags.c_contiguous
    onp.testing.assert_array_equal(out, ref)
    dx = K.max_pool2d_grad(g, x, ph, pw, s)
    assert dx.shape == x.shape
    onp.testing.assert_allclose(dx, dx_ref, rtol=1e-14, atol=0)
    onp.testing.assert_array_equal(K.max_pool2d_select(gx, x, ph, pw, s), sel_ref)


@pytest.mark.parametrize("case", POOL_CASES, ids=_pool_id)
def test_avg_pool_matches_loop_reference(case, rng):
    xs, ph, pw, s = case
    x = rng.standard_normal(xs)
    out = K.avg_pool2d(x, ph, pw, s)
    g = rng.standard_normal(out.shape)
    ref, dx_ref = ref_avg_pool(x, ph, pw, s, g)
    assert out.flags.c_contiguous
    onp.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-15)
    onp.testing.assert_allclose(K.avg_pool2d_grad(g, xs, ph, pw, s), dx_ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("case", POOL_CASES, ids=_pool_id)
def test_pool_adjoint_identities(case, rng):
    xs, ph, pw, s = case
    x = rng.integers(0, 3, xs).astype(onp.float64)  # with ties
    g = rng.standard_normal(K.max_pool2d(x, ph, pw, s).shape)
    gx = rng.standard_normal(xs)
    assert _inner(K.max_pool2d_grad(g, x, ph, pw, s), gx) == pytest.approx(
        _inner(g, K.max_pool2d_select(gx, x, ph, pw, s)), rel=1e-12, abs=1e-12
    )
    assert _inner(K.avg_pool2d(gx, ph, pw, s), g) == pytest.approx(
        _inner(gx, K.avg_pool2d_grad(g, xs, ph, pw, s)), rel=1e-12, abs=1e-12
    )
    # max pooling's gradient is that of the linear map x -> x at the argmax positions
    assert _inner(K.max_pool2d(x, ph, pw, s), g) == pytest.approx(_inner(x, K.max_pool2d_grad(g, x, ph, pw, s)))


def test_pool_dtypes(rng):
    xs, ph, pw, s = POOL_CASES[1]
    x = rng.standard_normal(xs).astype(onp.float32)
    g = rng.standard_normal(K.max_pool2d(x, ph, pw, s).shape).astype(onp.float32)
    for got in (
        K.max_pool2d(x, ph, pw, s),
        K.max_pool2d_grad(g, x, ph, pw, s),
        K.max_pool2d_select(x, x, ph, pw, s),
        K.avg_pool2d(x, ph, pw, s),
        K.avg_pool2d_grad(g, xs, ph, pw, s),
    ):
        assert got.dtype == onp.float32
    onp.testing.assert_allclose(K.avg_pool2d(x, ph, pw, s), ref_avg_pool(x, ph, pw, s, g)[0], rtol=1e-5, atol=1e-6)
    assert K.avg_pool2d(onp.arange(16).reshape(1, 1, 4, 4), 2, 2, (2, 2)).dtype == onp.float64  # like numpy.mean
    assert K.max_pool2d(onp.arange(16).reshape(1, 1, 4, 4), 2, 2, (2, 2)).dtype == onp.arange(1).dtype


# ------------------------------------------------------------------------------------------------ MXNet
@pytest.fixture
def mxnet():
    from imperdl.core.backends import mxnet_backend

    mx = mxnet_backend.load()
    if mx is None:
        pytest.skip(f"MXNet unavailable: {mxnet_backend.unavailable_reason()}")
    return mx


def test_conv_matches_mxnet(mxnet, rng):
    nd, autograd = mxnet.nd, mxnet.autograd
    xs, ws, s, p = (2, 3, 9, 8), (4, 3, 3, 2), (2, 1), (1, 2)
    x, w, b = (rng.standard_normal(sh).astype(onp.float32) for sh in (xs, ws, (ws[0],)))
    mx_x, mx_w, mx_b = nd.array(x), nd.array(w), nd.array(b)
    for a in (mx_x, mx_w):
        a.attach_grad()
    with autograd.record():
        out = nd.Convolution(mx_x, mx_w, mx_b, kernel=ws[2:], stride=s, pad=p, num_filter=ws[0])
    g = rng.standard_normal(out.shape).astype(onp.float32)
    out.backward(nd.array(g))
    onp.testing.assert_allclose(K.conv2d(x, w, b, s, p), out.asnumpy(), rtol=1e-4, atol=1e-5)
    onp.testing.assert_allclose(K.conv2d_input_grad(g, w, xs, s, p), mx_x.grad.asnumpy(), rtol=1e-4, atol=1e-5)
    onp.testing.assert_allclose(K.conv2d_weight_grad(x, g, ws, s, p), mx_w.grad.asnumpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_pool_matches_mxnet(mxnet, pool_type, rng):
    nd, autograd = mxnet.nd, mxnet.autograd
    xs, ph, pw, s = (2, 3, 8, 7), 3, 2, (2, 2)  # overlapping rows, a dropped row and column
    x = rng.standard_normal(xs).astype(onp.float32)
    mx_x = nd.array(x)
    mx_x.attach_grad()
    with autograd.record():
        out = nd.Pooling(mx_x, kernel=(ph, pw), stride=s, pool_type=pool_type, pooling_convention="valid")
    g = rng.standard_normal(out.shape).astype(onp.float32)
    out.backward(nd.array(g))
    if pool_type == "max":
        fwd, dx = K.max_pool2d(x, ph, pw, s), K.max_pool2d_grad(g, x, ph, pw, s)
    else:
        fwd, dx = K.avg_pool2d(x, ph, pw, s), K.avg_pool2d_grad(g, xs, ph, pw, s)
    onp.testing.assert_allclose(fwd, out.asnumpy(), rtol=1e-6, atol=1e-6)
    onp.testing.assert_allclose(dx, mx_x.grad.asnumpy(), rtol=1e-5, atol=1e-6)
