"""A CS231n-sized convolution layer, forward + backward: imperdl against MXNet, PyTorch and a loop reference.

Workload (issue "function"): x (50, 3, 32, 32) float32, 32 filters 7x7, pad 3, stride 1, then ReLU and a 2x2
max pool (stride 2); the loss is the sum of the pooled output; gradients w.r.t. x, w and b. Each implementation
is timed as the median of several rounds (each round the mean of a few calls), with every result waited for:

- ``imperdl mxnet``: ``imperdl.core.conv2d`` / ``max_pool2d`` under PreferMXNetPolicy (oneDNN forward; the first-
  order backward comes from MXNet's own backward kernels through the tape);
- ``imperdl numpy``: the same code under OnlyNumPyPolicy (im2col through strided views);
- ``mxnet imperative``: ``nd.Convolution`` / ``nd.relu`` / ``nd.Pooling`` under ``mx.autograd.record``;
- ``pytorch``: ``torch.nn.functional.conv2d`` / ``relu`` / ``max_pool2d`` with ``backward`` (if installed);
- ``loop reference``: loops over output pixels (vectorised over batch and filters), timed once: the speed of a
  student's first vectorised attempt, not of CS231n's fully naive four-loop version (hours per epoch).

    python bench/conv.py [--quick] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics as stats
import time

import numpy as onp

import imperdl
import imperdl.numpy as inp
from imperdl.core import conv2d, grad, max_pool2d, relu
from imperdl.core.backends import mxnet_backend

N, C, H, W, F, K, PAD = 50, 3, 32, 32, 32, 7, 3


def median_time(fn, rounds: int, number: int) -> float:
    fn()  # warm-up (operator caches, oneDNN primitives)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return stats.median(times)


def imperdl_step(x, w, b):
    def loss(x, w, b):
        h = conv2d(x, w, b, stride=1, pad=PAD)
        return inp.sum(max_pool2d(relu(h), 2, 2, 2))

    def run():
        gx, gw, gb = grad(loss, (0, 1, 2))(x, w, b)
        gx.wait_to_read()
        gw.wait_to_read()
        gb.wait_to_read()

    return run


def mxnet_step(x, w, b):
    mx = mxnet_backend.load()
    nd = mx.nd
    xs, ws, bs = (nd.array(a) for a in (x, w, b))

    def run():
        xa, wa, ba = xs.detach(), ws.detach(), bs.detach()
        for a in (xa, wa, ba):
            a.attach_grad()
        with mx.autograd.record():
            h = nd.Convolution(xa, wa, ba, kernel=(K, K), pad=(PAD, PAD), num_filter=F)
            y = nd.sum(nd.Pooling(nd.relu(h), kernel=(2, 2), stride=(2, 2), pool_type="max"))
        y.backward()
        for a in (xa, wa, ba):
            a.grad.wait_to_read()

    return run


def torch_step(x, w, b):
    import torch
    import torch.nn.functional as tf

    xs, ws, bs = (torch.tensor(a) for a in (x, w, b))

    def run():
        xa, wa, ba = (t.detach().requires_grad_() for t in (xs, ws, bs))
        y = tf.max_pool2d(tf.relu(tf.conv2d(xa, wa, ba, padding=PAD)), 2, 2).sum()
        y.backward()

    return run


def loop_step(x, w, b):
    """Forward and backward with Python loops over output pixels (each vectorised over batch and filters)."""
    def run():
        xp = onp.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
        h = onp.empty((N, F, H, W), x.dtype)
        for i in range(H):
            for j in range(W):
                h[:, :, i, j] = onp.tensordot(xp[:, :, i:i + K, j:j + K], w, axes=([1, 2, 3], [1, 2, 3])) + b
        r = onp.maximum(h, 0)
        win = r.reshape(N, F, H // 2, 2, W // 2, 2)
        m = win.max(axis=(3, 5), keepdims=True)
        dr = (win == m).astype(x.dtype).reshape(N, F, H, W)  # gradient of sum(pool) w.r.t. relu output
        dh = dr * (h > 0)
        dxp, dw = onp.zeros_like(xp), onp.zeros_like(w)
        for i in range(H):
            for j in range(W):
                g = dh[:, :, i, j]
                dw += onp.tensordot(g, xp[:, :, i:i + K, j:j + K], axes=([0], [0]))
                dxp[:, :, i:i + K, j:j + K] += onp.tensordot(g, w, axes=([1], [0]))
        return dxp[:, :, PAD:-PAD, PAD:-PAD], dw, dh.sum(axis=(0, 2, 3))

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    ap.add_argument("--json", help="also write the results as JSON to this path")
    args = ap.parse_args()
    rounds, number = (3, 1) if args.quick else (7, 3)
    rng = onp.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype("float32")
    w = (0.1 * rng.standard_normal((F, C, K, K))).astype("float32")
    b = onp.zeros(F, "float32")
    results = {}
    with imperdl.PreferMXNetPolicy():
        xi, wi, bi = inp.array(x), inp.array(w), inp.array(b)
        results["imperdl mxnet"] = median_time(imperdl_step(xi, wi, bi), rounds, number)
    with imperdl.OnlyNumPyPolicy():
        xi, wi, bi = inp.array(x), inp.array(w), inp.array(b)
        results["imperdl numpy"] = median_time(imperdl_step(xi, wi, bi), rounds, number)
    results["mxnet imperative"] = median_time(mxnet_step(x, w, b), rounds, number)
    try:
        results["pytorch"] = median_time(torch_step(x, w, b), rounds, number)
    except ImportError:
        print("(PyTorch not installed: `make bench` installs it)")
    results["loop reference"] = median_time(loop_step(x, w, b), 1, 1)

    base = results["mxnet imperative"]
    print(f"conv {K}x{K} ({F} filters, pad {PAD}) + relu + 2x2 max pool, forward+backward, batch {N}, "
          f"{C}x{H}x{W} float32 -- {platform.processor() or platform.machine()}")
    print(f"{'implementation':<20}{'ms (median)':>12}{'/ mxnet imperative':>20}")
    for name, t in results.items():
        print(f"{name:<20}{t * 1e3:>12.1f}{t / base:>20.2f}")
    if "pytorch" in results:
        print(f"imperdl mxnet / pytorch: {results['imperdl mxnet'] / results['pytorch']:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({k: v * 1e3 for k, v in results.items()}, fh, indent=2)


if __name__ == "__main__":
    main()
