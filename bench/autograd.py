"""Cost of differentiation: imperdl's tape against HIPS autograd, PyTorch eager, MXNet autograd and NumPy.

Two workloads, each forward + backward, timed as medians over several rounds of many repetitions:

(a) ``chain``: 50 elementwise ops (add, multiply, tanh, exp, sin, cycled) on a 10x10 float32 array, then a sum;
    reported in microseconds per op. This is pure per-op overhead (recording, dispatch, rule calls): MinPy's
    weak spot.
(b) ``mlp``: one SGD training step of a 3072-512-10 MLP (ReLU, softmax cross-entropy) on a batch of 128 float32
    rows: forward, backward and the parameter update, in milliseconds. Here arithmetic dominates.

Ratios are against hand-written NumPy forward+backward. MXNet results are waited for inside the timed call.
MXNet runs with the engine imperdl chose at import (NaiveEngine on the CPU wheel) for both imperdl and raw
MXNet; PyTorch and NumPy's BLAS use their default thread counts. The garbage collector stays on (tapes make
reference cycles; collecting them is part of the cost) and runs between rounds.

    python bench/autograd.py [--quick] [--json PATH] [--profile]
"""
# ruff: noqa: E402
from __future__ import annotations

import os
import sys

# This file is named autograd.py and Python puts its folder first on sys.path, so `import autograd` (here and in
# imperdl's fallback rules) would find this file instead of HIPS autograd: drop the folder before anything imports.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import cProfile
import gc
import io
import json
import platform
import pstats
import statistics as stats
import time
import warnings

import numpy as onp

import imperdl
import imperdl.numpy as inp
from imperdl.core import grad, grad_and_loss
from imperdl.core.backends import mxnet_backend

CHAIN_OPS = 50
LR = 1e-3


def calibrate(fn, target_s: float) -> int:
    """How many calls of ``fn()`` take about ``target_s`` (after two warm-up calls)."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(target_s / once))


def time_round(fn, number: int) -> float:
    """Mean seconds per call of ``fn()`` over ``number`` calls (garbage collected first)."""
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


# ------------------------------------------------------------------------------------------ (a) chain
def chain_forward(np, x, c):
    """The 50-op chain written against any NumPy-like module ``np`` (values stay bounded)."""
    y = x
    for _ in range(CHAIN_OPS // 5):
        y = y + c
        y = y * c
        y = np.tanh(y)
        y = np.exp(y)
        y = np.sin(y)
    return np.sum(y)


def chain_numpy(x, c):
    """Hand-written forward and backward of the chain (the floor a tape can be compared with)."""
    saved = []
    y = x
    for _ in range(CHAIN_OPS // 5):
        y = y + c
        y = y * c
        t = onp.tanh(y)
        e = onp.exp(t)
        saved.append((t, e))
        y = onp.sin(e)
    loss = y.sum()
    g = onp.ones_like(y)
    for t, e in reversed(saved):
        g = g * onp.cos(e)
        g = g * e
        g = g * (1 - t * t)
        g = g * c
    return loss, g


def chain_cases(host_x, host_c):
    """name -> (zero-argument callable running forward+backward once, imperdl policy to time it under)."""
    cases = {"numpy (hand-written)": (lambda: chain_numpy(host_x, host_c), None)}

    for pol in ("prefer_mxnet", "only_numpy"):
        x, c = inp.array(host_x), inp.array(host_c)
        g = grad(lambda x, c=c: chain_forward(inp, x, c))
        cases[f"imperdl {pol}"] = (lambda g=g, x=x: g(x).wait_to_read(), pol)

    try:
        import autograd
        import autograd.numpy as anp

        ag = autograd.grad(lambda x: chain_forward(anp, x, host_c))
        cases["HIPS autograd"] = (lambda: ag(host_x), None)
    except ImportError:
        pass

    torch = _torch()
    if torch is not None:
        tx, tc = torch.from_numpy(host_x.copy()), torch.from_numpy(host_c.copy())

        def run_torch():
            x = tx.detach().requires_grad_(True)
            chain_forward(torch, x, tc).backward()
            return x.grad

        cases["PyTorch eager"] = (run_torch, None)

    mx = mxnet_backend.load()
    if mx is not None:
        mnp = mx.numpy
        ctx = imperdl.current_context().as_mxnet()
        mxx = mnp.array(host_x, dtype=onp.float32, ctx=ctx)
        mxc = mnp.array(host_c, dtype=onp.float32, ctx=ctx)

        def run_mx():
            x = mxx.copy()
            x.attach_grad()
            with mx.autograd.record():
                loss = chain_forward(mnp, x, mxc)
            loss.backward()
            x.grad.wait_to_read()

        cases["MXNet autograd"] = (run_mx, None)
    return cases


class _Pol:
    """``with _Pol('only_numpy'):`` — the global policy for the block, restored afterwards (None: unchanged).

    Setting a policy by name makes a fresh one with empty decision caches, so it is set once per timed case.
    """

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.saved = imperdl.get_global_policy()
        if self.name is not None:
            imperdl.set_global_policy(self.name)

    def __exit__(self, *exc):
        imperdl.set_global_policy(self.saved)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# ------------------------------------------------------------------------------------------ (b) MLP
def mlp_data(rng, n=128, d=3072, h=512, k=10):
    x = rng.standard_normal((n, d)).astype(onp.float32)
    y = rng.integers(0, k, n)
    w1 = (rng.standard_normal((d, h)) * 0.01).astype(onp.float32)
    w2 = (rng.standard_normal((h, k)) * 0.01).astype(onp.float32)
    return x, y, {"w1": w1, "b1": onp.zeros(h, onp.float32), "w2": w2, "b2": onp.zeros(k, onp.float32)}


def mlp_loss(np, p, x, y, rows):
    """Softmax cross-entropy of a 2-layer ReLU MLP, written against any NumPy-like module."""
    hid = np.maximum(np.dot(x, p["w1"]) + p["b1"], 0.0)
    s = np.dot(hid, p["w2"]) + p["b2"]
    s = s - np.max(s, axis=1, keepdims=True)
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.mean(logp[rows, y])


def mlp_step_numpy(p, x, y):
    """Hand-written forward, backward and SGD update (CS231n style)."""
    n = x.shape[0]
    a = x @ p["w1"] + p["b1"]
    hid = onp.maximum(a, 0)
    s = hid @ p["w2"] + p["b2"]
    s = s - s.max(axis=1, keepdims=True)
    e = onp.exp(s)
    prob = e / e.sum(axis=1, keepdims=True)
    loss = -onp.log(prob[onp.arange(n), y]).mean()
    ds = prob
    ds[onp.arange(n), y] -= 1
    ds /= n
    dw2 = hid.T @ ds
    db2 = ds.sum(axis=0)
    dh = ds @ p["w2"].T
    dh[a <= 0] = 0
    dw1 = x.T @ dh
    db1 = dh.sum(axis=0)
    for k, g in (("w1", dw1), ("b1", db1), ("w2", dw2), ("b2", db2)):
        p[k] -= LR * g
    return loss


def mlp_cases(rng):
    hx, hy, hp = mlp_data(rng)
    rows = onp.arange(hx.shape[0])
    cases = {}
    p_np = {k: v.copy() for k, v in hp.items()}
    cases["numpy (hand-written)"] = (lambda: mlp_step_numpy(p_np, hx, hy), None)

    for pol in ("prefer_mxnet", "only_numpy"):
        x, y, r = inp.array(hx), inp.array(hy), inp.array(rows)
        params = {k: inp.array(v) for k, v in hp.items()}
        gl = grad_and_loss(lambda p, x, y, r: mlp_loss(inp, p, x, y, r))

        def run(gl=gl, params=params, x=x, y=y, r=r):
            grads, loss = gl(params, x, y, r)
            for k in params:
                params[k] -= LR * grads[k]
            params["w1"].wait_to_read()
            return loss

        cases[f"imperdl {pol}"] = (run, pol)

    try:
        import autograd
        import autograd.numpy as anp

        p_ag = {k: v.copy() for k, v in hp.items()}
        ag = autograd.grad(lambda p: mlp_loss(anp, p, hx, hy, rows))

        def run_ag():
            g = ag(p_ag)
            for k in p_ag:
                p_ag[k] -= LR * g[k]

        cases["HIPS autograd"] = (run_ag, None)
    except ImportError:
        pass

    torch = _torch()
    if torch is not None:
        tp = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in hp.items()}
        tx, ty, trows = torch.from_numpy(hx), torch.from_numpy(hy), torch.from_numpy(rows)

        class _TorchNp:
            """The few NumPy names mlp_loss uses, mapped onto torch (so the same code runs)."""

            dot = staticmethod(torch.matmul)
            exp = staticmethod(torch.exp)
            log = staticmethod(torch.log)
            mean = staticmethod(torch.mean)

            @staticmethod
            def maximum(a, b):
                return torch.clamp(a, min=b)

            @staticmethod
            def max(a, axis, keepdims):
                return torch.amax(a, dim=axis, keepdim=keepdims)

            @staticmethod
            def sum(a, axis, keepdims):
                return torch.sum(a, dim=axis, keepdim=keepdims)

        def run_torch():
            loss = mlp_loss(_TorchNp, tp, tx, ty, trows)
            loss.backward()
            with torch.no_grad():
                for v in tp.values():
                    v -= LR * v.grad
                    v.grad = None

        cases["PyTorch eager"] = (run_torch, None)

    mx = mxnet_backend.load()
    if mx is not None:
        mnp = mx.numpy
        ctx = imperdl.current_context().as_mxnet()
        mp = {k: mnp.array(v, dtype=v.dtype, ctx=ctx) for k, v in hp.items()}
        for v in mp.values():
            v.attach_grad()
        mx_x = mnp.array(hx, dtype=onp.float32, ctx=ctx)
        mx_y = mnp.array(hy, dtype=onp.int64, ctx=ctx)
        mx_rows = mnp.array(rows, dtype=onp.int64, ctx=ctx)

        def run_mx():
            with mx.autograd.record():
                loss = mlp_loss(mnp, mp, mx_x, mx_y, mx_rows)
            loss.backward()
            for v in mp.values():
                v -= LR * v.grad
            mp["w1"].wait_to_read()

        cases["MXNet autograd"] = (run_mx, None)
    return cases


# ------------------------------------------------------------------------------------------ driver
def check_chain_agreement(host_x, host_c) -> float:
    """Largest relative difference of imperdl's chain gradient (both policies) from the hand-written one."""
    _, ref = chain_numpy(host_x.astype(onp.float64), host_c.astype(onp.float64))
    worst = 0.0
    for pol in ("prefer_mxnet", "only_numpy"):
        with _Pol(pol):
            g = grad(lambda x: chain_forward(inp, x, inp.array(host_c)))(inp.array(host_x)).asnumpy()
        worst = max(worst, float(onp.max(onp.abs(g - ref) / (onp.abs(ref) + 1e-3))))
    return worst


def check_mlp_agreement(rng) -> float:
    """Largest relative difference of imperdl's MLP gradients (both policies) from hand-written float64 ones."""
    hx, hy, hp = mlp_data(rng)
    n = hx.shape[0]
    x64 = hx.astype(onp.float64)
    p = {k: v.astype(onp.float64) for k, v in hp.items()}
    a = x64 @ p["w1"] + p["b1"]
    hid = onp.maximum(a, 0)
    s = hid @ p["w2"] + p["b2"]
    e = onp.exp(s - s.max(axis=1, keepdims=True))
    ds = e / e.sum(axis=1, keepdims=True)
    ds[onp.arange(n), hy] -= 1
    ds /= n
    dh = (ds @ p["w2"].T) * (a > 0)
    ref = {"w1": x64.T @ dh, "b1": dh.sum(axis=0), "w2": hid.T @ ds, "b2": ds.sum(axis=0)}
    worst = 0.0
    for pol in ("prefer_mxnet", "only_numpy"):
        with _Pol(pol):
            g, _ = grad_and_loss(lambda p, x, y, r: mlp_loss(inp, p, x, y, r))(
                {k: inp.array(v) for k, v in hp.items()}, inp.array(hx), inp.array(hy), inp.array(onp.arange(n)))
        for k, r in ref.items():
            worst = max(worst, float(onp.max(onp.abs(g[k].asnumpy() - r)) / onp.max(onp.abs(r))))
    return worst


def run_section(title, cases, rounds, target, unit, scale, per) -> list[dict]:
    """Time every case; rounds are interleaved (case A, B, ..., then again) so load drift hits all alike."""
    print(f"\n{title}")
    live, rows = {}, {}
    saved = imperdl.get_global_policy()
    for name, (fn, pol) in cases.items():
        policy = imperdl.set_global_policy(pol) if pol is not None else None  # one policy object: warm caches
        try:
            live[name] = (fn, policy, calibrate(fn, target), [])
        except Exception as exc:  # report, keep going: one broken contender must not hide the others
            rows[name] = {"name": name, "error": f"{type(exc).__name__}: {exc}"}
    try:
        for _ in range(rounds):
            for fn, policy, number, times in live.values():
                if policy is not None:
                    imperdl.set_global_policy(policy)
                times.append(time_round(fn, number))
    finally:
        imperdl.set_global_policy(saved)
    print(f"{'implementation':<26}{'median ' + unit:>14}{'min':>10}{'max':>10}{'vs numpy':>10}")
    base = None
    for name in cases:
        if name in rows:
            print(f"{name:<26}{'failed':>14}  {rows[name]['error'][:120]}")
            continue
        times = [t * scale / per for t in live[name][3]]
        t = stats.median(times)
        base = t if base is None else base
        print(f"{name:<26}{t:>14.2f}{min(times):>10.2f}{max(times):>10.2f}{t / base:>9.1f}x", flush=True)
        rows[name] = {"name": name, unit: t, "min": min(times), "max": max(times), "ratio_vs_numpy": t / base,
                      "rounds": len(times)}
    return [rows[n] for n in cases]


def profile_chain(host_x, host_c, top: int = 10) -> dict:
    """cProfile of imperdl's chain (forward+backward) under each policy: top functions by own time."""
    out = {}
    for pol in ("prefer_mxnet", "only_numpy"):
        with _Pol(pol):
            x, c = inp.array(host_x), inp.array(host_c)
            g = grad(lambda x, c=c: chain_forward(inp, x, c))
            g(x)
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(200):
                g(x).wait_to_read()
            prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
        text = buf.getvalue()
        print(f"\ncProfile, imperdl chain, {pol}, 200 runs, top {top} by tottime:")
        print(text[text.find("   ncalls"):].rstrip())
        out[pol] = text
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (a smoke run)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--profile", action="store_true", help="also cProfile imperdl's chain")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    mx = mxnet_backend.load()
    torch = _torch()
    versions = {
        "python": platform.python_version(), "numpy": onp.__version__,
        "mxnet": getattr(mx, "__version__", None), "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
    }
    try:
        import autograd  # noqa: F401

        versions["autograd"] = __import__("importlib.metadata").metadata.version("autograd")
    except Exception:
        versions["autograd"] = None
    print(", ".join(f"{k} {v}" for k, v in versions.items()) + f", context {imperdl.current_context()}")
    rounds, target = (3, 0.05) if args.quick else (9, 0.3)
    rng = onp.random.default_rng(0)
    host_x = rng.uniform(-1, 1, (10, 10)).astype(onp.float32)
    host_c = rng.uniform(0.5, 1.5, (10, 10)).astype(onp.float32)
    agree = check_chain_agreement(host_x, host_c)
    print(f"chain gradient: imperdl vs hand-written NumPy, max relative difference {agree:.2e}")
    agree_mlp = check_mlp_agreement(onp.random.default_rng(1))
    print(f"MLP gradients: imperdl vs hand-written NumPy (float64), max relative difference {agree_mlp:.2e}")

    chain = run_section(f"(a) {CHAIN_OPS} elementwise ops on 10x10 float32, forward+backward, per op",
                        chain_cases(host_x, host_c), rounds, target, "us/op", 1e6, CHAIN_OPS)
    mlp = run_section("(b) MLP 3072-512-10, batch 128, float32: forward+backward+SGD step",
                      mlp_cases(rng), rounds, target * 2, "ms/step", 1e3, 1)
    result = {"quick": args.quick, "versions": versions, "chain_us_per_op": chain, "mlp_ms_per_step": mlp,
              "chain_grad_max_rel_diff": agree, "mlp_grad_max_rel_diff": agree_mlp}
    if args.profile:
        result["profile"] = profile_chain(host_x, host_c)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
