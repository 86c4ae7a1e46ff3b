"""imperdl.scipy.linalg, .signal and .integrate: values equal SciPy's; gradients equal HIPS autograd's where it has
the function (sqrtm, solve_triangular, solve_sylvester, its generalized convolve, odeint) and pass float64 finite
differences (to second order, except odeint: first order by the adjoint method, higher order refused)."""
from __future__ import annotations

import autograd.numpy as anp
import autograd.scipy.integrate as aint
import autograd.scipy.linalg as alg
import autograd.scipy.signal as asig
import numpy as onp
import pytest
import scipy.integrate
import scipy.linalg
import scipy.signal
from autograd.builtins import tuple as atuple
from gradients.checker import check_grads

import imperdl.numpy as inp
import imperdl.scipy.integrate as iint
import imperdl.scipy.linalg as ilg
import imperdl.scipy.signal as isig
from imperdl.core import NoGradientError, grad
from imperdl.scipy._rules import TABLE

from .oracle import against_autograd, same_values

RNG = onp.random.default_rng(13)
M = RNG.standard_normal((3, 3))
SPD = M @ M.T + 3 * onp.eye(3)
B = RNG.standard_normal((3, 2))


def _sym(f):
    """``f`` of the symmetric part: functions that read one triangle are checked along symmetric directions."""
    return lambda a, *rest, **kw: f((a + a.T) / 2, *rest, **kw)


# name -> list of (function of imperdl arrays, SciPy reference, args, differentiated argnums)
LINALG = {
    "inv": [(ilg.inv, scipy.linalg.inv, [M], (0,))],
    "det": [(ilg.det, scipy.linalg.det, [M], (0,))],
    "pinv": [(ilg.pinv, scipy.linalg.pinv, [M[:, :2]], (0,))],
    "solve": [(ilg.solve, scipy.linalg.solve, [SPD, B], (0, 1))],
    "eigh": [(lambda a: ilg.eigh(a)[0], lambda a: scipy.linalg.eigh(a)[0], [SPD], ())],
    "eigvalsh": [(ilg.eigvalsh, scipy.linalg.eigvalsh, [SPD], ())],
    "svd": [(lambda a: ilg.svd(a)[1], lambda a: scipy.linalg.svd(a)[1], [M], (0,))],
    "norm": [(ilg.norm, scipy.linalg.norm, [M], (0,))],
    "cholesky": [(ilg.cholesky, scipy.linalg.cholesky, [SPD], ()),
                 (lambda a: ilg.cholesky(a, lower=True), lambda a: scipy.linalg.cholesky(a, lower=True), [SPD], ())],
    "solve_triangular": [
        (lambda a, b, lo=lo, tr=tr, ud=ud: ilg.solve_triangular(a, b, trans=tr, lower=lo, unit_diagonal=ud),
         lambda a, b, lo=lo, tr=tr, ud=ud: scipy.linalg.solve_triangular(a, b, trans=tr, lower=lo, unit_diagonal=ud),
         [onp.tril(SPD) if lo else onp.triu(SPD), b], (0, 1))
        for lo in (True, False) for tr in (0, "T") for ud in (False, True) for b in (B, B[:, 0])],
    "solve_sylvester": [(ilg.solve_sylvester, scipy.linalg.solve_sylvester, [SPD, SPD + 1.0, M], (0, 1, 2))],
    "sqrtm": [(ilg.sqrtm, scipy.linalg.sqrtm, [SPD], ())],
    "expm": [(ilg.expm, scipy.linalg.expm, [0.5 * M], (0,))],
}
LINALG_CASES = [(n, i, *c) for n in sorted(LINALG) for i, c in enumerate(LINALG[n])]


@pytest.mark.parametrize("name,i,fun,ref,args,argnums", LINALG_CASES, ids=[f"{c[0]}-{c[1]}" for c in LINALG_CASES])
def test_linalg(name, i, fun, ref, args, argnums):
    same_values(fun, ref, args, rtol=1e-10)
    if argnums:
        check_grads(fun, tuple(args), {}, argnums, order=2, rng=onp.random.default_rng(i), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("fun", [ilg.sqrtm, ilg.eigvalsh, ilg.cholesky, lambda a: ilg.eigh(a, lower=False)[1]])
def test_symmetric_input_rules(fun):
    check_grads(_sym(fun), (SPD,), {}, (0,), order=2, rng=onp.random.default_rng(1), rtol=1e-5, atol=1e-7)


def test_linalg_equal_autograds():
    against_autograd(ilg.sqrtm, alg.sqrtm, [SPD], {}, (0,))
    for lo in (True, False):
        for tr in (0, 1):
            a = onp.tril(SPD) if lo else onp.triu(SPD)
            against_autograd(lambda a, b, lo=lo, tr=tr: ilg.solve_triangular(a, b, trans=tr, lower=lo),
                             lambda a, b, lo=lo, tr=tr: alg.solve_triangular(a, b, trans=tr, lower=lo), [a, B], {},
                             (0, 1))
    against_autograd(ilg.solve_sylvester, alg.solve_sylvester, [SPD, SPD + 1.0, M], {}, (0, 1, 2))


def test_generalized_eigh_refuses():
    with pytest.raises(NoGradientError, match="generalized"):
        grad(lambda a: inp.sum(ilg.eigh(a, inp.array(SPD))[0]))(inp.array(SPD))


# ---------------------------------------------------------------------------------------------- signal
SIGNAL = [(f, m, s1, s2) for f in ("convolve", "correlate") for m in ("full", "valid", "same")
          for s1, s2 in (((6,), (3,)), ((3,), (6,)), ((4, 5), (2, 3)))]


@pytest.mark.parametrize("fname,mode,s1,s2", SIGNAL)
def test_signal(fname, mode, s1, s2):
    rng = onp.random.default_rng(len(s1) + len(s2))
    a, b = rng.standard_normal(s1), rng.standard_normal(s2)
    fun = getattr(isig, fname)
    same_values(lambda a, b: fun(a, b, mode), lambda a, b: getattr(scipy.signal, fname)(a, b, mode), [a, b],
                rtol=1e-10)
    check_grads(lambda a, b: fun(a, b, mode), (a, b), {}, (0, 1), order=2, rng=rng)


@pytest.mark.parametrize("mode", ["full", "valid"])
def test_autograd_generalized_convolve(mode):
    rng = onp.random.default_rng(3)
    kw = dict(axes=([2, 3], [2, 3]), dot_axes=([1], [0]), mode=mode)
    a, b = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((3, 2, 3, 2))
    onp.testing.assert_allclose(isig.convolve(inp.array(a), inp.array(b), **kw).asnumpy(), asig.convolve(a, b, **kw))
    against_autograd(lambda a, b: isig.convolve(a, b, **kw), lambda a, b: asig.convolve(a, b, **kw), [a, b], {},
                     (0, 1), order=2, rng=rng)
    # the smaller operand first: autograd swaps, the result keeps A's free axes first
    kw = dict(axes=([1, 2], [0, 1]), dot_axes=([0], [2]), mode="valid")
    a, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5, 3))
    against_autograd(lambda a, b: isig.convolve(a, b, **kw), lambda a, b: asig.convolve(a, b, **kw), [a, b], {},
                     (0, 1), order=1, rng=rng)


# -------------------------------------------------------------------------------------------- integrate
def _rhs(y, t, A, b):
    return inp.tanh(inp.dot(A, y)) * b + 0.1 * t


def _arhs(y, t, A, b):
    return anp.tanh(anp.dot(A, y)) * b + 0.1 * t


def test_odeint():
    rng = onp.random.default_rng(5)
    A, b = rng.standard_normal((2, 2)), rng.standard_normal(2)
    y0, t = onp.array([0.5, -0.3]), onp.linspace(0.0, 1.0, 3)
    same_values(lambda y0, t, A, b: iint.odeint(_rhs, y0, t, args=(A, b)),
                lambda y0, t, A, b: scipy.integrate.odeint(lambda y, s: onp.tanh(A @ y) * b + 0.1 * s, y0, t),
                [y0, t, A, b], rtol=1e-12)
    w = rng.standard_normal((3, 2))
    mine = grad(lambda y0, t, A, b: inp.sum(iint.odeint(_rhs, y0, t, (A, b)) * w), (0, 1, 2, 3))(
        *[inp.array(v) for v in (y0, t, A, b)])
    theirs = [aint_grad(k, y0, t, A, b, w) for k in range(4)]
    for m, th in zip(mine, theirs):
        onp.testing.assert_allclose(m.asnumpy(), th, rtol=1e-6, atol=1e-8)
    with pytest.raises(NoGradientError, match="odeint.*higher order"):
        grad(lambda y0: inp.sum(grad(lambda y: inp.sum(iint.odeint(_rhs, y, t, (A, b))))(y0)))(inp.array(y0))


def aint_grad(k, y0, t, A, b, w):
    import autograd

    return autograd.grad(lambda y0, t, A, b: anp.sum(aint.odeint(_arhs, y0, t, atuple((A, b))) * w), k)(y0, t, A, b)


def _net_rhs(np):
    def rhs(y, t, params):
        for W, b in params:
            y = np.tanh(np.dot(y, W) + b)
        return y
    return rhs


def test_odeint_gradient_reaches_parameters_nested_in_args():
    """autograd's ode_net passes ``args=(params,)`` with ``params`` a list of (W, b) tuples: the gradient reaches
    every array of it (it was silently zero), equal to autograd's."""
    import autograd

    rng = onp.random.default_rng(3)
    params = [(rng.standard_normal((2, 3)) * 0.5, rng.standard_normal(3) * 0.1),
              (rng.standard_normal((3, 2)) * 0.5, rng.standard_normal(2) * 0.1)]
    y0, t = onp.array([2.0, 0.0]), onp.linspace(0.0, 1.0, 4)
    theirs = autograd.grad(lambda p: anp.sum(aint.odeint(_net_rhs(anp), y0, t, atuple((p,))) ** 2))(params)
    mine = grad(lambda p: inp.sum(iint.odeint(_net_rhs(inp), y0, t, (p,)) ** 2))(params)
    for (mw, mb), (tw, tb) in zip(mine, theirs):
        onp.testing.assert_allclose(onp.asarray(mw), tw, rtol=1e-6, atol=1e-9)
        onp.testing.assert_allclose(onp.asarray(mb), tb, rtol=1e-6, atol=1e-9)


def test_every_rule_has_a_case():
    assert {n for n in TABLE if n.startswith("linalg.")} == {f"linalg.{n}" for n in LINALG}
    assert {n for n in TABLE if n.startswith(("signal.", "integrate."))} == {
        "signal.convolve", "signal.correlate", "integrate.odeint"}
