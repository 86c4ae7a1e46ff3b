"""Derivative checks against finite differences, with autograd's and MinPy's names.

``check_grads(f, argnum=0, modes=('fwd', 'rev'), order=2)(*args)`` (``autograd.test_util.check_grads``): for a random
input direction ``v`` and output direction ``w``, ``w . (J v)`` by central differences must equal ``v . vjp(w)``
(reverse mode) and ``w . jvp(v)`` (forward mode, see ``jvp``); for ``order > 1`` the same check is applied to the
map ``(x, w) -> vjp_x(w)`` (and ``(x, v) -> jvp_x(v)``), which checks the second derivatives, and so on. Any
pytree argument works: the checks run on its flattened vector. A mismatch raises AssertionError with both numbers.

``quick_grad_check(fun, arg0, ...)`` (MinPy, old autograd): the gradient of a scalar ``fun`` projected on one
random unit direction against a central difference along it; True, or AssertionError with both numbers.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy

from .autograd import make_vjp
from .jvp import make_jvp

EPS = 1e-6  # central-difference step of check_grads (float64)
TOL = 1e-6  # absolute tolerance of check_grads
RTOL = 1e-6  # relative tolerance of check_grads


def _host(x) -> numpy.ndarray:
    return numpy.asarray(x.asnumpy() if hasattr(x, "asnumpy") else x)


def _close(a: float, b: float) -> bool:
    return abs(a - b) < TOL or abs(a - b) <= RTOL * abs(a + b)


def _flat_function(f: Callable, args: tuple, kwargs: dict, argnum) -> tuple[Callable, Any, Any]:
    """``(g, x0, out0)``: ``g`` maps the flattened argument(s) ``argnum`` to the flattened output of ``f``."""
    from ..misc.flatten import flatten

    many = isinstance(argnum, (tuple, list))
    nums = tuple(argnum) if many else (argnum,)
    x0, unflatten = flatten(tuple(args[n] for n in nums))

    def g(x):
        call = list(args)
        for n, value in zip(nums, unflatten(x)):
            call[n] = value
        return flatten(f(*call, **kwargs))[0]

    g.__name__ = getattr(f, "__name__", "f")
    return g, x0, g(x0)


def _randn(like) -> Any:
    import imperdl.numpy as np

    dtype = numpy.float64 if numpy.dtype(like.dtype).kind != "c" else numpy.complex128
    return np.array(numpy.random.randn(*like.shape).astype(dtype))


def _inner(a, b) -> float:
    return float(numpy.real(numpy.vdot(_host(a), _host(b))))


def _numeric_jvp(g: Callable, x, v):
    return (_host(g(x + v * (EPS / 2))) - _host(g(x - v * (EPS / 2)))) / EPS


def _check_rev(g: Callable, x, y, name: str, order: int) -> None:
    vjp, _ = make_vjp(g)(x)
    v, w = _randn(x), _randn(y)
    exact = _inner(v, vjp(w))
    numeric = _inner(w, _numeric_jvp(g, x, v))
    if not _close(numeric, exact):
        raise AssertionError(
            f"check_grads: reverse-mode derivative (vjp) of {name} at order {order} does not match finite "
            f"differences: analytic {exact!r}, numeric {numeric!r} (difference {abs(exact - numeric):.3g})"
        )


def _check_fwd(g: Callable, x, name: str, order: int) -> None:
    v = _randn(x)
    exact = _host(make_jvp(g)(x)(v)[1])
    numeric = _numeric_jvp(g, x, v)
    w = numpy.random.randn(*numeric.shape)
    a, b = _inner(w, exact), _inner(w, numeric)
    if exact.shape != numeric.shape or not _close(b, a):
        raise AssertionError(
            f"check_grads: forward-mode derivative (jvp) of {name} at order {order} does not match finite "
            f"differences: analytic {a!r}, numeric {b!r} (shapes {exact.shape} and {numeric.shape})"
        )


def _check(g: Callable, x, modes: Sequence[str], order: int, depth: int) -> None:
    import imperdl.numpy as np

    name = getattr(g, "__name__", "f")
    y = g(x)
    n = int(x.shape[0])
    if "fwd" in modes:
        _check_fwd(g, x, name, depth)
        if order > 1:
            v = _randn(x)

            def jvp_g(xv):
                return make_jvp(g)(xv[:n])(xv[n:])[1]

            jvp_g.__name__ = f"jvp_{name}"
            _check(jvp_g, np.concatenate([x, v]), modes, order - 1, depth + 1)
    if "rev" in modes:
        _check_rev(g, x, y, name, depth)
        if order > 1:
            w = _randn(y)

            def vjp_g(xw):
                return make_vjp(g)(xw[:n])[0](xw[n:])

            vjp_g.__name__ = f"vjp_{name}"
            _check(vjp_g, np.concatenate([x, w]), modes, order - 1, depth + 1)


def check_grads(f: Callable, argnum=0, modes: Sequence[str] = ("fwd", "rev"), order: int = 2) -> Callable:
    """``check_grads(f, argnum, modes, order)(*args, **kwargs)``: derivatives of ``f`` up to ``order`` against
    finite differences, in forward and/or reverse mode; None, or AssertionError naming the numbers."""
    modes = list(modes)
    bad = [m for m in modes if m not in ("fwd", "rev")]
    if bad:
        raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {bad}")

    def checker(*args, **kwargs) -> None:
        g, x0, _ = _flat_function(f, args, kwargs, argnum)
        _check(g, x0, modes, order, 1)

    checker.__name__ = f"check_grads({getattr(f, '__name__', 'f')})"
    return checker


def quick_grad_check(fun: Callable, arg0: Any, extra_args: Sequence = (), kwargs: dict | None = None,
                     verbose: bool = True, eps: float | None = None, rtol: float | None = None,
                     atol: float | None = None, rs: numpy.random.RandomState | None = None) -> bool:
    """The gradient of scalar ``fun`` w.r.t. ``arg0`` along one random unit direction (drawn from ``rs``) against a
    central difference. Tolerances default to autograd's (eps=1e-4, rtol=1e-4, atol=1e-6) for float64 and to
    MinPy's (1e-2 each) for float32. Returns True; raises AssertionError with both numbers on a mismatch."""
    import imperdl.numpy as np

    from .autograd import grad

    kwargs = dict(kwargs or {})
    x = _host(arg0)
    if x.dtype.kind != "f":
        x = x.astype(numpy.float64)
    coarse = x.dtype == numpy.float32
    eps = eps if eps is not None else (1e-2 if coarse else 1e-4)
    rtol = rtol if rtol is not None else (1e-2 if coarse else 1e-4)
    atol = atol if atol is not None else (1e-2 if coarse else 1e-6)
    rs = rs if rs is not None else numpy.random.RandomState()
    name = getattr(fun, "__name__", "fun")
    if verbose:
        print(f"Checking gradient of {name} at an array of shape {x.shape}")
    direction = rs.standard_normal(x.shape)
    direction = direction / numpy.sqrt(numpy.sum(direction * direction))

    def along(t: float) -> float:
        return float(_host(fun(np.array((x + t * direction).astype(x.dtype)), *extra_args, **kwargs)))

    numeric = (along(eps / 2) - along(-eps / 2)) / eps
    analytic = float(numpy.sum(_host(grad(fun)(np.array(x), *extra_args, **kwargs)) * direction))
    if not numpy.allclose(numeric, analytic, rtol=rtol, atol=atol):
        raise AssertionError(f"quick_grad_check of {name} failed: numeric {numeric!r}, analytic {analytic!r} "
                             f"(rtol={rtol}, atol={atol})")
    if verbose:
        print(f"Gradient projection OK (numeric grad: {numeric}, analytic grad: {analytic})")
    return True


__all__ = ["check_grads", "quick_grad_check"]
