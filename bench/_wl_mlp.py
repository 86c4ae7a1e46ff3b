"""Workload "mlp": one SGD step (forward, backward, update) of a 3072-512-10 ReLU MLP with a softmax loss on a
batch of 128 float32 rows (CIFAR-10's shape). Arithmetic dominates: two big matrix products each way.
"""
from __future__ import annotations

import numpy as onp
from _harness import (
    LR,
    Case,
    gluon_sgd_step,
    imperdl_jit_sgd_case,
    imperdl_sgd_cases,
    load_hips,
    load_mxnet,
    load_torch,
    mxnet_imperative_sgd,
    torch_sgd_case,
    unavailable,
)

TITLE = "MLP step: 3072-512-10 softmax, batch 128, float32 (forward, backward, SGD update)"
UNIT, SCALE = "ms/step", 1e3
CONFIGS = {"full": {"n": 128, "d": 3072, "h": 512, "k": 10}, "smoke": {"n": 8, "d": 48, "h": 16, "k": 10}}


def per_call(cfg: dict) -> int:
    return 1


def data(cfg: dict):
    rng = onp.random.default_rng(1)
    n, d, h, k = cfg["n"], cfg["d"], cfg["h"], cfg["k"]
    x = rng.standard_normal((n, d)).astype(onp.float32)
    y = rng.integers(0, k, n)
    p = {"w1": (rng.standard_normal((d, h)) * (2 / d) ** 0.5).astype(onp.float32), "b1": onp.zeros(h, onp.float32),
         "w2": (rng.standard_normal((h, k)) * (2 / h) ** 0.5).astype(onp.float32), "b2": onp.zeros(k, onp.float32)}
    return x, y, p


def numpy_grads(p, x, y):
    """Hand-written forward and backward (the CS231n way): (loss, grads)."""
    n = x.shape[0]
    a = x @ p["w1"] + p["b1"]
    hid = onp.maximum(a, 0)
    s = hid @ p["w2"] + p["b2"]
    s -= s.max(axis=1, keepdims=True)
    e = onp.exp(s)
    prob = e / e.sum(axis=1, keepdims=True)
    loss = -onp.log(prob[onp.arange(n), y]).mean()
    ds = prob
    ds[onp.arange(n), y] -= 1
    ds /= n
    dh = ds @ p["w2"].T
    dh[a <= 0] = 0
    return loss, {"w1": x.T @ dh, "b1": dh.sum(axis=0), "w2": hid.T @ ds, "b2": ds.sum(axis=0)}


def _numpy_like_loss(np, p, x, y, rows):
    """The same loss for a NumPy-like autodiff module (HIPS autograd)."""
    s = np.dot(np.maximum(np.dot(x, p["w1"]) + p["b1"], 0.0), p["w2"]) + p["b2"]
    s = s - np.max(s, axis=1, keepdims=True)
    return -np.mean(s[rows, y] - np.log(np.sum(np.exp(s), axis=1)))


def build(cfg: dict, family: str) -> list[Case]:
    """This workload's implementations from one library family (each family runs in its own process)."""
    hx, hy, hp = data(cfg)
    return {"numpy": _numpy_cases, "imperdl": _imperdl_cases, "mxnet": _mxnet_cases,
            "torch": lambda *a: [_torch_case(*a)]}[family](hx, hy, hp)


def _numpy_cases(hx, hy, hp) -> list[Case]:
    rows = onp.arange(hx.shape[0])
    p_np = {k: v.copy() for k, v in hp.items()}

    def step_numpy():
        _, g = numpy_grads(p_np, hx, hy)
        for k in p_np:
            p_np[k] -= LR * g[k]

    cases = [Case("numpy (hand-written)", "numpy", step=step_numpy, grads=lambda: numpy_grads(hp, hx, hy)[1])]
    hips = load_hips()
    if hips is None:
        return cases + [unavailable("HIPS autograd", "peer", "autograd is not installed")]
    autograd, anp = hips
    p_ag = {k: v.copy() for k, v in hp.items()}
    ag = autograd.grad(lambda p: _numpy_like_loss(anp, p, hx, hy, rows))

    def step_ag():
        g = ag(p_ag)
        for k in p_ag:
            p_ag[k] -= LR * g[k]

    return cases + [Case("HIPS autograd", "peer", step=step_ag, grads=lambda: ag(hp))]


def _imperdl_cases(hx, hy, hp) -> list[Case]:
    from imperdl.core import relu
    from imperdl.nn.layers import affine, softmax_loss

    def loss(p, x, y):
        return softmax_loss(affine(relu(affine(x, p["w1"], p["b1"])), p["w2"], p["b2"]), y)

    reference = lambda p: numpy_grads(p, hx, hy)[1]  # noqa: E731
    return imperdl_sgd_cases(loss, hx, hy, hp, reference) + [imperdl_jit_sgd_case(loss, hx, hy, hp, reference)]


def _torch_case(hx, hy, hp) -> Case:
    torch = load_torch()
    if torch is None:
        return unavailable("PyTorch eager", "peer", "torch is not installed (`make bench` installs it)")
    import torch.nn.functional as tf

    tx, ty = torch.from_numpy(hx), torch.from_numpy(hy)

    def forward_backward(p):
        s = torch.relu(tx @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
        tf.cross_entropy(s, ty).backward()

    return torch_sgd_case(torch, forward_backward, hp, "torch.nn.functional, manual SGD")


def _mxnet_cases(hx, hy, hp) -> list[Case]:
    mx = load_mxnet()
    if mx is None:
        return [unavailable("MXNet imperative", "peer", "MXNet is not importable"),
                unavailable("MXNet Gluon hybridized", "peer", "MXNet is not importable")]
    nd, gluon = mx.nd, mx.gluon
    n = hx.shape[0]
    h, k = hp["w2"].shape
    mx_x, mx_y = nd.array(hx), nd.array(hy)

    # MXNet's own layout: FullyConnected weights are (out, in)
    def mx_params():
        p = {"w1": nd.array(hp["w1"].T), "b1": nd.array(hp["b1"]), "w2": nd.array(hp["w2"].T),
             "b2": nd.array(hp["b2"])}
        for v in p.values():
            v.attach_grad()
        return p

    def forward_backward(p):
        with mx.autograd.record():
            a = nd.relu(nd.FullyConnected(mx_x, p["w1"], p["b1"], num_hidden=h))
            s = nd.FullyConnected(a, p["w2"], p["b2"], num_hidden=k)
            loss = -nd.mean(nd.pick(nd.log_softmax(s), mx_y))
        loss.backward()

    step_imperative, grads_imperative = mxnet_imperative_sgd(mx, mx_params, forward_backward, _from_mx_layout)

    def make_net():
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Dense(h, activation="relu", in_units=hx.shape[1]), gluon.nn.Dense(k, in_units=h))
        net.initialize()
        _set_dense(net, hp, nd)
        net.hybridize(static_alloc=True, static_shape=True)
        return net

    step_gluon, loss_fn = gluon_sgd_step(mx, make_net(), mx_x, mx_y)

    def grads_gluon():
        g_net = make_net()
        with mx.autograd.record():
            loss = loss_fn(g_net(mx_x), mx_y)
        loss.backward()
        d1, d2 = g_net[0], g_net[1]
        g = {"w1": d1.weight.grad(), "b1": d1.bias.grad(), "w2": d2.weight.grad(), "b2": d2.bias.grad()}
        return _from_mx_layout({key: v.asnumpy() / n for key, v in g.items()})

    return [Case("MXNet imperative", "peer", step=step_imperative, grads=grads_imperative,
                 note="nd.FullyConnected/relu/log_softmax under mx.autograd, nd.sgd_update"),
            Case("MXNet Gluon hybridized", "peer", step=step_gluon, grads=grads_gluon,
                 note="HybridSequential of Dense, SoftmaxCrossEntropyLoss, gluon.Trainer('sgd')")]


def _set_dense(net, hp, nd) -> None:
    net[0].weight.set_data(nd.array(hp["w1"].T))
    net[0].bias.set_data(nd.array(hp["b1"]))
    net[1].weight.set_data(nd.array(hp["w2"].T))
    net[1].bias.set_data(nd.array(hp["b2"]))


def _from_mx_layout(g: dict) -> dict:
    return {k: (v.T if k.startswith("w") else v) for k, v in g.items()}


def jax_cases(cfg: dict) -> list[Case]:
    """JAX on the CPU: the same loss, gradients and SGD update op by op (eager) and as one ``jax.jit`` step."""
    import jax
    import jax.numpy as jnp

    hx, hy, hp = data(cfg)
    x, y, rows = jnp.asarray(hx), jnp.asarray(hy), jnp.arange(hx.shape[0])
    g_fn = jax.grad(lambda p: _numpy_like_loss(jnp, p, x, y, rows))

    def update(p):
        g = g_fn(p)
        return {k: p[k] - LR * g[k] for k in p}

    cases = []
    for name, fn, note in (("JAX eager", update, "jax.grad, op by op"),
                           ("JAX jit", jax.jit(update), "jax.jit of the whole step")):
        state = {"p": {k: jnp.asarray(v) for k, v in hp.items()}}

        def step(fn=fn, state=state):
            state["p"] = jax.block_until_ready(fn(state["p"]))

        cases.append(Case(name, "peer", step=step, note=note,
                          grads=lambda: {k: onp.asarray(v) for k, v in g_fn({k: jnp.asarray(v) for k, v in
                                                                              hp.items()}).items()}))
    return cases
