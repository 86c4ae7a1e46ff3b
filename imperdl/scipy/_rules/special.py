"""Gradient rules for ``scipy.special``: each derivative written with imperdl primitives (often other special
functions: the derivative of ``digamma`` is ``polygamma(1, .)``, of ``polygamma(n, .)`` is ``polygamma(n + 1, .)``),
so every order is available. Order parameters (``n``, ``v``) and integer arguments carry no gradient.
"""
from __future__ import annotations

import math

import numpy as onp

from ...core.rules.util import reduced_like
from . import defgrad

SQRT_PI = math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)


def _np():
    import imperdl.numpy as np

    return np


def _sp():
    import imperdl.scipy.special as sp

    return sp


def unary(name: str, deriv) -> None:
    """``name(x)`` with derivative ``deriv(ans, x)``."""
    defgrad(name, "x", x=lambda g, ans, x, **_: g * deriv(ans, x))


def of_order(name: str, deriv, order: str = "v") -> None:
    """``name(v, x)``: an order parameter (no gradient) then the argument, derivative ``deriv(ans, v, x)``."""
    defgrad(name, f"{order} x", x=lambda g, ans, x, **kw: g * deriv(ans, kw[order], x))


# ------------------------------------------------------------------------------------------------ gamma family
unary("special.gammaln", lambda ans, x: _sp().psi(x))
unary("special.loggamma", lambda ans, x: _sp().psi(x))
unary("special.gamma", lambda ans, x: ans * _sp().psi(x))
unary("special.rgamma", lambda ans, x: -ans * _sp().psi(x))
unary("special.psi", lambda ans, x: _sp().polygamma(1, x))
unary("special.digamma", lambda ans, x: _sp().polygamma(1, x))
of_order("special.polygamma", lambda ans, n, x: _sp().polygamma(n + 1, x), order="n")
unary("special.gammasgn", lambda ans, x: _np().zeros_like(x))


def _multigammaln(g, ans, a, d, **_):
    np = _np()
    return g * np.sum(_sp().digamma(np.expand_dims(a, -1) - onp.arange(d) / 2.0), axis=-1)


defgrad("special.multigammaln", "a d", a=_multigammaln)
defgrad("special.beta", "a b",
        a=lambda g, ans, a, b, **_: g * ans * (_sp().psi(a) - _sp().psi(a + b)),
        b=lambda g, ans, a, b, **_: g * ans * (_sp().psi(b) - _sp().psi(a + b)))
defgrad("special.betaln", "a b",
        a=lambda g, ans, a, b, **_: g * (_sp().psi(a) - _sp().psi(a + b)),
        b=lambda g, ans, a, b, **_: g * (_sp().psi(b) - _sp().psi(a + b)))


def _betainc_x(g, ans, a, b, x, **_):
    np = _np()
    return g * np.power(x, a - 1) * np.power(1 - x, b - 1) / _sp().beta(a, b)


defgrad("special.betainc", "a b x", x=_betainc_x)


def _gammainc_x(sign):
    def rule(g, ans, a, x, **_):
        np = _np()
        return sign * g * np.exp(-x) * np.power(x, a - 1) / _sp().gamma(a)

    return rule


defgrad("special.gammainc", "a x", x=_gammainc_x(1.0))
defgrad("special.gammaincc", "a x", x=_gammainc_x(-1.0))
defgrad("special.zeta", "x q=None", q=lambda g, ans, x, q, **_: -g * x * _sp().zeta(x + 1, q))

# ------------------------------------------------------------------------------------- error function family
unary("special.erf", lambda ans, x: (2.0 / SQRT_PI) * _np().exp(-x * x))
unary("special.erfc", lambda ans, x: (-2.0 / SQRT_PI) * _np().exp(-x * x))
unary("special.erfi", lambda ans, x: (2.0 / SQRT_PI) * _np().exp(x * x))
unary("special.erfcx", lambda ans, x: 2.0 * x * ans - 2.0 / SQRT_PI)
unary("special.erfinv", lambda ans, x: (SQRT_PI / 2.0) * _np().exp(ans * ans))
unary("special.erfcinv", lambda ans, x: (-SQRT_PI / 2.0) * _np().exp(ans * ans))
unary("special.dawsn", lambda ans, x: 1.0 - 2.0 * x * ans)
unary("special.ndtr", lambda ans, x: _np().exp(-0.5 * x * x) / SQRT_2PI)
unary("special.log_ndtr", lambda ans, x: _np().exp(-0.5 * x * x - ans) / SQRT_2PI)
unary("special.ndtri", lambda ans, x: SQRT_2PI * _np().exp(0.5 * ans * ans))

# -------------------------------------------------------------------------------------- logistic, logs, exps
unary("special.expit", lambda ans, x: ans * (1.0 - ans))
unary("special.logit", lambda ans, x: 1.0 / (x * (1.0 - x)))
unary("special.log_expit", lambda ans, x: _sp().expit(-x))
unary("special.expm1", lambda ans, x: ans + 1.0)
unary("special.log1p", lambda ans, x: 1.0 / (1.0 + x))
unary("special.exp2", lambda ans, x: math.log(2.0) * ans)
unary("special.exp10", lambda ans, x: math.log(10.0) * ans)
unary("special.cbrt", lambda ans, x: 1.0 / (3.0 * ans * ans))
unary("special.expi", lambda ans, x: _np().exp(x) / x)
unary("special.exp1", lambda ans, x: -_np().exp(-x) / x)
unary("special.entr", lambda ans, x: -_np().log(x) - 1.0)
defgrad("special.xlogy", "x y",
        x=lambda g, ans, x, y, **_: g * _np().log(y),
        y=lambda g, ans, x, y, **_: g * x / y)
defgrad("special.xlog1py", "x y",
        x=lambda g, ans, x, y, **_: g * _np().log1p(y),
        y=lambda g, ans, x, y, **_: g * x / (1.0 + y))
defgrad("special.rel_entr", "x y",
        x=lambda g, ans, x, y, **_: g * (_np().log(x) - _np().log(y) + 1.0),
        y=lambda g, ans, x, y, **_: -g * x / y)
defgrad("special.kl_div", "x y",
        x=lambda g, ans, x, y, **_: g * (_np().log(x) - _np().log(y)),
        y=lambda g, ans, x, y, **_: g * (1.0 - x / y))
defgrad("special.boxcox", "x lmbda", x=lambda g, ans, x, lmbda, **_: g * _np().power(x, lmbda - 1.0))
defgrad("special.boxcox1p", "x lmbda", x=lambda g, ans, x, lmbda, **_: g * _np().power(1.0 + x, lmbda - 1.0))
unary("special.ellipk", lambda ans, m: (_sp().ellipe(m) - (1.0 - m) * ans) / (2.0 * m * (1.0 - m)))
unary("special.ellipe", lambda ans, m: (ans - _sp().ellipk(m)) / (2.0 * m))

# -------------------------------------------------------------------------------------------- Bessel family
unary("special.j0", lambda ans, x: -_sp().j1(x))
unary("special.j1", lambda ans, x: (_sp().j0(x) - _sp().jn(2, x)) / 2.0)
unary("special.y0", lambda ans, x: -_sp().y1(x))
unary("special.y1", lambda ans, x: (_sp().y0(x) - _sp().yn(2, x)) / 2.0)
of_order("special.jn", lambda ans, n, x: (_sp().jn(n - 1, x) - _sp().jn(n + 1, x)) / 2.0, order="n")
of_order("special.yn", lambda ans, n, x: (_sp().yn(n - 1, x) - _sp().yn(n + 1, x)) / 2.0, order="n")
of_order("special.jv", lambda ans, v, x: (_sp().jv(v - 1, x) - _sp().jv(v + 1, x)) / 2.0)
of_order("special.yv", lambda ans, v, x: (_sp().yv(v - 1, x) - _sp().yv(v + 1, x)) / 2.0)
unary("special.i0", lambda ans, x: _sp().i1(x))
unary("special.i1", lambda ans, x: (_sp().i0(x) + _sp().iv(2, x)) / 2.0)
of_order("special.iv", lambda ans, v, x: (_sp().iv(v - 1, x) + _sp().iv(v + 1, x)) / 2.0)
unary("special.i0e", lambda ans, x: _sp().i1e(x) - _np().sign(x) * ans)
unary("special.i1e", lambda ans, x: (_sp().i0e(x) + _sp().ive(2, x)) / 2.0 - _np().sign(x) * ans)
of_order("special.ive", lambda ans, v, x: (_sp().ive(v - 1, x) + _sp().ive(v + 1, x)) / 2.0 - _np().sign(x) * ans)
unary("special.k0", lambda ans, x: -_sp().k1(x))
unary("special.k1", lambda ans, x: -(_sp().k0(x) + _sp().kv(2, x)) / 2.0)
of_order("special.kv", lambda ans, v, x: -(_sp().kv(v - 1, x) + _sp().kv(v + 1, x)) / 2.0)
unary("special.k0e", lambda ans, x: ans - _sp().k1e(x))
unary("special.k1e", lambda ans, x: ans - (_sp().k0e(x) + _sp().kve(2, x)) / 2.0)
of_order("special.kve", lambda ans, v, x: ans - (_sp().kve(v - 1, x) + _sp().kve(v + 1, x)) / 2.0)


# ------------------------------------------------------------------------------------------------ reductions
def _full(g, ans, a, axis, keepdims):
    """The cotangent and result of a reduction over ``axis``, broadcast back to ``a``'s shape."""
    return reduced_like(g, a, axis, keepdims), reduced_like(ans, a, axis, keepdims)


def _lse_parts(g, ans, a, axis, keepdims, return_sign):
    """``(g, exp(a - logsumexp))`` on ``a``'s shape; with ``return_sign`` the sign joins the weight (d log|s|)."""
    np = _np()
    if return_sign:
        (g, _), (ans, sign) = g, ans
        g = g * sign
    gf, af = _full(g, ans, a, axis, keepdims)
    return gf, np.exp(a - af)


def _lse_a(g, ans, a, axis=None, b=None, keepdims=False, return_sign=False, **_):
    gf, w = _lse_parts(g, ans, a, axis, keepdims, return_sign)
    return gf * w if b is None else gf * w * b


def _lse_b(g, ans, a, axis=None, b=None, keepdims=False, return_sign=False, **_):
    gf, w = _lse_parts(g, ans, a, axis, keepdims, return_sign)
    return gf * w


defgrad("special.logsumexp", "a axis=None b=None keepdims=False return_sign=False", a=_lse_a, b=_lse_b)


def _softmax(g, ans, x, axis=None, **_):
    np = _np()
    return ans * (g - np.sum(g * ans, axis=axis, keepdims=True))


def _log_softmax(g, ans, x, axis=None, **_):
    np = _np()
    return g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)


defgrad("special.softmax", "x axis=None", x=_softmax)
defgrad("special.log_softmax", "x axis=None", x=_log_softmax)
