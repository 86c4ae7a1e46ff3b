"""imperdl.scipy.stats: values equal SciPy's and every rule's gradients pass float64 finite differences to second
order, with loc/scale as SciPy takes them; where HIPS autograd has the function, its gradients are the oracle."""
from __future__ import annotations

import zlib

import autograd.scipy.stats as ast
import numpy as onp
import pytest
import scipy.stats
from gradients.checker import check_grads

import imperdl.numpy as inp
import imperdl.scipy.stats as ist
from imperdl.scipy._rules import TABLE

from .oracle import against_autograd, same_values

# family -> (x range, shape parameter ranges); loc=0.1, scale=1.3 keep z inside the support for these x
FAMILIES = {
    "norm": ((-1.5, 1.5), ()), "t": ((-1.5, 1.5), ((2.0, 5.0),)), "gamma": ((0.5, 2.5), ((1.5, 3.0),)),
    "beta": ((0.35, 0.8), ((1.5, 3.0), (1.5, 3.0))), "chi2": ((0.5, 2.5), ((2.5, 5.0),)),
    "expon": ((0.5, 2.5), ()), "laplace": ((0.4, 2.0), ()), "logistic": ((-1.5, 1.5), ()),
    "cauchy": ((-1.5, 1.5), ()),
}
METHODS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
LOC, SCALE = 0.1, 1.3


def _rng(*key):
    return onp.random.default_rng(zlib.crc32("/".join(map(str, key)).encode()))


def _args(family, rng):
    (lo, hi), shapes = FAMILIES[family]
    x = rng.uniform(lo, hi, (4,))
    return [x] + [rng.uniform(a, b, (4,)) for a, b in shapes] + [onp.array(LOC), onp.array(SCALE)]


CONTINUOUS = [(f, m) for f in sorted(FAMILIES) for m in METHODS]


@pytest.mark.parametrize("family,method", CONTINUOUS)
def test_continuous(family, method):
    rng = _rng(family, method)
    args = _args(family, rng)
    fun = getattr(getattr(ist, family), method)
    same_values(fun, getattr(getattr(scipy.stats, family), method), args)
    n = len(args)  # x, shape parameters, loc, scale; shape parameters have rules in the densities only
    shapes = tuple(range(1, n - 2)) if method in ("logpdf", "pdf") else ()
    diff = (0,) + shapes + (n - 2, n - 1)
    check_grads(fun, tuple(args), {}, diff, order=2, rng=rng, rtol=2e-5, atol=1e-6)


def test_keywords_equal_positional():
    """loc/scale by keyword reach the same rule as positionally (rules are keyed by parameter name)."""
    rng = _rng("kw")
    x, loc, scale = rng.uniform(-1, 1, (4,)), onp.array(0.2), onp.array(1.4)
    check_grads(lambda x, loc, scale: ist.norm.logcdf(x, scale=scale, loc=loc), (x, loc, scale), {}, (0, 1, 2),
                order=2, rng=rng)
    check_grads(lambda x, df, scale: ist.t.logpdf(x, df=df, scale=scale), (x, onp.array(3.0), scale), {}, (0, 1, 2),
                order=2, rng=rng)


# autograd's own signatures: norm and t take loc/scale, the others only the shape parameters
AUTOGRAD = [
    ("norm", m, 3, (0, 1, 2)) for m in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
] + [("t", "logpdf", 4, (0, 1, 2, 3)), ("t", "pdf", 4, (0, 1, 2, 3)), ("t", "cdf", 4, (0, 2)),
     ("t", "logcdf", 4, (0, 2)), ("gamma", "logpdf", 2, (0, 1)), ("gamma", "pdf", 2, (0, 1)),
     ("gamma", "cdf", 2, (0,)), ("beta", "logpdf", 3, (0, 1, 2)), ("beta", "pdf", 3, (0, 1, 2)),
     ("beta", "cdf", 3, (0,)), ("chi2", "logpdf", 2, (0,)), ("chi2", "pdf", 2, (0,)), ("chi2", "cdf", 2, (0,))]


@pytest.mark.parametrize("family,method,nargs,argnums", AUTOGRAD)
def test_equal_autograds(family, method, nargs, argnums):
    rng = _rng("ag", family, method)
    args = _args(family, rng)[:nargs]
    if family == "chi2":
        args[1] = onp.array([3.0, 4.0, 5.0, 6.0])  # autograd's chi2 rule is right for integer df only
    against_autograd(getattr(getattr(ist, family), method), getattr(getattr(ast, family), method), args, {},
                     argnums, order=2, rng=rng)


def test_poisson():
    rng = _rng("poisson")
    k, mu = onp.array([0.0, 1.0, 3.0, 4.0]), rng.uniform(1.0, 3.0, (4,))
    for method in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"):
        fun = getattr(ist.poisson, method)
        same_values(fun, getattr(scipy.stats.poisson, method), [k, mu])
        check_grads(fun, (k, mu), {}, (1,), order=2, rng=rng)
    for method in ("logpmf", "pmf", "cdf"):
        against_autograd(getattr(ist.poisson, method), getattr(ast.poisson, method), [k, mu], {}, (1,), rng=rng)


def test_dirichlet():
    rng = _rng("dirichlet")
    x = rng.dirichlet([2.0, 3.0, 4.0])
    alpha = rng.uniform(1.5, 3.0, (3,))
    for method in ("logpdf", "pdf"):
        same_values(getattr(ist.dirichlet, method), getattr(scipy.stats.dirichlet, method), [x, alpha])
        against_autograd(getattr(ist.dirichlet, method), getattr(ast.dirichlet, method), [x, alpha], {}, (0, 1),
                         rng=rng)
    xs = rng.dirichlet([2.0, 3.0, 4.0], size=5).T  # (K, N): one sample per column
    check_grads(ist.dirichlet.logpdf, (xs, alpha), {}, (1,), order=2, rng=rng)
    # x moves off the simplex under finite differences: check its rule through a normalisation
    check_grads(lambda v, a: ist.dirichlet.logpdf(v / inp.sum(v, axis=0), a), (xs, alpha), {}, (0,), order=2,
                rng=rng)


def test_multivariate_normal():
    rng = _rng("mvn")
    m = rng.standard_normal((3, 3))
    cov = m @ m.T + 3 * onp.eye(3)
    mean = rng.standard_normal(3)
    x = rng.standard_normal((5, 3))
    for method in ("logpdf", "pdf"):
        fun = getattr(ist.multivariate_normal, method)
        same_values(fun, getattr(scipy.stats.multivariate_normal, method), [x, mean, cov])
        against_autograd(fun, getattr(ast.multivariate_normal, method), [x, mean, cov], {}, (0, 1, 2), rng=rng)
        # one point (a scalar result); cov symmetrised, as the density reads only its symmetric part
        check_grads(lambda x, mu, c, fun=fun: fun(x, mu, (c + c.T) / 2), (x[0], mean, cov), {}, (0, 1, 2), order=2,
                    rng=rng)
    against_autograd(ist.multivariate_normal.entropy, ast.multivariate_normal.entropy, [mean, cov], {}, (1,),
                     rng=rng)


def test_frozen_distribution():
    rng = _rng("frozen")
    x = rng.uniform(-1, 1, (4,))
    check_grads(lambda x, s: ist.norm(0.3, s).logpdf(x), (x, onp.array(1.7)), {}, (0, 1), order=2, rng=rng)
    same_values(lambda x: ist.t(3.0, scale=2.0).cdf(x), lambda x: scipy.stats.t(3.0, scale=2.0).cdf(x), [x])


def test_every_rule_has_a_case():
    covered = {f"stats.{f}.{m}" for f, m in CONTINUOUS}
    covered |= {f"stats.poisson.{m}" for m in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")}
    covered |= {"stats.dirichlet.logpdf", "stats.dirichlet.pdf", "stats.multivariate_normal.logpdf",
                "stats.multivariate_normal.pdf", "stats.multivariate_normal.entropy"}
    assert {n for n in TABLE if n.startswith("stats.")} == covered
