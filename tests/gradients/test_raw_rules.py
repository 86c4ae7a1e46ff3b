"""The host rules (``imperdl.core.rules.raw``) against their dispatched twins: bit for bit, same dtype and shape.

An unobserved backward walk under a NumPy-only policy runs the host rules; the same walk with the host rules
switched off runs the rules written with ``imperdl.numpy``. Every case the gradient tests draw for the primitives
in the host table, plus float32 and mixed-precision programs, must give identical bytes both ways.
"""
from __future__ import annotations

import functools

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as inp
from imperdl.core import grad, make_vjp, tape
from imperdl.core.rules import raw

from .checker import _device, function_for
from .test_rules import GRAD_CASES, _rng

NAMES = sorted(n for n in raw.TABLE if n in GRAD_CASES)


def _grads(fun, args, kwargs, argnums, seed):
    cot_rng = onp.random.default_rng(seed)
    out = []
    for i in argnums:
        def f(x, i=i):
            a = list(_device(args))
            a[i] = x
            return fun(*a, **kwargs)

        vjp, y = make_vjp(f)(inp.array(args[i]))
        g = cot_rng.standard_normal(onp.shape(y.asnumpy()))
        if onp.iscomplexobj(y.asnumpy()):
            g = g + 1j * cot_rng.standard_normal(onp.shape(g))
        out.append(vjp(inp.array(g.astype(y.dtype))).asnumpy())
    return out


def _both(monkeypatch, run):
    """``run()`` with the host rules, then with every walk observed (the dispatched rules)."""
    with imperdl.OnlyNumPyPolicy():
        assert tape.unobserved()
        fast = run()
        with monkeypatch.context() as m:
            m.setattr(tape, "unobserved", lambda: False)
            slow = run()
    return fast, slow


def _same(fast, slow):
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes(), f"max difference {onp.max(onp.abs(a - b))}"


@pytest.mark.parametrize("name", NAMES)
def test_host_rule_is_bitwise_its_twin(name, monkeypatch):
    for variant, case in enumerate(GRAD_CASES[name]):
        drawn = case(_rng(name, variant, "raw"))
        args, kwargs, argnums = drawn[:3]
        fun = (dict(drawn[3]) if len(drawn) > 3 else {}).get("fun") or function_for(name)
        fast, slow = _both(monkeypatch, functools.partial(_grads, fun, tuple(args), kwargs, argnums,
                                                          variant))
        _same(fast, slow)


PROGRAMS = {
    "float32 chain": lambda x, c: inp.sum(inp.sin(inp.exp(inp.tanh((x + c) * c))) / c - inp.sqrt(x * x + 1.0)),
    "float32 param, float64 loss": lambda x, c: inp.mean(inp.log(inp.square(x) + 1.0)) / 7 + inp.sum(x[1:, ::-1]),
    "powers and scalars": lambda x, c: inp.sum((x ** 2) * c[0, 0] - inp.reciprocal(c + 3.0) * x ** c + -x / 3),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_programs_are_bitwise_the_same(name, monkeypatch):
    rng = onp.random.default_rng(3)
    x, c = (inp.array(rng.uniform(0.5, 1.5, (4, 3)).astype(onp.float32)) for _ in range(2))
    fast, slow = _both(monkeypatch, lambda: [g.asnumpy() for g in grad(PROGRAMS[name], (0, 1))(x, c)])
    _same(fast, slow)
    assert fast[0].dtype == onp.float32


def test_only_unobserved_walks_run_host_rules(monkeypatch):
    """Host rules run only with an empty tape stack (no outer tape, no tracer) under a NumPy-only policy: an
    inner walk under higher order, and every walk under another policy, runs the dispatched rules."""
    prim = imperdl.core.registry.primitive("tanh")
    stacks = []

    def spy(pos, g, ans, args):
        stacks.append(len(tape.state.stack))
        return raw.TABLE["tanh"](pos, g, ans, args)

    monkeypatch.setattr(prim, "raw_vjp", spy)
    x = inp.array([0.5, 1.0])
    with imperdl.OnlyNumPyPolicy():
        grad(lambda x: inp.sum(inp.tanh(x)))(x)
        assert stacks == [0]
        g2 = grad(lambda x: inp.sum(grad(lambda z: inp.sum(inp.tanh(z)))(x)))(x)
    assert stacks == [0, 0]  # the outer walk's (unobserved); the inner one ran under the outer tape
    t = onp.tanh([0.5, 1.0])
    onp.testing.assert_allclose(g2.asnumpy(), -2 * t * (1 - t * t))
    with imperdl.PreferMXNetPolicy():
        assert not tape.unobserved()
        grad(lambda x: inp.sum(inp.tanh(x)))(x)
    assert stacks == [0, 0]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_cost_aware_walks_run_host_rules_on_host_values(name, monkeypatch):
    """Under CostAwarePolicy an unobserved walk runs the host rules for host values: the same bytes as the
    dispatched rules (which its estimates put on NumPy at these sizes)."""
    rng = onp.random.default_rng(3)
    x, c = (inp.array(rng.uniform(0.5, 1.5, (4, 3)).astype(onp.float32)) for _ in range(2))
    with imperdl.CostAwarePolicy():
        assert tape.unobserved() == tape.MIXED
        fast = [g.asnumpy() for g in grad(PROGRAMS[name], (0, 1))(x, c)]
        with monkeypatch.context() as m:
            m.setattr(tape, "unobserved", lambda: 0)
            slow = [g.asnumpy() for g in grad(PROGRAMS[name], (0, 1))(x, c)]
    _same(fast, slow)


@pytest.mark.mxnet
def test_cost_aware_walk_leaves_mxnet_values_to_the_policy(monkeypatch):
    """An entry whose gradient or inputs live on MXNet alone goes through the dispatched rule (no host copy is
    made for it); host entries of the same walk take the host rules."""
    calls = []
    for name in ("multiply", "tanh"):
        prim = imperdl.core.registry.primitive(name)
        monkeypatch.setattr(prim, "raw_vjp", lambda pos, g, ans, args, _n=name, _r=raw.TABLE[name]: (
            calls.append(_n), _r(pos, g, ans, args))[1])
    rng = onp.random.default_rng(4)
    vh, ch, wh = (rng.uniform(0.5, 1.5, (3, 4)) for _ in range(3))

    def f(v, w):
        with imperdl.PreferMXNetPolicy():  # (forward on MXNet: results there alone)
            a = inp.sum(inp.tanh(v * inp.array(ch)))
        with imperdl.OnlyNumPyPolicy():
            b = inp.sum(inp.tanh(w))
        return a + b

    vjp, y = make_vjp(f, (0, 1))(inp.array(vh), inp.array(wh))
    with imperdl.CostAwarePolicy():
        gv, gw = vjp(inp.array(1.0))
    # w's tanh only: v's tanh result lives on MXNet alone, so its rule went to the policy (which may bring the
    # values to the host for the small calls after it, as it chooses)
    assert calls.count("tanh") == 1 and calls[0] == "tanh"
    onp.testing.assert_allclose(gv.asnumpy(), ch * (1 - onp.tanh(vh * ch) ** 2), rtol=1e-12)
    onp.testing.assert_allclose(gw.asnumpy(), 1 - onp.tanh(wh) ** 2, rtol=1e-12)
