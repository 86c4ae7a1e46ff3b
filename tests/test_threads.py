"""Threads: gradients taken in several threads at once, under different policies, equal the ones taken alone.

The engine's process-wide state must not leak between threads: tapes are per thread, a ``with policy:`` block
(and a ``with fallback_mode(...)`` block) holds for its own thread only (``set_global_policy`` stays
process-wide), and what one thread records for MXNet's backward is never read by another.
"""
from __future__ import annotations

import sys
import threading

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Function, conv2d, grad, max_pool2d, relu
from imperdl.core.backends import mxnet_backend as _mxb
from imperdl.nn import layers as L

# (through imperdl's loader: on NumPy >= 1.24 a bare ``import mxnet`` fails before imperdl has loaded it)
mx = _mxb.load() or pytest.skip(f"needs MXNet: {_mxb.unavailable_reason()}", allow_module_level=True)

ITERATIONS = 12
rng = onp.random.default_rng(0)
LABELS = rng.integers(0, 5, size=8)
X_MLP = rng.standard_normal((8, 6))
MLP = {"w1": rng.standard_normal((6, 7)), "b1": rng.standard_normal(7), "w2": rng.standard_normal((7, 5)),
       "b2": rng.standard_normal(5)}
X_IMG = rng.standard_normal((4, 2, 6, 6))
CNN = {"w": rng.standard_normal((3, 2, 3, 3)), "b": rng.standard_normal(3), "fc": rng.standard_normal((27, 5))}
X_FC = rng.standard_normal((8, 6)).astype(onp.float32)
FC = {"fc_weight": rng.standard_normal((4, 6)).astype(onp.float32),
      "fc_bias": rng.standard_normal(4).astype(onp.float32)}
FC_FN = Function(mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=4, name="fc"), {"x": (8, 6)})


def mlp_loss(p):
    h = relu(np.dot(X_MLP, p["w1"]) + p["b1"])
    return L.softmax_loss(np.dot(h, p["w2"]) + p["b2"], LABELS)


def cnn_loss(p):
    h = max_pool2d(relu(conv2d(X_IMG, p["w"], p["b"], 1, 1)), 2, 2, 2)
    return L.softmax_loss(L.affine(h, p["fc"], 0.0), LABELS[:4])


def function_loss(p):
    return np.sum(np.tanh(FC_FN(x=X_FC, **p)))


# each job: (loss, parameters, how its thread scopes the policy)
JOBS = {
    "mlp/prefer_mxnet": (mlp_loss, MLP, imperdl.PreferMXNetPolicy),
    "cnn/only_numpy": (cnn_loss, CNN, imperdl.OnlyNumPyPolicy),
    "cnn/prefer_mxnet": (cnn_loss, CNN, imperdl.PreferMXNetPolicy),
    "function/default": (function_loss, FC, None),
}


def _run(name):
    loss, params, policy = JOBS[name]
    args = {k: np.array(v) for k, v in params.items()}
    if policy is None:
        g = grad(loss)(args)
    else:
        with policy():
            g = grad(loss)(args)
    return {k: v.asnumpy() for k, v in g.items()}


def _counted() -> dict:
    """Calls by backend (transfers are left out: the shared input moves once, whichever thread reads it first)."""
    return imperdl.statistics()["total"]


def _in_threads(targets):
    """Run each target in its own thread, all released together; return the exceptions they raised."""
    errors: list = []
    barrier = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            try:
                barrier.wait(timeout=30)
                fn()
            except Exception as exc:  # noqa: BLE001 - reported to the test below
                errors.append(exc)
                barrier.abort()
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch often, so that the threads interleave inside each other's calls
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


@pytest.mark.parametrize("names", [("mlp/prefer_mxnet", "cnn/only_numpy", "function/default"),
                                   ("cnn/prefer_mxnet", "mlp/prefer_mxnet", "cnn/only_numpy")])
def test_concurrent_gradients_equal_the_single_thread_ones(names, monkeypatch, mxnet_array):
    alone = {n: _run(n) for n in names}
    # the threads share one input that lives only on MXNet at first: they race to read it on either side
    monkeypatch.setattr(sys.modules[__name__], "X_IMG", mxnet_array(X_IMG))
    counts = {}  # what one more run of each job counts (every decision is cached by now)
    for n in names:
        imperdl.reset_statistics()
        _run(n)
        counts[n] = _counted()
    global_before = imperdl.get_global_policy()
    mismatches: list = []
    imperdl.reset_statistics()

    def job(name):
        def run():
            for i in range(ITERATIONS):
                got = _run(name)
                for k, v in alone[name].items():
                    if not onp.array_equal(got[k], v):
                        mismatches.append((name, i, k, float(onp.abs(got[k] - v).max())))
        return run

    errors = _in_threads([job(n) for n in names])
    assert errors == []
    assert mismatches == []
    # no count is lost when threads count at once
    assert _counted() == {k: ITERATIONS * sum(counts[n][k] for n in names) for k in ("numpy", "mxnet", "fallback")}
    assert imperdl.get_global_policy() is global_before, "a thread's with block leaked into the global policy"


def test_policy_block_stays_in_its_thread():
    inside = threading.Event()
    checked = threading.Event()
    seen: dict = {}
    base = imperdl.get_global_policy()
    only_numpy = imperdl.OnlyNumPyPolicy()

    def a():
        with only_numpy:
            seen["a"] = imperdl.get_global_policy()
            inside.set()
            assert checked.wait(timeout=30)
            seen["a result"] = np.exp(np.array([1.0, 2.0])).backends
            seen["a after"] = imperdl.get_global_policy()

    def b():
        assert inside.wait(timeout=30)
        try:
            seen["b"] = imperdl.get_global_policy()
            with imperdl.PreferMXNetPolicy():
                seen["b result"] = np.exp(np.array([1.0, 2.0])).backends
        finally:
            checked.set()

    assert _in_threads([a, b]) == []
    assert seen["a"] is only_numpy and seen["a after"] is only_numpy and seen["a result"] == ("numpy",)
    assert seen["b"] is base, "thread A's with block leaked into thread B"
    assert seen["b result"] == ("mxnet",)
    assert imperdl.get_global_policy() is base


def test_set_global_policy_is_seen_by_every_thread():
    seen = []
    imperdl.set_global_policy("only_numpy")
    assert _in_threads([lambda: seen.append(imperdl.get_global_policy())]) == []
    assert seen == [imperdl.get_global_policy()] and isinstance(seen[0], imperdl.OnlyNumPyPolicy)


def test_fallback_mode_block_stays_in_its_thread():
    inside = threading.Event()
    checked = threading.Event()
    seen = {}

    def a():
        with imperdl.fallback_mode("raise"):
            inside.set()
            assert checked.wait(timeout=30)
            seen["a"] = imperdl.get_fallback_mode()

    def b():
        assert inside.wait(timeout=30)
        seen["b"] = imperdl.get_fallback_mode()
        checked.set()

    assert _in_threads([a, b]) == []
    assert seen == {"a": "raise", "b": "ignore"}
    assert imperdl.get_fallback_mode() == "ignore"


def test_mxnet_numpy_shapes_hold_in_every_thread():
    """MXNet turns its NumPy shape semantics on per thread: 0-d and zero-size arrays must work in any thread."""
    out = {}

    def run():
        with imperdl.OnlyMXNetPolicy():
            out["neg"] = -np.array(3.0)
            out["exp"] = np.exp(np.ones((0, 3)))
            out["reshape"] = np.reshape(np.ones((2, 0)), (0, 5))

    assert _in_threads([run]) == []
    assert out["neg"].shape == () and float(out["neg"]) == -3.0
    assert out["exp"].shape == (0, 3)
    assert out["reshape"].shape == (0, 5)
    assert all("mxnet" in v.backends for v in out.values())
