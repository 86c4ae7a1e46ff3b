"""imperdl.scipy.special: every name with a rule gives SciPy's values and the right gradients, to second order.

Gradients are compared with HIPS autograd's ``autograd.scipy.special`` where it has the function, and with
float64 finite differences otherwise (both, when cheap). ``test_every_rule_has_a_case`` keeps the table honest.
"""
from __future__ import annotations

import zlib

import autograd.scipy.special as asp
import numpy as onp
import pytest
import scipy.special
from gradients.checker import check_grads

import imperdl.scipy.special as isp
from imperdl.scipy._rules import TABLE

from .oracle import against_autograd, same_values

S = (5,)


def U(lo, hi, shape=S):
    return lambda rng: rng.uniform(lo, hi, shape)


def away(lo, hi, shape=S):
    return lambda rng: rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


POS = U(0.5, 3.0)
REAL = U(-1.5, 1.5)
UNIT = U(0.15, 0.85)

# name -> (argument generators or constants, differentiated argnums, keyword arguments)
CASES = {
    "gammaln": ([POS], (0,), {}), "loggamma": ([POS], (0,), {}), "gamma": ([POS], (0,), {}),
    "rgamma": ([POS], (0,), {}), "psi": ([POS], (0,), {}), "digamma": ([POS], (0,), {}),
    "polygamma": ([1, POS], (1,), {}), "gammasgn": ([POS], (0,), {}), "multigammaln": ([U(2.0, 4.0), 3], (0,), {}),
    "beta": ([POS, POS], (0, 1), {}), "betaln": ([POS, POS], (0, 1), {}),
    "betainc": ([U(1.0, 3.0), U(1.0, 3.0), UNIT], (2,), {}),
    "gammainc": ([U(1.0, 3.0), POS], (1,), {}), "gammaincc": ([U(1.0, 3.0), POS], (1,), {}),
    "zeta": ([U(2.0, 4.0), POS], (1,), {}),
    "erf": ([REAL], (0,), {}), "erfc": ([REAL], (0,), {}), "erfi": ([REAL], (0,), {}), "erfcx": ([REAL], (0,), {}),
    "erfinv": ([U(-0.8, 0.8)], (0,), {}), "erfcinv": ([U(0.2, 1.8)], (0,), {}), "dawsn": ([REAL], (0,), {}),
    "ndtr": ([REAL], (0,), {}), "log_ndtr": ([U(-4.0, 2.0)], (0,), {}), "ndtri": ([UNIT], (0,), {}),
    "expit": ([REAL], (0,), {}), "logit": ([UNIT], (0,), {}), "log_expit": ([REAL], (0,), {}),
    "expm1": ([REAL], (0,), {}), "log1p": ([U(-0.5, 2.0)], (0,), {}), "exp2": ([REAL], (0,), {}),
    "exp10": ([U(-1.0, 1.0)], (0,), {}), "cbrt": ([POS], (0,), {}), "expi": ([POS], (0,), {}),
    "exp1": ([POS], (0,), {}), "entr": ([POS], (0,), {}),
    "xlogy": ([POS, POS], (0, 1), {}), "xlog1py": ([POS, POS], (0, 1), {}), "rel_entr": ([POS, POS], (0, 1), {}),
    "kl_div": ([POS, POS], (0, 1), {}), "boxcox": ([POS, 0.7], (0,), {}), "boxcox1p": ([POS, 0.7], (0,), {}),
    "ellipk": ([UNIT], (0,), {}), "ellipe": ([UNIT], (0,), {}),
    "j0": ([POS], (0,), {}), "j1": ([POS], (0,), {}), "y0": ([POS], (0,), {}), "y1": ([POS], (0,), {}),
    "jn": ([2, POS], (1,), {}), "yn": ([2, POS], (1,), {}), "jv": ([1.5, POS], (1,), {}),
    "yv": ([1.5, POS], (1,), {}), "i0": ([REAL], (0,), {}), "i1": ([REAL], (0,), {}),
    "iv": ([1.5, POS], (1,), {}), "ive": ([1.5, POS], (1,), {}), "i0e": ([away(0.3, 2.0)], (0,), {}),
    "i1e": ([away(0.3, 2.0)], (0,), {}), "k0": ([POS], (0,), {}), "k1": ([POS], (0,), {}),
    "kv": ([1.5, POS], (1,), {}), "k0e": ([POS], (0,), {}), "k1e": ([POS], (0,), {}),
    "kve": ([1.5, POS], (1,), {}),
    "logsumexp": ([U(-2.0, 2.0, (3, 4))], (0,), {"axis": 1}),
    "softmax": ([U(-2.0, 2.0, (3, 4))], (0,), {"axis": 1}),
    "log_softmax": ([U(-2.0, 2.0, (3, 4))], (0,), {"axis": 1}),
}
# variants beyond the first: keyword forms and tuple results
EXTRA = [
    ("logsumexp", [U(-2.0, 2.0, (3, 4)), U(0.5, 2.0, (3, 4))], (0, 1), {}),
    ("logsumexp", [U(-2.0, 2.0, (3, 4))], (0,), {"axis": (0, 1), "keepdims": True}),
    ("softmax", [U(-2.0, 2.0, (3, 4))], (0,), {}),
]
# autograd 1.7 has these; its rules are the oracle (its gammasgn has no rule, its ive is slow to second order)
AUTOGRAD = {n for n in CASES if hasattr(asp, n)} - {"gammasgn", "softmax", "log_softmax", "log_expit"}


def _draw(gens, rng):
    return [g(rng) if callable(g) else g for g in gens]


def _rng(name):
    return onp.random.default_rng(zlib.crc32(name.encode()))


def _fun(name):
    return getattr(isp, name)


def _as_positional(name, gens, kwargs):
    """logsumexp's ``b`` is a keyword in SciPy: the FD checker differentiates positional arguments."""
    if name == "logsumexp" and len(gens) == 2:
        return lambda a, b, **kw: isp.logsumexp(a, b=b, **kw)
    return _fun(name)


ALL = [(n, *CASES[n]) for n in sorted(CASES)] + EXTRA
IDS = [f"{c[0]}-{i}" for i, c in enumerate(ALL)]


@pytest.mark.parametrize("name,gens,argnums,kwargs", ALL, ids=IDS)
def test_values(name, gens, argnums, kwargs):
    args = _draw(gens, _rng(name))
    fun = _as_positional(name, gens, kwargs)
    ref = (lambda a, b, **kw: scipy.special.logsumexp(a, b=b, **kw)) if fun is not _fun(name) \
        else getattr(scipy.special, name)
    same_values(fun, ref, args, kwargs)


@pytest.mark.parametrize("name,gens,argnums,kwargs", ALL, ids=IDS)
def test_gradients_finite_differences(name, gens, argnums, kwargs):
    rng = _rng(name)
    args = _draw(gens, rng)
    check_grads(_as_positional(name, gens, kwargs), tuple(args), kwargs, argnums, order=2, rng=rng,
                rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(AUTOGRAD))
def test_gradients_equal_autograds(name):
    gens, argnums, kwargs = CASES[name]
    rng = _rng(name)
    against_autograd(_fun(name), getattr(asp, name), _draw(gens, rng), kwargs, argnums, order=2, rng=rng)


def test_float32_stays_float32():
    x = onp.linspace(0.5, 2.0, 4, dtype=onp.float32)
    for name in ("gammaln", "erf", "expit", "i0"):
        same_values(_fun(name), getattr(scipy.special, name), [x])


def test_every_rule_has_a_case():
    rules = {n.split(".", 1)[1] for n in TABLE if n.startswith("special.")}
    assert rules == set(CASES), f"rules without cases: {rules - set(CASES)}; cases without rules: {set(CASES) - rules}"
