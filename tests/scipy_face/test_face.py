"""The SciPy face itself: every SciPy name is reachable and runs on Arrays; a name without a rule works without
gradients and refuses, naming itself, when differentiated; statistics count SciPy calls like NumPy's."""
from __future__ import annotations

import numpy as onp
import pytest
import scipy.ndimage
import scipy.special
import scipy.stats

import imperdl
import imperdl.numpy as inp
import imperdl.scipy as isc
import imperdl.scipy.special as isp
import imperdl.scipy.stats as ist
from imperdl.core import NoGradientError, grad
from imperdl.core.array import Array


def test_unlisted_names_run_on_arrays():
    x = onp.linspace(0.2, 2.0, 6)
    r = isp.struve(1.0, inp.array(x))  # no rule: plain SciPy on the host values
    assert type(r) is Array
    onp.testing.assert_array_equal(r.asnumpy(), scipy.special.struve(1.0, x))
    img = onp.arange(20.0).reshape(4, 5)
    out = isc.ndimage.gaussian_filter(inp.array(img), 1.0)  # a submodule without a table of its own
    onp.testing.assert_array_equal(out.asnumpy(), scipy.ndimage.gaussian_filter(img, 1.0))
    assert isp.comb(5, 2) == scipy.special.comb(5, 2)
    assert float(ist.norm.ppf(0.975)) == scipy.stats.norm.ppf(0.975)


def test_differentiating_a_name_without_a_rule_names_it():
    with pytest.raises(NoGradientError, match=r"imperdl\.scipy\.special\.struve has no gradient rule"):
        grad(lambda x: inp.sum(isp.struve(1.0, x)))(inp.array([0.5, 1.0]))


def test_argument_without_a_rule_names_the_parameter():
    with pytest.raises(NoGradientError, match=r"imperdl\.scipy\.stats\.t\.cdf: no gradient .* 'df'"):
        grad(lambda df: inp.sum(ist.t.cdf(inp.array([0.1, 0.4]), df)))(inp.array(3.0))


def test_constant_inputs_need_no_rule():
    """A rule-less name applied to values the tape does not trace is simply computed inside a gradient."""
    def f(x):
        return inp.sum(x * isp.struve(1.0, inp.array([0.5, 1.0])))

    onp.testing.assert_allclose(grad(f)(inp.array([1.0, 2.0])).asnumpy(), scipy.special.struve(1.0, [0.5, 1.0]))


def test_random_draws_are_constants():
    x = inp.array(0.5)
    g = grad(lambda m: m + inp.sum(ist.norm.rvs(size=3, random_state=0)))(x)
    assert float(g) == 1.0


def test_names_and_errors():
    assert "gammaln" in dir(isp) and "norm" in dir(ist)
    assert isp.psi is isp.digamma or isp.psi.vjp is isp.digamma.vjp
    with pytest.raises(AttributeError, match="scipy.special.no_such_thing does not exist"):
        isp.no_such_thing  # noqa: B018
    with pytest.raises(ValueError, match=r"imperdl\.scipy\.special\.logsumexp\(float64\[2, 3\]"):
        isp.logsumexp(inp.ones((2, 3)), axis=5)


def test_statistics_count_scipy_calls():
    imperdl.reset_statistics()
    isp.gammaln(inp.array([1.5, 2.5]))
    assert imperdl.statistics()["ops"]["scipy.special.gammaln"]["numpy"] == 1


def test_docs_page_lists_the_rule_table():
    import pathlib
    import re

    import imperdl.scipy.integrate  # noqa: F401  (each submodule loads its table)
    import imperdl.scipy.linalg  # noqa: F401
    import imperdl.scipy.signal  # noqa: F401
    from imperdl.scipy._rules import TABLE

    page = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "scipy.md").read_text()
    rows = dict(re.findall(r"^\| `([\w.]+)` \| (.*) \|$", page, flags=re.M))
    assert set(rows) == set(TABLE)
    for name, params in TABLE.items():
        assert rows[name] == ", ".join(f"`{p}`" for p in params), name


def test_distributions_import_as_modules_as_under_autograd():
    """autograd's examples write ``import autograd.scipy.stats.multivariate_normal as mvn`` and
    ``from autograd.scipy.stats.norm import logpdf``: the same statements work with imperdl, and give the same values
    as SciPy (and gradients, since they are the face's primitives)."""
    import imperdl.scipy.stats.multivariate_normal as mvn
    import imperdl.scipy.stats.norm as norm
    from imperdl.scipy.stats.t import logpdf as t_logpdf

    x = onp.array([[0.3, -1.2], [1.5, 0.2]])
    mean, cov = onp.array([0.1, -0.4]), onp.array([[1.0, 0.3], [0.3, 2.0]])
    expected = scipy.stats.multivariate_normal.logpdf(x, mean, cov)
    onp.testing.assert_allclose(onp.asarray(mvn.logpdf(x, mean, cov)), expected)
    onp.testing.assert_allclose(onp.asarray(t_logpdf(x, 3.0)), scipy.stats.t.logpdf(x, 3.0))
    g = grad(lambda m: inp.sum(norm.logpdf(x, m, 2.0)))(0.5)
    onp.testing.assert_allclose(float(g), onp.sum((x - 0.5) / 4.0))
    # a name SciPy's stats does not have is still an import error naming it
    with pytest.raises(ImportError, match="nosuchdist"):
        import imperdl.scipy.stats.nosuchdist  # noqa: F401
