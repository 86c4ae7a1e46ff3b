"""Every ``reads=`` declaration is true: the rule, given only what it declares (the rest ``Absent``), gives the same
gradients, first and second order, as with everything kept.

Runs each ``GRAD_CASES`` case of every primitive whose rule declares its reads twice: as the tape records it (the
undeclared values are ``Absent``, which raises on any read of a value) and with the declaration switched off for
that rule (everything kept, as before declarations existed). The two must agree exactly; an undeclared read raises.
"""
from __future__ import annotations

import zlib

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as inp
from imperdl.core import grad, make_vjp
from imperdl.core.registry import primitive

from .checker import _cotangent, _device, _host, _outputs, _random_like, function_for
from .test_rules import GRAD_CASES

DECLARED = sorted(name for name in GRAD_CASES if getattr(primitive(name).vjp, "reads", None) is not None)
PARAMS = [(name, i) for name in DECLARED for i in range(len(GRAD_CASES[name]))]


def _gradients(name: str, variant: int) -> list:
    """First- and second-order gradients of one case (or the error each raised), as NumPy values."""
    rng = onp.random.default_rng(zlib.crc32(f"reads/{name}/{variant}".encode()))
    drawn = GRAD_CASES[name][variant](rng)
    args, kwargs, argnums = drawn[:3]
    opts = dict(drawn[3]) if len(drawn) > 3 else {}
    fun = opts.get("fun") or function_for(name)
    out = []
    for i in argnums:
        def f(x, i=i):
            full = [_device(a) for a in args]
            full[i] = x
            return fun(*full, **{k: _device(v) for k, v in kwargs.items()})

        vjp, y = make_vjp(f, 0)(_device(args[i]))
        u = _cotangent(rng, y)[0]
        u = _device(u) if isinstance(u, (tuple, list)) else inp.array(u)
        out.append(_host(vjp(u)))
        if opts.get("order", 2) >= 2:
            w = inp.array(_random_like(rng, args[i]))

            def h(x, f=f, u=u, w=w):
                vjp2, _ = make_vjp(f, 0)(x)
                return inp.sum(inp.real(vjp2(u) * w))

            try:
                out.append(_host(grad(h)(_device(args[i]))))
            except (NotImplementedError, TypeError) as e:  # (the same either way: compared by type)
                out.append(type(e).__name__)
    return out


@pytest.mark.parametrize("name,variant", PARAMS, ids=[f"{n}-{i}" for n, i in PARAMS])
def test_declared_reads_are_true(name, variant):
    vjp = primitive(name).vjp
    with imperdl.OnlyNumPyPolicy():
        declared = _gradients(name, variant)
        saved = vjp.reads
        vjp.reads = None  # the same rule, everything kept
        try:
            full = _gradients(name, variant)
        finally:
            vjp.reads = saved
    assert len(declared) == len(full)
    for a, b in zip(declared, full):
        if isinstance(b, str):
            assert a == b, f"{name}: {a!r} with the declaration, {b!r} without"
            continue
        for p, q in zip(_outputs(a), _outputs(b)):
            onp.testing.assert_allclose(onp.asarray(p), onp.asarray(q), rtol=1e-13, atol=0, equal_nan=True,
                                        err_msg=f"{name}: declared reads change the gradient")


def test_the_rules_the_workloads_use_are_declared():
    """LSTM, MLP and CNN training go through these; a declaration dropped by accident shows here."""
    for name in ("add", "subtract", "multiply", "true_divide", "tanh", "exp", "log", "dot", "matmul", "sum", "mean",
                 "max", "reshape", "transpose", "ndarray.__getitem__", "concatenate", "stack", "split", "maximum",
                 "where", "negative", "sqrt", "square", "broadcast_to", "ndarray.astype"):
        assert name in DECLARED, f"{name}: its rule declares no reads (or has no gradient case)"
