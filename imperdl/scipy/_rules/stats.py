"""Gradient rules for ``scipy.stats`` distributions, generated per family from two facts about it.

A continuous location-scale family is ``logpdf(x; shapes, loc, scale) = logpdf0(z; shapes) - log(scale)`` with
``z = (x - loc) / scale``. Given the standardized log-density's derivative in ``z`` (``dz``) and, where it has a
closed form, in each shape parameter, the rules of ``logpdf``, ``pdf``, ``cdf``, ``logcdf``, ``sf`` and ``logsf``
with respect to ``x``, ``loc``, ``scale`` (and the shapes, for the densities) follow by the chain rule, so one table
row per family gives them all. The cdf's derivative in ``z`` is the standardized density, evaluated with the
imperdl primitive of the family's own ``pdf``: its rule is in this table too, so higher orders follow.
"""
from __future__ import annotations

import numpy as onp

from ...core.tape import NoGradientError
from . import defgrad


def _np():
    import imperdl.numpy as np

    return np


def _sp():
    import imperdl.scipy.special as sp

    return sp


def _stats():
    import imperdl.scipy.stats as st

    return st


def _z(x, loc, scale):
    return (x - loc) / scale


def location_scale(family: str, shapes: tuple, dz, dshapes: dict) -> None:
    """Rules for every density and distribution method of ``scipy.stats.<family>``.

    ``dz(z, *shapes)``: d logpdf0 / dz; ``dshapes[name](z, *shapes)``: d logpdf0 / d shape (densities only).
    """
    params = " ".join(("x",) + shapes + ("loc=0", "scale=1"))

    def shape_values(kw):
        return [kw[s] for s in shapes]

    def density(times_ans):
        def weight(g, ans):
            return g * ans if times_ans else g

        def rx(g, ans, x, loc, scale, **kw):
            return weight(g, ans) * dz(_z(x, loc, scale), *shape_values(kw)) / scale

        def rloc(g, ans, x, loc, scale, **kw):
            return -weight(g, ans) * dz(_z(x, loc, scale), *shape_values(kw)) / scale

        def rscale(g, ans, x, loc, scale, **kw):
            z = _z(x, loc, scale)
            return -weight(g, ans) * (dz(z, *shape_values(kw)) * z + 1.0) / scale

        def rshape(d):
            return lambda g, ans, x, loc, scale, **kw: weight(g, ans) * d(_z(x, loc, scale), *shape_values(kw))

        return dict(x=rx, loc=rloc, scale=rscale, **{s: rshape(d) for s, d in dshapes.items()})

    def distribution(sign, ratio_to):
        """cdf-like methods: d/dz is ``sign * pdf0(z)``, divided by ``ratio_to(z)`` for the log forms."""

        def slope(x, loc, scale, kw):
            dist = getattr(_stats(), family)
            z = _z(x, loc, scale)
            sh = shape_values(kw)
            if ratio_to is None:
                return sign * dist.pdf(z, *sh), z
            return sign * _np().exp(dist.logpdf(z, *sh) - getattr(dist, ratio_to)(z, *sh)), z

        def rx(g, ans, x, loc, scale, **kw):
            return g * slope(x, loc, scale, kw)[0] / scale

        def rloc(g, ans, x, loc, scale, **kw):
            return -g * slope(x, loc, scale, kw)[0] / scale

        def rscale(g, ans, x, loc, scale, **kw):
            s, z = slope(x, loc, scale, kw)
            return -g * s * z / scale

        return dict(x=rx, loc=rloc, scale=rscale)

    defgrad(f"stats.{family}.logpdf", params, **density(False))
    defgrad(f"stats.{family}.pdf", params, **density(True))
    defgrad(f"stats.{family}.cdf", params, **distribution(1.0, None))
    defgrad(f"stats.{family}.sf", params, **distribution(-1.0, None))
    defgrad(f"stats.{family}.logcdf", params, **distribution(1.0, "logcdf"))
    defgrad(f"stats.{family}.logsf", params, **distribution(-1.0, "logsf"))


def _t_ddf(z, df):
    np, sp = _np(), _sp()
    z2 = z * z
    return 0.5 * (z2 * (df + 1.0) / (df * (z2 + df)) - np.log1p(z2 / df) - 1.0 / df
                  - sp.psi(df / 2.0) + sp.psi((df + 1.0) / 2.0))


location_scale("norm", (), lambda z: -z, {})
location_scale("t", ("df",), lambda z, df: -z * (df + 1.0) / (z * z + df), {"df": _t_ddf})
location_scale("gamma", ("a",), lambda z, a: (a - 1.0) / z - 1.0,
               {"a": lambda z, a: _np().log(z) - _sp().psi(a)})
location_scale("beta", ("a", "b"), lambda z, a, b: (a - 1.0) / z - (b - 1.0) / (1.0 - z),
               {"a": lambda z, a, b: _np().log(z) - _sp().psi(a) + _sp().psi(a + b),
                "b": lambda z, a, b: _np().log1p(-z) - _sp().psi(b) + _sp().psi(a + b)})
location_scale("chi2", ("df",), lambda z, df: (df / 2.0 - 1.0) / z - 0.5,
               {"df": lambda z, df: 0.5 * (_np().log(z / 2.0) - _sp().psi(df / 2.0))})
location_scale("expon", (), lambda z: -_np().ones_like(z), {})
location_scale("laplace", (), lambda z: -_np().sign(z), {})
location_scale("logistic", (), lambda z: -_np().tanh(z / 2.0), {})
location_scale("cauchy", (), lambda z: -2.0 * z / (1.0 + z * z), {})


# ------------------------------------------------------------------------------------------------ Poisson
def _poisson_dlogpmf(k, mu, loc):
    """d logpmf / d mu; zero where k - loc is not an integer (the pmf is zero there)."""
    np = _np()
    j = onp.asarray(k) - onp.asarray(loc)
    return np.where(j % 1 == 0, j / mu - 1.0, 0.0)



_PMF = "k mu loc=0"
defgrad("stats.poisson.logpmf", _PMF, mu=lambda g, ans, k, mu, loc, **_: g * _poisson_dlogpmf(k, mu, loc))
defgrad("stats.poisson.pmf", _PMF, mu=lambda g, ans, k, mu, loc, **_: g * ans * _poisson_dlogpmf(k, mu, loc))


def _poisson_tail(sign, log_of):
    """d cdf / d mu = -pmf(floor(k - loc), mu); sf is its negative; the log forms divide by the value."""

    def rule(g, ans, k, mu, loc, **_):
        st, np = _stats(), _np()
        j = onp.floor(onp.asarray(k) - onp.asarray(loc))
        if log_of is None:
            return -sign * g * st.poisson.pmf(j, mu)
        return -sign * g * np.exp(st.poisson.logpmf(j, mu) - getattr(st.poisson, log_of)(k, mu, loc))

    return rule


defgrad("stats.poisson.cdf", _PMF, mu=_poisson_tail(1.0, None))
defgrad("stats.poisson.sf", _PMF, mu=_poisson_tail(-1.0, None))
defgrad("stats.poisson.logcdf", _PMF, mu=_poisson_tail(1.0, "logcdf"))
defgrad("stats.poisson.logsf", _PMF, mu=_poisson_tail(-1.0, "logsf"))


# ------------------------------------------------------------------------------------------------ Dirichlet
def _dirichlet(times_ans):
    """x is (K,) or (K, N) with one sample per column; alpha is (K,)."""

    def weight(g, ans):
        return g * ans if times_ans else g

    def rx(g, ans, x, alpha, **_):
        np = _np()
        a = np.expand_dims(alpha, -1) if x.ndim == 2 else alpha
        return weight(g, ans) * (a - 1.0) / x

    def ralpha(g, ans, x, alpha, **_):
        np, sp = _np(), _sp()
        w = weight(g, ans)
        common = sp.digamma(np.sum(alpha)) - sp.digamma(alpha)
        if x.ndim == 2:
            return common * np.sum(w) + np.sum(w * np.log(x), axis=-1)
        return w * (common + np.log(x))

    return dict(x=rx, alpha=ralpha)


defgrad("stats.dirichlet.logpdf", "x alpha", **_dirichlet(False))
defgrad("stats.dirichlet.pdf", "x alpha", **_dirichlet(True))


# -------------------------------------------------------------------------------------- multivariate normal
def _mvn_setup(g, ans, x, mean, cov, allow_singular, times_ans):
    """Rows of ``x`` as (n, d), the per-row cotangent (n,), and S = cov^-1 (x - mean) as (n, d)."""
    np = _np()
    if allow_singular:
        raise NoGradientError("imperdl.scipy.stats.multivariate_normal: no gradient with allow_singular=True")
    if getattr(cov, "ndim", 0) != 2:
        raise NoGradientError("imperdl.scipy.stats.multivariate_normal: gradients need cov as a 2-D matrix "
                              f"(got shape {getattr(cov, 'shape', ())})")
    d = cov.shape[-1]
    rows = np.reshape(x, (-1, d))
    w = np.reshape(g * ans if times_ans else g, (-1,))
    diff = rows - mean if mean is not None else rows
    s = np.swapaxes(np.linalg.solve(cov, np.swapaxes(diff, 0, 1)), 0, 1)
    return w, s


def _mvn(times_ans):
    def rx(g, ans, x, mean, cov, allow_singular, **_):
        w, s = _mvn_setup(g, ans, x, mean, cov, allow_singular, times_ans)
        return _np().reshape(-_np().expand_dims(w, -1) * s, x.shape)

    def rmean(g, ans, x, mean, cov, allow_singular, **_):
        w, s = _mvn_setup(g, ans, x, mean, cov, allow_singular, times_ans)
        return _np().sum(_np().expand_dims(w, -1) * s, axis=0)

    def rcov(g, ans, x, mean, cov, allow_singular, **_):
        np = _np()
        w, s = _mvn_setup(g, ans, x, mean, cov, allow_singular, times_ans)
        return 0.5 * (np.matmul(np.swapaxes(s, 0, 1), np.expand_dims(w, -1) * s) - np.sum(w) * np.linalg.inv(cov))

    return dict(x=rx, mean=rmean, cov=rcov)


_MVN = "x mean=None cov=1 allow_singular=False"
defgrad("stats.multivariate_normal.logpdf", _MVN, **_mvn(False))
defgrad("stats.multivariate_normal.pdf", _MVN, **_mvn(True))
defgrad("stats.multivariate_normal.entropy", "mean=None cov=1 allow_singular=False",
        cov=lambda g, ans, mean, cov, **_: 0.5 * g * _np().swapaxes(_np().linalg.inv(cov), -1, -2))
