"""Every gradient rule, checked by finite differences to first and second order, under two policies.

Cases come from every ``tests/gradients/cases_*.py`` module (contract in ``checker.py``). A coverage test
asserts that every primitive carrying a rule of ours (not one borrowed from HIPS autograd) has cases, so new
rules cannot land unchecked; self-tests show the checker catches wrong first- and second-order rules.
"""
from __future__ import annotations

import importlib
import pathlib
import zlib

import numpy as onp
import pytest

import imperdl
import imperdl.core  # noqa: F401  (loads the rule tables)
import imperdl.numpy as inp
from imperdl.core.registry import REGISTRY, in_numpy, primitive

from .checker import check_case, check_grads

_HERE = pathlib.Path(__file__).parent
GRAD_CASES: dict[str, list] = {}
OWNER: dict[str, str] = {}
for _path in sorted(_HERE.glob("cases_*.py")):
    _mod = importlib.import_module(f"{__package__}.{_path.stem}")
    for _name, _cases in _mod.GRAD_CASES.items():
        assert _name not in GRAD_CASES, f"{_name} has cases in both {OWNER[_name]} and {_path.stem}"
        if not in_numpy(_name):  # a function the installed NumPy lacks (product, round_ in NumPy 2)
            continue
        GRAD_CASES[_name] = list(_cases) if isinstance(_cases, (list, tuple)) else [_cases]
        OWNER[_name] = _path.stem

PARAMS = [(name, i) for name in sorted(GRAD_CASES) for i in range(len(GRAD_CASES[name]))]
POLICIES = {"prefer_mxnet": imperdl.PreferMXNetPolicy, "only_numpy": imperdl.OnlyNumPyPolicy}


def _rng(name, i, policy):
    """A generator seeded from the case's identity: deterministic, independent of test order."""
    return onp.random.default_rng(zlib.crc32(f"{name}/{i}/{policy}".encode()))


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("name,variant", PARAMS, ids=[f"{n}-{i}" for n, i in PARAMS])
def test_rule(name, variant, policy):
    with POLICIES[policy]():
        check_case(name, GRAD_CASES[name][variant], _rng(name, variant, policy))


def test_every_rule_has_cases():
    """Primitives are shared by aliases ('abs'/'absolute'): a case under any of its names covers it."""
    for name in GRAD_CASES:
        assert primitive(name).vjp is not None, f"{name} has gradient cases but no rule"
    covered = {id(primitive(name)) for name in GRAD_CASES}
    missing = sorted(
        name for name, p in list(REGISTRY.items())
        if p.vjp is not None and getattr(p.vjp, "source", None) != "autograd" and id(p) not in covered
        and not name.startswith("scipy.")  # imperdl.scipy's rules: tests/scipy_face checks them against its table
    )
    assert not missing, f"rules without gradient cases: {missing}"


# ------------------------------------------------------------------------------------- checker self-tests
def _swap_rule(name, rule):
    p = primitive(name)
    saved = p.vjp
    p.vjp = rule
    return p, saved


def test_checker_catches_wrong_first_order():
    p, saved = _swap_rule("sin", lambda pos, g, ans, args, kwargs: g * inp.sin(args[0]))
    try:
        with pytest.raises(AssertionError, match="first order"):
            check_grads(inp.sin, (onp.linspace(-1, 1, 5),), order=1)
    finally:
        p.vjp = saved


def test_checker_catches_wrong_second_order():
    """A rule right in value but opaque to the tape (a host constant) fails only the second-order check."""
    def opaque(pos, g, ans, args, kwargs):
        return g * inp.array(onp.cos(args[0].asnumpy()))

    p, saved = _swap_rule("sin", opaque)
    try:
        check_grads(inp.sin, (onp.linspace(-1, 1, 5),), order=1)
        with pytest.raises(AssertionError, match="second order"):
            check_grads(inp.sin, (onp.linspace(-1, 1, 5),), order=2)
    finally:
        p.vjp = saved


def test_checker_catches_wrong_broadcasting():
    """A gradient not summed back to its argument's shape is reported."""
    p, saved = _swap_rule("add", lambda pos, g, ans, args, kwargs: g)
    try:
        with pytest.raises((AssertionError, ValueError)):
            check_grads(inp.add, (onp.ones((2, 3)), onp.ones((3,))), argnums=(1,), order=1)
    finally:
        p.vjp = saved


# ---------------------------------------------------------------------------------- float32 on MXNet
FLOAT32 = {
    "exp": lambda x: inp.exp(x),
    "tanh": lambda x: inp.tanh(x) * x,
    "power": lambda x: inp.power(inp.abs(x) + 0.5, 1.5),
    "maximum": lambda x: inp.maximum(x, 0.25),
    "clip": lambda x: inp.clip(x, -0.5, 0.5),
    "where": lambda x: inp.where(x > 0, x * x, -x),
    "sum": lambda x: inp.sum(x * x, axis=1),
    "mean": lambda x: inp.mean(x ** 3, axis=0, keepdims=True),
    "max": lambda x: inp.max(x, axis=-1),
    "var": lambda x: inp.var(x, axis=1, ddof=1),
    "cumsum": lambda x: inp.cumsum(x * x, axis=0),
    "prod": lambda x: inp.prod(x, axis=0),
}


@pytest.mark.parametrize("name", sorted(FLOAT32))
def test_float32_gradients(name):
    """The common real-world case: float32 under prefer_mxnet. The gradient keeps float32 and matches the
    float64 one to float32 accuracy (rules must not promote or lose precision on the way)."""
    from imperdl.core import grad

    x64 = onp.random.default_rng(7).uniform(-1, 1, (3, 4))
    x64[onp.abs(x64) < 0.05] = 0.3  # away from the kinks of abs/maximum/clip/where
    with imperdl.PreferMXNetPolicy():
        g32 = grad(FLOAT32[name])(inp.array(x64.astype(onp.float32)))
        g64 = grad(FLOAT32[name])(inp.array(x64))
    assert g32.dtype == onp.float32 and g32.shape == x64.shape
    onp.testing.assert_allclose(g32.asnumpy(), g64.asnumpy(), rtol=2e-4, atol=2e-5)
