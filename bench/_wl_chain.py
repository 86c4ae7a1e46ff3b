"""Workload "chain": 50 elementwise ops (add, multiply, tanh, exp, sin, cycled) on a 10x10 float32 array, then a
sum; forward + backward w.r.t. the input, reported in microseconds per op. The arithmetic is negligible: this
measures what a framework adds per operation (dispatch, recording, the backward rule), MinPy's weak spot.
"""
from __future__ import annotations

import numpy as onp
from _harness import JIT_ROW, Case, expect_close, imperdl_policies, load_hips, load_mxnet, load_torch, unavailable

TITLE = "tiny chain: 50 elementwise ops on 10x10 float32, forward+backward"
UNIT, SCALE = "us/op", 1e6
CONFIGS = {"full": {"shape": (10, 10), "ops": 50}, "smoke": {"shape": (10, 10), "ops": 10}}


def per_call(cfg: dict) -> int:
    """The timed unit is one forward+backward of the whole chain; results are per op."""
    return cfg["ops"]


def forward(np, x, c, ops: int):
    """The chain against any NumPy-like module ``np`` (values stay in [-1, 1] after each sin)."""
    y = x
    for _ in range(ops // 5):
        y = y + c
        y = y * c
        y = np.tanh(y)
        y = np.exp(y)
        y = np.sin(y)
    return np.sum(y)


def numpy_grad(x, c, ops: int):
    """Hand-written forward and backward of the chain: the floor a tape is compared with."""
    saved = []
    y = x
    for _ in range(ops // 5):
        y = (y + c) * c
        t = onp.tanh(y)
        e = onp.exp(t)
        saved.append((t, e))
        y = onp.sin(e)
    g = onp.ones_like(y)
    for t, e in reversed(saved):
        g = g * onp.cos(e) * e * (1 - t * t) * c
    return y.sum(), g


def _data(cfg: dict):
    rng = onp.random.default_rng(0)
    hx = rng.uniform(-1, 1, cfg["shape"]).astype(onp.float32)
    hc = rng.uniform(0.5, 1.5, cfg["shape"]).astype(onp.float32)
    return hx, hc


def build(cfg: dict, family: str) -> list[Case]:
    """This workload's implementations from one library family (each family runs in its own process)."""
    hx, hc = _data(cfg)
    return {"numpy": _numpy_cases, "imperdl": _imperdl_cases, "mxnet": _mxnet_cases,
            "torch": _torch_cases}[family](hx, hc, cfg["ops"])


def _numpy_cases(hx, hc, ops) -> list[Case]:
    cases = [Case("numpy (hand-written)", "numpy", step=lambda: numpy_grad(hx, hc, ops),
                  grads=lambda: {"x": numpy_grad(hx, hc, ops)[1]})]
    hips = load_hips()
    if hips is None:
        return cases + [unavailable("HIPS autograd", "peer", "autograd is not installed")]
    autograd, anp = hips
    ag = autograd.grad(lambda x: forward(anp, x, hc, ops))
    return cases + [Case("HIPS autograd", "peer", step=lambda: ag(hx), grads=lambda: {"x": ag(hx)})]


def _imperdl_cases(hx, hc, ops) -> list[Case]:
    import imperdl.numpy as inp
    from imperdl.core import grad

    cases, ref = [], {"x": numpy_grad(hx, hc, ops)[1]}
    for name, pol in imperdl_policies():
        x, c = inp.array(hx), inp.array(hc)
        g = grad(lambda x, c=c: forward(inp, x, c, ops))
        cases.append(Case(name, "imperdl", policy=pol, step=lambda g=g, x=x: _waited(g(x)),
                          grads=lambda g=g, x=x: {"x": g(x).asnumpy()},
                          check=lambda _, got, name=name: expect_close({"x": got}, ref, name)))
    return cases + [_imperdl_jit_case(hx, hc, ops, ref)]


def _imperdl_jit_case(hx, hc, ops, ref) -> Case:
    """``jit(grad(f))`` under the default policy: the chain and its backward traced once, then replayed."""
    import imperdl.numpy as inp
    from imperdl.core import grad
    from imperdl.core.capture import jit

    x, c = inp.array(hx), inp.array(hc)
    g = jit(grad(lambda x, c: forward(inp, x, c, ops)))
    return Case(JIT_ROW, "imperdl", policy=imperdl_policies()[0][1], step=lambda: _waited(g(x, c)),
                grads=lambda: {"x": g(x, c).asnumpy()}, note="imperdl.jit(grad(f))",
                check=lambda _, got: expect_close({"x": got}, ref, JIT_ROW))


def _waited(a):
    a.wait_to_read()
    return a


def _torch_cases(hx, hc, ops) -> list[Case]:
    torch = load_torch()
    if torch is None:
        return [unavailable("PyTorch eager", "peer", "torch is not installed (`make bench` installs it)")]
    tx, tc = torch.from_numpy(hx.copy()), torch.from_numpy(hc.copy())

    def run_torch():
        x = tx.detach().requires_grad_(True)
        forward(torch, x, tc, ops).backward()
        return x.grad

    return [Case("PyTorch eager", "peer", step=run_torch, grads=lambda: {"x": run_torch().numpy()})]


def _mxnet_cases(hx, hc, ops) -> list[Case]:
    mx = load_mxnet()
    if mx is None:
        return [unavailable("MXNet imperative", "peer", "MXNet is not importable"),
                unavailable("MXNet Gluon hybridized", "peer", "MXNet is not importable")]
    nd = mx.nd
    mxx, mxc = nd.array(hx), nd.array(hc)

    def run_imperative():
        x = mxx.copy()
        x.attach_grad()
        with mx.autograd.record():
            loss = forward(nd, x, mxc, ops)
        loss.backward()
        x.grad.wait_to_read()
        return x.grad

    class Chain(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x, c):
            return forward(F, x, c, ops)

    net = Chain()
    net.hybridize(static_alloc=True, static_shape=True)

    def run_gluon():
        x = mxx.copy()
        x.attach_grad()
        with mx.autograd.record():
            loss = net(x, mxc)
        loss.backward()
        x.grad.wait_to_read()
        return x.grad

    return [Case("MXNet imperative", "peer", step=run_imperative, grads=lambda: {"x": run_imperative().asnumpy()},
                 note="mx.nd ops under mx.autograd.record"),
            Case("MXNet Gluon hybridized", "peer", step=run_gluon, grads=lambda: {"x": run_gluon().asnumpy()},
                 note="HybridBlock, hybridize(static_alloc=True, static_shape=True)")]



def jax_cases(cfg: dict) -> list[Case]:
    """JAX on the CPU, op by op (eager) and compiled (``jax.jit`` of the gradient function); run by the worker in
    JAX's own virtual environment."""
    import jax
    import jax.numpy as jnp

    hx, hc = _data(cfg)
    ops = cfg["ops"]
    x, c = jnp.asarray(hx), jnp.asarray(hc)
    eager = jax.grad(lambda x: forward(jnp, x, c, ops))
    jitted = jax.jit(eager)
    return [Case("JAX eager", "peer", step=lambda: eager(x).block_until_ready(),
                 grads=lambda: {"x": onp.asarray(eager(x))}, note="jax.grad, op by op"),
            Case("JAX jit", "peer", step=lambda: jitted(x).block_until_ready(),
                 grads=lambda: {"x": onp.asarray(jitted(x))}, note="jax.jit(jax.grad(f))")]
