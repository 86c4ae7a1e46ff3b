"""Workload "cnn": one SGD step of CS231n's ThreeLayerConvNet on 3x32x32 images, batch 50, float32:
conv 7x7 (32 filters, pad 3) -> ReLU -> 2x2 max pool -> affine 100 -> ReLU -> affine 10 -> softmax loss.

The hand-written NumPy peer does its convolution and pooling with imperdl's own NumPy kernels
(``imperdl.core.conv_numpy``: im2col and strided-slice pooling, plain NumPy code with no imperdl in it) and
writes the rest of the forward and every backward pass by hand, skipping the gradient w.r.t. the images (a
hand-written step needs none). HIPS autograd has no convolution or pooling primitive (its
``autograd.scipy.signal.convolve`` is a generic convolution built from einsum, for examples), so it is n/a here.
"""
from __future__ import annotations

import numpy as onp
from _harness import (
    LR,
    Case,
    gluon_sgd_step,
    imperdl_jit_sgd_case,
    imperdl_sgd_cases,
    load_mxnet,
    load_torch,
    mxnet_imperative_sgd,
    torch_sgd_case,
    unavailable,
)

TITLE = "CNN step: ThreeLayerConvNet (conv7x7x32-relu-pool-affine100-relu-affine10-softmax), 3x32x32, batch 50"
UNIT, SCALE = "ms/step", 1e3
CONFIGS = {
    "full": {"n": 50, "c": 3, "hw": 32, "f": 32, "k": 7, "hidden": 100, "classes": 10},
    "smoke": {"n": 4, "c": 3, "hw": 8, "f": 4, "k": 3, "hidden": 8, "classes": 10},
}


def per_call(cfg: dict) -> int:
    return 1


def _pad(cfg: dict) -> int:
    return (cfg["k"] - 1) // 2  # 'same' convolution, as in the course


def data(cfg: dict):
    rng = onp.random.default_rng(2)
    n, c, hw, f, k, hid, cls = (cfg[key] for key in ("n", "c", "hw", "f", "k", "hidden", "classes"))
    flat = f * (hw // 2) * (hw // 2)

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * (2 / fan_in) ** 0.5).astype(onp.float32)

    p = {"W1": he((f, c, k, k), c * k * k), "b1": onp.zeros(f, onp.float32),
         "W2": he((flat, hid), flat), "b2": onp.zeros(hid, onp.float32),
         "W3": he((hid, cls), hid), "b3": onp.zeros(cls, onp.float32)}
    x = rng.standard_normal((n, c, hw, hw)).astype(onp.float32)
    y = rng.integers(0, cls, n)
    return x, y, p


def numpy_grads(p, x, y, pad: int):
    """Forward with conv_numpy's kernels, backward by hand: (loss, grads)."""
    from imperdl.core import conv_numpy as cn

    n = x.shape[0]
    one, pads, two = (1, 1), (pad, pad), (2, 2)
    conv = cn.conv2d(x, p["W1"], p["b1"], one, pads)
    r = onp.maximum(conv, 0)
    pooled = cn.max_pool2d(r, 2, 2, two)
    flat = pooled.reshape(n, -1)
    a = flat @ p["W2"] + p["b2"]
    hid = onp.maximum(a, 0)
    s = hid @ p["W3"] + p["b3"]
    s -= s.max(axis=1, keepdims=True)
    e = onp.exp(s)
    prob = e / e.sum(axis=1, keepdims=True)
    loss = -onp.log(prob[onp.arange(n), y]).mean()
    ds = prob
    ds[onp.arange(n), y] -= 1
    ds /= n
    g = {"W3": hid.T @ ds, "b3": ds.sum(axis=0)}
    dh = ds @ p["W3"].T
    dh[a <= 0] = 0
    g["W2"], g["b2"] = flat.T @ dh, dh.sum(axis=0)
    dpool = (dh @ p["W2"].T).reshape(pooled.shape)
    dconv = cn.max_pool2d_grad(dpool, r, 2, 2, two)
    dconv[conv <= 0] = 0
    g["W1"] = cn.conv2d_weight_grad(x, dconv, p["W1"].shape, one, pads)
    g["b1"] = dconv.sum(axis=(0, 2, 3))
    return loss, g


def build(cfg: dict, family: str) -> list[Case]:
    """This workload's implementations from one library family (each family runs in its own process)."""
    hx, hy, hp = data(cfg)
    pad = _pad(cfg)
    if family == "numpy":
        return _numpy_cases(hx, hy, hp, pad)
    if family == "imperdl":
        return _imperdl_cases(hx, hy, hp, pad)
    if family == "torch":
        return [_torch_case(hx, hy, hp, pad)]
    return _mxnet_cases(hx, hy, hp, cfg, pad)


def _numpy_cases(hx, hy, hp, pad) -> list[Case]:
    p_np = {k: v.copy() for k, v in hp.items()}

    def step_numpy():
        _, g = numpy_grads(p_np, hx, hy, pad)
        for k in p_np:
            p_np[k] -= LR * g[k]

    return [Case("numpy (hand-written)", "numpy", step=step_numpy, grads=lambda: numpy_grads(hp, hx, hy, pad)[1],
                 note="conv/pool kernels from imperdl.core.conv_numpy (im2col), the rest by hand"),
            unavailable("HIPS autograd", "peer", "no convolution/pooling primitive (autograd.scipy.signal."
                                                 "convolve is a generic einsum convolution for examples)")]


def _imperdl_cases(hx, hy, hp, pad) -> list[Case]:
    from imperdl.core import conv2d, max_pool2d, relu
    from imperdl.nn.layers import affine, softmax_loss

    def loss(p, x, y):
        h = max_pool2d(relu(conv2d(x, p["W1"], p["b1"], stride=1, pad=pad)), 2, 2, 2)
        return softmax_loss(affine(relu(affine(h, p["W2"], p["b2"])), p["W3"], p["b3"]), y)

    # rtol: ReLU and max pooling have kinks. On MXNet (oneDNN) the float32 forward rounds differently from NumPy's,
    # so a pre-activation within rounding of 0, or a near-tie in a pool window, sends its gradient elsewhere than
    # the NumPy reference does: measured up to 2.2% of the largest |dW1| in some steps (1e-6 in most). A wrong
    # result (a missing term, a stale buffer) is off by far more.
    reference = lambda p: numpy_grads(p, hx, hy, pad)[1]  # noqa: E731
    return (imperdl_sgd_cases(loss, hx, hy, hp, reference, rtol=0.1)
            + [imperdl_jit_sgd_case(loss, hx, hy, hp, reference, rtol=0.1)])


def _torch_case(hx, hy, hp, pad) -> Case:
    torch = load_torch()
    if torch is None:
        return unavailable("PyTorch eager", "peer", "torch is not installed (`make bench` installs it)")
    import torch.nn.functional as tf

    tx, ty = torch.from_numpy(hx), torch.from_numpy(hy)

    def forward_backward(p):
        h = tf.max_pool2d(torch.relu(tf.conv2d(tx, p["W1"], p["b1"], padding=pad)), 2, 2)
        h = torch.relu(h.reshape(h.shape[0], -1) @ p["W2"] + p["b2"])
        tf.cross_entropy(h @ p["W3"] + p["b3"], ty).backward()

    return torch_sgd_case(torch, forward_backward, hp,
                          "torch.nn.functional conv2d/relu/max_pool2d/cross_entropy, manual SGD")


def _mxnet_cases(hx, hy, hp, cfg, pad) -> list[Case]:
    mx = load_mxnet()
    if mx is None:
        return [unavailable("MXNet imperative", "peer", "MXNet is not importable"),
                unavailable("MXNet Gluon hybridized", "peer", "MXNet is not importable")]
    nd, gluon = mx.nd, mx.gluon
    n, f, k, hid, cls = hx.shape[0], cfg["f"], cfg["k"], cfg["hidden"], cfg["classes"]
    mx_x, mx_y = nd.array(hx), nd.array(hy)

    def mx_params():  # FullyConnected weights in MXNet's (out, in) layout
        p = {key: nd.array(v.T if key in ("W2", "W3") else v) for key, v in hp.items()}
        for v in p.values():
            v.attach_grad()
        return p

    def forward_backward(p):
        with mx.autograd.record():
            h = nd.Convolution(mx_x, p["W1"], p["b1"], kernel=(k, k), pad=(pad, pad), num_filter=f)
            h = nd.Pooling(nd.relu(h), kernel=(2, 2), stride=(2, 2), pool_type="max")
            h = nd.relu(nd.FullyConnected(h, p["W2"], p["b2"], num_hidden=hid))
            s = nd.FullyConnected(h, p["W3"], p["b3"], num_hidden=cls)
            loss = -nd.mean(nd.pick(nd.log_softmax(s), mx_y))
        loss.backward()

    step_imperative, grads_imperative = mxnet_imperative_sgd(mx, mx_params, forward_backward, _from_mx_layout)

    def make_net():
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Conv2D(f, k, padding=pad, in_channels=hx.shape[1], activation="relu"),
                gluon.nn.MaxPool2D(2, 2),
                gluon.nn.Dense(hid, activation="relu", in_units=hp["W2"].shape[0]),
                gluon.nn.Dense(cls, in_units=hid))
        net.initialize()
        for layer, (w, b) in zip((net[0], net[2], net[3]), (("W1", "b1"), ("W2", "b2"), ("W3", "b3"))):
            layer.weight.set_data(nd.array(hp[w] if w == "W1" else hp[w].T))
            layer.bias.set_data(nd.array(hp[b]))
        net.hybridize(static_alloc=True, static_shape=True)
        return net

    step_gluon, loss_fn = gluon_sgd_step(mx, make_net(), mx_x, mx_y)

    def grads_gluon():
        g_net = make_net()
        with mx.autograd.record():
            loss = loss_fn(g_net(mx_x), mx_y)
        loss.backward()
        g = {}
        for layer, (w, b) in zip((g_net[0], g_net[2], g_net[3]), (("W1", "b1"), ("W2", "b2"), ("W3", "b3"))):
            g[w], g[b] = layer.weight.grad().asnumpy() / n, layer.bias.grad().asnumpy() / n
        return _from_mx_layout(g)

    return [Case("MXNet imperative", "peer", step=step_imperative, grads=grads_imperative,
                 note="nd.Convolution/Pooling/FullyConnected under mx.autograd, nd.sgd_update"),
            Case("MXNet Gluon hybridized", "peer", step=step_gluon, grads=grads_gluon,
                 note="HybridSequential(Conv2D, MaxPool2D, Dense, Dense), gluon.Trainer('sgd')")]


def _from_mx_layout(g: dict) -> dict:
    return {k: (v.T if k in ("W2", "W3") else v) for k, v in g.items()}
