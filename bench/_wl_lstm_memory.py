"""Workload "memory": peak resident memory of 200 SGD steps of an LSTM language-model-style network, one process
per implementation (peak RSS only ever grows, so implementations cannot share a process).

Peak RSS is read as ``VmHWM`` from /proc/self/status: the same high-water mark as ``getrusage(RUSAGE_SELF)
.ru_maxrss``, except that ru_maxrss survives exec and so starts at the parent's peak (a subprocess of a 100 MB
driver would report a 100 MB floor); VmHWM belongs to this program image only.

Network: x (N, 50, D) -> LSTM (hidden H, gates i, f, o, g) -> the same affine map (H -> V) at every step ->
softmax cross-entropy at every step against random targets, summed over time and averaged over the batch (CS231n's
temporal softmax loss). What a step keeps alive until its backward pass (the tape, or the hand-written cache) is
what this measures; 200 steps also show whether memory grows from step to step (a leak).

Run by ``bench/run_all.py``:

    python bench/_wl_lstm_memory.py IMPLEMENTATION [--config JSON]

prints one JSON object: the baseline (peak RSS after imports and data, before the first step), the peak after the
last step, RSS at a few steps along the way, the wall time of the steps and the final loss (every implementation
computes the same training run, so the losses should agree to float32 rounding).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as onp

TITLE = "peak RSS of LSTM training (seq 50, batch 64, input 64, hidden 128, vocab 64), 200 SGD steps"
# "steps" for the rows the target compares (hand-written NumPy, imperdl's default policy); "context_steps" for the
# others: their peak is reached within the first steps (the RSS trace is flat after step 1) and some take 0.2-3 s
# a step on the shared 2-core machine, so 200 steps of all seven would take ~10 minutes
CONFIGS = {"full": {"n": 64, "t": 50, "d": 64, "h": 128, "v": 64, "steps": 200, "context_steps": 20},
           "smoke": {"n": 4, "t": 5, "d": 8, "h": 8, "v": 6, "steps": 3, "context_steps": 2}}
IMPLEMENTATIONS = ("numpy (hand-written)", "imperdl default", "imperdl only_numpy", "imperdl prefer_mxnet",
                   "HIPS autograd", "PyTorch eager", "MXNet imperative")
TARGET_ROWS = ("numpy (hand-written)", "imperdl default")
LR = 1e-2
_TRACE_AT = (1, 10, 50, 100, 200)


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def peak_mb() -> float:
    """Peak RSS of this program image (VmHWM; ru_maxrss where /proc is missing, see the module docstring)."""
    got = _status_mb("VmHWM")
    return got if got is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    got = _status_mb("VmRSS")
    return got if got is not None else float("nan")


def data(cfg: dict):
    rng = onp.random.default_rng(4)
    n, t, d, h, v = cfg["n"], cfg["t"], cfg["d"], cfg["h"], cfg["v"]
    x = rng.standard_normal((n, t, d)).astype(onp.float32)
    y = rng.integers(0, v, (n, t))
    p = {"Wx": (rng.standard_normal((d, 4 * h)) / d ** 0.5).astype(onp.float32),
         "Wh": (rng.standard_normal((h, 4 * h)) / h ** 0.5).astype(onp.float32),
         "b": onp.zeros(4 * h, onp.float32),
         "W_out": (rng.standard_normal((h, v)) / h ** 0.5).astype(onp.float32),
         "b_out": onp.zeros(v, onp.float32)}
    return x, y, p


# ------------------------------------------------------------------------------------------------ NumPy
def _sigmoid(a):
    return 1 / (1 + onp.exp(-a))


def numpy_step(p: dict, x, y) -> float:
    """Hand-written forward, backward and SGD update; returns the loss."""
    n, t, _ = x.shape
    hd = p["Wh"].shape[0]
    h = onp.zeros((n, hd), onp.float32)
    c = onp.zeros_like(h)
    cache, hs = [], onp.empty((n, t, hd), onp.float32)
    for i in range(t):
        a = x[:, i, :] @ p["Wx"] + h @ p["Wh"] + p["b"]
        ig, fg, og = _sigmoid(a[:, :hd]), _sigmoid(a[:, hd:2 * hd]), _sigmoid(a[:, 2 * hd:3 * hd])
        gg = onp.tanh(a[:, 3 * hd:])
        c_prev, h_prev = c, h
        c = fg * c_prev + ig * gg
        tc = onp.tanh(c)
        h = og * tc
        hs[:, i, :] = h
        cache.append((h_prev, c_prev, ig, fg, og, gg, tc))
    flat = hs.reshape(n * t, hd)
    s = flat @ p["W_out"] + p["b_out"]
    s -= s.max(axis=1, keepdims=True)
    e = onp.exp(s)
    prob = e / e.sum(axis=1, keepdims=True)
    rows, labels = onp.arange(n * t), y.reshape(n * t)
    loss = float(-onp.log(prob[rows, labels]).sum() / n)
    ds = prob
    ds[rows, labels] -= 1
    ds /= n
    g = {"W_out": flat.T @ ds, "b_out": ds.sum(axis=0)}
    dhs = (ds @ p["W_out"].T).reshape(n, t, hd)
    g.update(Wx=onp.zeros_like(p["Wx"]), Wh=onp.zeros_like(p["Wh"]), b=onp.zeros_like(p["b"]))
    dh_next, dc_next = onp.zeros_like(h), onp.zeros_like(c)
    da = onp.empty((n, 4 * hd), onp.float32)
    for i in reversed(range(t)):
        h_prev, c_prev, ig, fg, og, gg, tc = cache[i]
        dh = dhs[:, i, :] + dh_next
        dc = dc_next + dh * og * (1 - tc * tc)
        da[:, :hd] = dc * gg * ig * (1 - ig)
        da[:, hd:2 * hd] = dc * c_prev * fg * (1 - fg)
        da[:, 2 * hd:3 * hd] = dh * tc * og * (1 - og)
        da[:, 3 * hd:] = dc * ig * (1 - gg * gg)
        g["Wx"] += x[:, i, :].T @ da
        g["Wh"] += h_prev.T @ da
        g["b"] += da.sum(axis=0)
        dh_next, dc_next = da @ p["Wh"].T, dc * fg
    for k in p:
        p[k] -= LR * g[k]
    return loss


# ------------------------------------------------------------------------------------------------ others
def imperdl_stepper(policy: str | None, x, y, p):
    import imperdl
    import imperdl.numpy as inp
    from imperdl.core import grad_and_loss
    from imperdl.core.backends import mxnet_backend
    from imperdl.nn.layers import lstm, temporal_affine, temporal_softmax_loss

    mxnet_backend.load()
    imperdl.set_global_policy(policy)
    n = x.shape[0]
    mask = onp.ones(y.shape, bool)
    xi, h0 = inp.array(x), inp.zeros((n, p["Wh"].shape[0]), dtype=onp.float32)
    params = {k: inp.array(v) for k, v in p.items()}

    def loss(q, x, y):
        hs = lstm(x, h0, q["Wx"], q["Wh"], q["b"])
        return temporal_softmax_loss(temporal_affine(hs, q["W_out"], q["b_out"]), y, mask)

    gl = grad_and_loss(loss)

    def step():
        g, value = gl(params, xi, y)
        for k in params:
            params[k] -= LR * g[k]
        return float(value)

    return step


def _lstm_loss(np, p, x, y, sig):
    """The same network for an autodiff library with NumPy-like ops (HIPS autograd, PyTorch, MXNet nd)."""
    n, t, _ = x.shape
    hd = p["Wh"].shape[0]
    h = c = None
    scores = 0
    for i in range(t):
        a = np.dot(x[:, i, :], p["Wx"]) + p["b"]
        if h is not None:
            a = a + np.dot(h, p["Wh"])
        ig, fg, og, gg = sig(a[:, :hd]), sig(a[:, hd:2 * hd]), sig(a[:, 2 * hd:3 * hd]), np.tanh(a[:, 3 * hd:])
        c = ig * gg if c is None else fg * c + ig * gg
        h = og * np.tanh(c)
        s = np.dot(h, p["W_out"]) + p["b_out"]
        s = s - np.max(s, axis=1, keepdims=True)
        logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
        scores = scores + np.sum(logp * y[i])  # y[i]: one-hot targets of step i (N, V)
    return -scores / n


def _one_hot(y, v):
    oh = onp.zeros((y.shape[1], y.shape[0], v), onp.float32)
    for i in range(y.shape[1]):
        oh[i, onp.arange(y.shape[0]), y[:, i]] = 1
    return oh


def hips_stepper(x, y, p):
    import autograd
    import autograd.numpy as anp

    oh = _one_hot(y, p["W_out"].shape[1])
    gl = autograd.value_and_grad(lambda q: _lstm_loss(anp, q, x, oh, lambda a: 1 / (1 + anp.exp(-a))))
    q = {k: v.copy() for k, v in p.items()}

    def step():
        value, g = gl(q)
        for k in q:
            q[k] -= LR * g[k]
        return float(value)

    return step


def torch_stepper(x, y, p):
    import torch

    class _T:  # the NumPy names _lstm_loss uses, on torch
        dot = staticmethod(torch.matmul)
        tanh, exp, log = staticmethod(torch.tanh), staticmethod(torch.exp), staticmethod(torch.log)

        @staticmethod
        def max(a, axis, keepdims):
            return torch.amax(a, dim=axis, keepdim=keepdims)

        @staticmethod
        def sum(a, axis=None, keepdims=False):
            return torch.sum(a) if axis is None else torch.sum(a, dim=axis, keepdim=keepdims)

    tx, oh = torch.from_numpy(x), torch.from_numpy(_one_hot(y, p["W_out"].shape[1]))
    q = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in p.items()}

    def step():
        value = _lstm_loss(_T, q, tx, oh, torch.sigmoid)
        value.backward()
        with torch.no_grad():
            for v in q.values():
                v -= LR * v.grad
                v.grad = None
        return value.item()

    return step


def mxnet_stepper(x, y, p):
    import warnings

    if "bool" not in vars(onp):
        onp.bool = bool  # MXNet 1.9.1 uses the alias NumPy 1.24 removed (this process runs MXNet alone)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mxnet as mx  # MXNet's own defaults (engine, shape semantics), as its users get them
    nd = mx.nd

    class _N:
        dot, tanh, exp, log = nd.dot, nd.tanh, nd.exp, nd.log

        @staticmethod
        def max(a, axis, keepdims):
            return nd.max(a, axis=axis, keepdims=keepdims)

        @staticmethod
        def sum(a, axis=None, keepdims=False):
            return nd.sum(a) if axis is None else nd.sum(a, axis=axis, keepdims=keepdims)

    mx_x, oh = nd.array(x), nd.array(_one_hot(y, p["W_out"].shape[1]))
    q = {k: nd.array(v) for k, v in p.items()}
    for v in q.values():
        v.attach_grad()

    def step():
        with mx.autograd.record():
            value = _lstm_loss(_N, q, mx_x, oh, nd.sigmoid)
        value.backward()
        for v in q.values():
            nd.sgd_update(v, v.grad, lr=LR, out=v)
        return float(value.asscalar())

    return step


def stepper(impl: str, x, y, p):
    if impl == "numpy (hand-written)":
        q = {k: v.copy() for k, v in p.items()}
        return lambda: numpy_step(q, x, y)
    if impl.startswith("imperdl "):
        pol = impl.split(" ", 1)[1]
        return imperdl_stepper(None if pol == "default" else pol, x, y, p)
    if impl == "HIPS autograd":
        return hips_stepper(x, y, p)
    if impl == "PyTorch eager":
        return torch_stepper(x, y, p)
    if impl == "MXNet imperative":
        return mxnet_stepper(x, y, p)
    raise SystemExit(f"unknown implementation {impl!r}; expected one of {IMPLEMENTATIONS}")


def run(impl: str, cfg: dict) -> dict:
    x, y, p = data(cfg)
    step = stepper(impl, x, y, p)
    base = peak_mb()
    steps = cfg["steps"] if impl in TARGET_ROWS else cfg.get("context_steps", cfg["steps"])
    marks = {*_TRACE_AT, cfg["steps"], cfg.get("context_steps", cfg["steps"])}
    trace, loss_at, losses = {}, {}, []
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        losses.append(step())
        if i in marks:
            trace[str(i)] = round(rss_mb(), 1)
            loss_at[str(i)] = losses[-1]
    wall = time.perf_counter() - t0
    peak = peak_mb()
    out = {"name": impl, "baseline_mb": round(base, 1), "peak_mb": round(peak, 1), "delta_mb": round(peak - base, 1),
           "rss_mb_at_step": trace, "steps": steps,
           "seconds": round(wall, 2), "first_loss": losses[0], "final_loss": losses[-1], "loss_at_step": loss_at}
    if impl.startswith("imperdl "):
        import imperdl

        out["policy"] = repr(imperdl.get_global_policy())
    if impl == "PyTorch eager":
        import torch

        out["torch_threads"] = torch.get_num_threads()
    return out


def tape_profile(cfg: dict, policy: str | None = None, top: int = 12) -> dict:
    """Where imperdl's training memory goes: one forward pass recorded with ``make_vjp`` under tracemalloc, the
    memory still held when it returns (what the tape keeps for the backward pass) summed by the line of model
    code that created it. Only NumPy-side memory is traced (MXNet allocates outside Python's view)."""
    import gc
    import linecache
    import tracemalloc

    import imperdl
    import imperdl.numpy as inp
    from imperdl.core import grad_and_loss, make_vjp
    from imperdl.core.backends import mxnet_backend
    from imperdl.nn.layers import lstm, temporal_affine, temporal_softmax_loss

    mxnet_backend.load()
    imperdl.set_global_policy(policy)
    x, y, p = data(cfg)
    mask = onp.ones(y.shape, bool)
    xi, h0 = inp.array(x), inp.zeros((x.shape[0], p["Wh"].shape[0]), dtype=onp.float32)
    params = {k: inp.array(v) for k, v in p.items()}

    def loss(q):
        hs = lstm(xi, h0, q["Wx"], q["Wh"], q["b"])
        return temporal_softmax_loss(temporal_affine(hs, q["W_out"], q["b_out"]), y, mask)

    grad_and_loss(loss)(params)  # warm: policy decisions, caches
    gc.collect()
    tracemalloc.start(30)
    before = tracemalloc.take_snapshot()
    imperdl.reset_statistics()
    vjp, _ = make_vjp(loss)(params)
    after = tracemalloc.take_snapshot()
    ops = imperdl.statistics()["total"]
    vjp()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    by_line: dict = {}
    for d in after.compare_to(before, "traceback"):
        where = "(imperdl internals)"
        for fr in reversed(d.traceback):  # innermost first: the first frame outside the engine is the model line
            f = fr.filename.replace(os.sep, "/")
            if "/imperdl/core/" not in f and not f.startswith("<"):
                where = f"{f.split('/imperdl/')[-1] if '/imperdl/' in f else os.path.basename(f)}:{fr.lineno}"
                where += "  " + linecache.getline(fr.filename, fr.lineno).strip()
                break
        by_line[where] = by_line.get(where, 0) + d.size_diff
    held = sum(by_line.values())
    rows = sorted(by_line.items(), key=lambda kv: -kv[1])[:top]
    return {"policy": repr(imperdl.get_global_policy()), "held_after_forward_mb": round(held / 2**20, 1),
            "traced_peak_mb": round(peak / 2**20, 1), "forward_ops": ops,
            "by_line": [{"mb": round(v / 2**20, 2), "where": k} for k, v in rows]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("implementation", choices=(*IMPLEMENTATIONS, "tape-profile"),
                    help="what to run; 'tape-profile': where imperdl's default policy keeps memory")
    ap.add_argument("--config", default=json.dumps(CONFIGS["full"]), help="JSON sizes (default: the full run's)")
    args = ap.parse_args(argv)
    os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    cfg = json.loads(args.config)
    out = tape_profile(cfg) if args.implementation == "tape-profile" else run(args.implementation, cfg)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
