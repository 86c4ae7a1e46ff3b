"""Workload "rnn": a vanilla tanh RNN unrolled over 50 steps, batch 64, input 512, hidden 512, float32 (the shape
of MinPy's RNN benchmark, which fixed the hidden size at 512; the input size is our choice, also 512).

    h_0 = 0,  h_t = tanh(x_t Wx + h_{t-1} Wh + b),  loss = sum(h_50 ** 2)

Timed: forward and backward w.r.t. Wx, Wh and b (no update). x is (N, T, D) and each step reads x[:, t, :], the
way CS231n's rnn_forward does, in every implementation. Each step is two (64 x 512) @ (512 x 512) products, so
this measures how well a framework keeps a mid-sized matmul loop fed: 50 forward and 150 backward products.
"""
from __future__ import annotations

import numpy as onp
from _harness import Case, imperdl_grad_cases, load_hips, load_mxnet, load_torch, unavailable

TITLE = "RNN: vanilla tanh RNN, 50 steps, batch 64, input 512, hidden 512, float32 (forward+backward)"
UNIT, SCALE = "ms/step", 1e3
CONFIGS = {"full": {"n": 64, "t": 50, "d": 512, "h": 512}, "smoke": {"n": 4, "t": 5, "d": 8, "h": 8}}


def per_call(cfg: dict) -> int:
    return 1


def data(cfg: dict):
    rng = onp.random.default_rng(3)
    n, t, d, h = cfg["n"], cfg["t"], cfg["d"], cfg["h"]
    x = rng.standard_normal((n, t, d)).astype(onp.float32)
    p = {"Wx": (rng.standard_normal((d, h)) / d ** 0.5).astype(onp.float32),
         "Wh": (rng.standard_normal((h, h)) / h ** 0.5).astype(onp.float32),
         "b": (0.1 * rng.standard_normal(h)).astype(onp.float32)}
    return x, p


def numpy_grads(p, x):
    """Hand-written forward and backpropagation through time: (loss, grads)."""
    n, t, _ = x.shape
    h = onp.zeros((n, p["Wh"].shape[0]), onp.float32)
    hs = [h]
    for i in range(t):
        h = onp.tanh(x[:, i, :] @ p["Wx"] + h @ p["Wh"] + p["b"])
        hs.append(h)
    loss = float((h * h).sum())
    g = {k: onp.zeros_like(v) for k, v in p.items()}
    dh = 2 * h
    for i in reversed(range(t)):
        da = dh * (1 - hs[i + 1] * hs[i + 1])
        g["Wx"] += x[:, i, :].T @ da
        g["Wh"] += hs[i].T @ da
        g["b"] += da.sum(axis=0)
        dh = da @ p["Wh"].T
    return loss, g


def _loss(np, p, x, h, steps: int, step_fn=None):
    for i in range(steps):
        if step_fn is not None:
            h = step_fn(x[:, i, :], h, p["Wx"], p["Wh"], p["b"])
        else:
            h = np.tanh(np.dot(x[:, i, :], p["Wx"]) + np.dot(h, p["Wh"]) + p["b"])
    return np.sum(h * h)


def build(cfg: dict, family: str) -> list[Case]:
    """This workload's implementations from one library family (each family runs in its own process)."""
    hx, hp = data(cfg)
    args = (hx, hp, cfg["n"], cfg["t"], cfg["h"])
    if family == "numpy":
        return _numpy_cases(*args)
    if family == "imperdl":
        return _imperdl_cases(*args)
    if family == "torch":
        return [_torch_case(*args)]
    return _mxnet_cases(*args)


def _numpy_cases(hx, hp, n, t, h) -> list[Case]:
    cases = [Case("numpy (hand-written)", "numpy", step=lambda: numpy_grads(hp, hx),
                  grads=lambda: numpy_grads(hp, hx)[1])]
    hips = load_hips()
    if hips is None:
        return cases + [unavailable("HIPS autograd", "peer", "autograd is not installed")]
    autograd, anp = hips
    h0 = onp.zeros((n, h), onp.float32)
    ag = autograd.grad(lambda p: _loss(anp, p, hx, h0, t))
    return cases + [Case("HIPS autograd", "peer", step=lambda: ag(hp), grads=lambda: ag(hp))]


def _imperdl_cases(hx, hp, n, t, h) -> list[Case]:
    import imperdl.numpy as inp
    from imperdl.core import grad
    from imperdl.nn.layers import rnn_step
    g_fn = grad(lambda p, x, h0: _loss(inp, p, x, h0, t, rnn_step))
    # (the parameters do not change: forward+backward only)
    return imperdl_grad_cases(g_fn, lambda: ({k: inp.array(v) for k, v in hp.items()}, inp.array(hx),
                                             inp.zeros((n, h), dtype=onp.float32)), numpy_grads(hp, hx)[1])


def _torch_case(hx, hp, n, t, h) -> Case:
    torch = load_torch()
    if torch is None:
        return unavailable("PyTorch eager", "peer", "torch is not installed (`make bench` installs it)")
    tx, h0 = torch.from_numpy(hx), torch.zeros((n, h))
    tp = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in hp.items()}

    def step():
        hh = h0
        for i in range(t):
            hh = torch.tanh(tx[:, i, :] @ tp["Wx"] + hh @ tp["Wh"] + tp["b"])
        (hh * hh).sum().backward()
        g = {k: v.grad for k, v in tp.items()}
        for v in tp.values():
            v.grad = None
        return g

    return Case("PyTorch eager", "peer", step=step,
                grads=lambda: {k: v.numpy() for k, v in step().items()})


def _mxnet_cases(hx, hp, n, t, h) -> list[Case]:
    mx = load_mxnet()
    if mx is None:
        return [unavailable("MXNet imperative", "peer", "MXNet is not importable"),
                unavailable("MXNet Gluon hybridized", "peer", "MXNet is not importable")]
    nd, gluon = mx.nd, mx.gluon
    mx_x, mx_h0 = nd.array(hx), nd.zeros((n, h))
    mp = {k: nd.array(v) for k, v in hp.items()}
    for v in mp.values():
        v.attach_grad()

    def step_imperative():
        with mx.autograd.record():
            hh = mx_h0
            for i in range(t):
                hh = nd.tanh(nd.broadcast_add(nd.dot(mx_x[:, i, :], mp["Wx"]) + nd.dot(hh, mp["Wh"]), mp["b"]))
            loss = nd.sum(hh * hh)
        loss.backward()
        for v in mp.values():
            v.grad.wait_to_read()
        return {k: v.grad for k, v in mp.items()}

    class RNN(gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.Wx = self.params.get("Wx", shape=hp["Wx"].shape)
                self.Wh = self.params.get("Wh", shape=hp["Wh"].shape)
                self.b = self.params.get("b", shape=hp["b"].shape)

        def hybrid_forward(self, F, x, h0, Wx, Wh, b):
            xs = F.split(x, num_outputs=t, axis=1, squeeze_axis=True) if t > 1 else [F.squeeze(x, axis=1)]
            hh = h0
            for xt in xs:
                hh = F.tanh(F.broadcast_add(F.dot(xt, Wx) + F.dot(hh, Wh), b))
            return F.sum(hh * hh)

    net = RNN()
    net.initialize()
    for key, prm in (("Wx", net.Wx), ("Wh", net.Wh), ("b", net.b)):
        prm.set_data(nd.array(hp[key]))
    net.hybridize(static_alloc=True, static_shape=True)
    prms = {"Wx": net.Wx, "Wh": net.Wh, "b": net.b}

    def step_gluon():
        with mx.autograd.record():
            loss = net(mx_x, mx_h0)
        loss.backward()
        for prm in prms.values():
            prm.grad().wait_to_read()
        return {k: prm.grad() for k, prm in prms.items()}

    return [Case("MXNet imperative", "peer", step=step_imperative, note="nd.dot/tanh under mx.autograd",
                 grads=lambda: {k: v.asnumpy() for k, v in step_imperative().items()}),
            Case("MXNet Gluon hybridized", "peer", step=step_gluon, note="HybridBlock unrolled with F.split",
                 grads=lambda: {k: v.asnumpy() for k, v in step_gluon().items()})]
