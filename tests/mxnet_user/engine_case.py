"""One process of tests/test_mxnet_user.py: MXNet's engine chosen by the user or by imperdl, then imperdl's
conv2d/pool gradients and a mixed NumPy/MXNet chain compared with only_numpy. Prints one JSON line.

argv[1]: 'user_first' runs the user's own MXNet imperative + autograd code before imperdl is imported (MXNet's
engine then starts from the environment as the user left it), 'imperdl_first' imports imperdl first.
"""
import json
import sys

import numpy as onp

if sys.argv[1] == "user_first":
    if "bool" not in vars(onp):  # MXNet 1.9.1 on NumPy >= 1.24 fails to import without it: its users add it
        onp.bool = bool
    import mxnet as mx

    x = mx.nd.array(onp.random.RandomState(1).rand(2, 3, 8, 8))
    w = mx.nd.array(onp.random.RandomState(2).rand(4, 3, 3, 3))
    w.attach_grad()
    with mx.autograd.record():
        s = mx.nd.Convolution(x, w, no_bias=True, kernel=(3, 3), num_filter=4).sum()
    s.backward()
    w.grad.wait_to_read()

import imperdl  # noqa: E402
import imperdl.numpy as np  # noqa: E402
from imperdl.core import conv2d, grad, max_pool2d, relu  # noqa: E402
from imperdl.core.backends import mxnet_backend as mxb  # noqa: E402

rs = onp.random.RandomState(0)
X = rs.randn(4, 3, 16, 16).astype(onp.float32)
W = rs.randn(8, 3, 7, 7).astype(onp.float32) * 0.1
B = rs.randn(8).astype(onp.float32)
H = rs.rand(64, 64)


def net(x, w, b):
    return np.sum(max_pool2d(relu(conv2d(x, w, b, stride=1, pad=3))))


def chain(h):
    # host fallbacks (sinc, fmod) between MXNet operators: transfers both ways, each read right after a write
    y = np.exp(h)
    for _ in range(5):
        y = np.tanh(np.sinc(y) * 2.0) + np.fmod(y, 0.7)
        y = np.dot(y, h) / 64.0
    return np.sum(y * y)


def run(policy):
    imperdl.set_global_policy(policy)
    gs = grad(net, (0, 1, 2))(np.array(X), np.array(W), np.array(B))
    gh = grad(chain)(np.array(H))
    return [g.asnumpy() for g in gs] + [gh.asnumpy()]


want = run("only_numpy")
got = run("prefer_mxnet")
print(json.dumps({
    "engine": mxb.ENGINE,
    "zero_copy": mxb.ZERO_COPY,
    "rel_err": [float(onp.abs(g - w).max() / (onp.abs(w).max() + 1e-30)) for g, w in zip(got, want)],
    "finite": [bool(onp.isfinite(g).all()) for g in got],
}))
