"""Checks shared by the imperdl.scipy tests: values against SciPy, gradients against HIPS autograd.

``same_values(ifun, sfun, args, kwargs)``: imperdl on Arrays equals SciPy on the NumPy values (values, dtype,
shape; tuples element by element).

``against_autograd(ifun, afun, args, kwargs, argnums, order, rng)``: for each argument ``i``, imperdl's vjp of a
random cotangent equals autograd's (first order) and so does the gradient of ``<vjp, w>`` for a random ``w``
(second order). Float64 finite differences are ``tests/gradients/checker.check_grads``.
"""
from __future__ import annotations

import warnings

import autograd
import numpy as onp

import imperdl.numpy as inp
from imperdl.core import make_vjp
from imperdl.core.array import Array


def device(x):
    if isinstance(x, onp.ndarray):
        return inp.array(x)
    if isinstance(x, (tuple, list)):
        return type(x)(device(e) for e in x)
    return x


def host(x):
    if type(x) is Array:
        return x.asnumpy()
    if isinstance(x, (tuple, list)):
        return type(x)(host(e) for e in x)
    return x


def same_values(ifun, sfun, args, kwargs=None, rtol=1e-12):
    kwargs = kwargs or {}
    got = host(ifun(*device(tuple(args)), **kwargs))
    want = sfun(*args, **kwargs)
    for g, w in zip(got if isinstance(want, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        w = onp.asarray(w)
        g = onp.asarray(g)
        assert g.shape == w.shape, f"shape {g.shape} != SciPy's {w.shape}"
        assert g.dtype == w.dtype, f"dtype {g.dtype} != SciPy's {w.dtype}"
        onp.testing.assert_allclose(g, w, rtol=rtol, atol=0)


def _with(args, i, x):
    full = list(args)
    full[i] = x
    return full


def against_autograd(ifun, afun, args, kwargs=None, argnums=(0,), order=2, rng=None, rtol=1e-7, atol=1e-9):
    kwargs = kwargs or {}
    rng = rng or onp.random.default_rng(0)
    for i in argnums:
        x0 = onp.asarray(args[i], dtype=float)
        out = onp.asarray(afun(*args, **kwargs))
        u = rng.standard_normal(out.shape)
        w = rng.standard_normal(x0.shape)

        def ivjp(x, i=i, u=u):
            vjp, _ = make_vjp(lambda x_: ifun(*device(tuple(_with(args, i, x_))), **kwargs))(x)
            return vjp(inp.array(u))

        def avjp(x, i=i, u=u):
            return autograd.make_vjp(lambda x_: afun(*_with(args, i, x_), **kwargs))(x)[0](u)

        onp.testing.assert_allclose(host(ivjp(inp.array(x0))), avjp(x0), rtol=rtol, atol=atol,
                                    err_msg=f"argument {i}, first order")
        if order >= 2:
            i2 = make_vjp(lambda x, w=w: inp.sum(ivjp(x) * inp.array(w)))(inp.array(x0))[0](None)
            with warnings.catch_warnings():  # a rule linear in x: autograd warns that its output is constant
                warnings.simplefilter("ignore", UserWarning)
                a2 = autograd.grad(lambda x, w=w: autograd.numpy.sum(avjp(x) * w))(x0)
            onp.testing.assert_allclose(host(i2), a2, rtol=rtol, atol=atol, err_msg=f"argument {i}, second order")
