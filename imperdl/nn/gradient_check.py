"""Finite-difference gradient checks, as the course notebooks use them.

The notebooks check a model by perturbing its parameter arrays *in place* and re-running the loss:
``f = lambda _: model.loss(X, y)[0]; eval_numerical_gradient(f, model.params['W1'])``. So these functions write
``x[ix] = old +- h`` into the array they are given (an imperdl Array or a NumPy array alike), which is exactly the
object the model reads, and put the old value back bit for bit afterwards, even if ``f`` raises.
Values are read with ``float()`` and results are NumPy arrays.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as onp

import imperdl.numpy as np
from imperdl.core import grad

__all__ = ["eval_numerical_gradient", "eval_numerical_gradient_array", "grad_check_sparse", "rel_error",
           "quick_grad_check", "check_gradients"]


def _host(a: Any) -> onp.ndarray:
    """A float64 NumPy copy of an Array, NumPy array or scalar."""
    return onp.array(a, dtype=onp.float64)


def _grad_dtype(x: Any):
    dtype = onp.dtype(x.dtype)
    return dtype if dtype.kind == "f" else onp.dtype(onp.float64)


def _writable(name: str, x: Any) -> None:
    if not hasattr(x, "__setitem__") or not hasattr(x, "shape"):
        raise TypeError(f"{name}: x must be an array that can be changed in place (imperdl Array or NumPy "
                        f"ndarray), got {type(x).__name__}")
    if onp.dtype(x.dtype).kind != "f":
        raise TypeError(f"{name}: x must have a floating dtype to be perturbed by h, got {x.dtype}")


def _centred(fx: Callable[[], Any], x: Any, ix: tuple, h: float) -> tuple[Any, Any]:
    """(f at x[ix] + h, f at x[ix] - h), with x[ix] restored exactly afterwards.

    Values are written as 0-d NumPy arrays of x's dtype, not Python floats: MXNet receives a scalar written into
    an array as decimal text with 15 significant digits, which can move a float64 by one ulp, so restoring an
    MXNet-resident Array from a Python float is not exact.
    """
    dtype = onp.dtype(x.dtype)
    saved = onp.array(x[ix], dtype=dtype)
    old = float(saved)
    try:
        x[ix] = onp.array(old + h, dtype=dtype)
        plus = fx()
        x[ix] = onp.array(old - h, dtype=dtype)
        minus = fx()
    finally:
        x[ix] = saved
    return plus, minus


def eval_numerical_gradient(f: Callable[[Any], Any], x: Any, verbose: bool = True, h: float = 1e-5) -> onp.ndarray:
    """Centred-difference gradient of the scalar function ``f`` at ``x``, one coordinate at a time.

    ``f`` is called as ``f(x)`` after ``x`` has been changed in place, so it may ignore its argument and read
    the same array elsewhere (a model's params dict).
    """
    _writable("eval_numerical_gradient", x)
    grad = onp.zeros(tuple(x.shape), dtype=_grad_dtype(x))
    for ix in onp.ndindex(*x.shape):
        plus, minus = _centred(lambda: float(f(x)), x, ix, h)
        grad[ix] = (plus - minus) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f: Callable[[Any], Any], x: Any, df: Any, h: float = 1e-5) -> onp.ndarray:
    """Centred-difference vector-Jacobian product: d/dx of sum(f(x) * df), for an array-valued ``f``."""
    _writable("eval_numerical_gradient_array", x)
    df = _host(df)
    grad = onp.zeros(tuple(x.shape), dtype=_grad_dtype(x))
    for ix in onp.ndindex(*x.shape):
        plus, minus = _centred(lambda: _host(f(x)), x, ix, h)
        grad[ix] = onp.sum((plus - minus) * df) / (2 * h)
    return grad


def rel_error(x: Any, y: Any) -> float:
    """max |x - y| / max(1e-8, |x| + |y|), elementwise, for Arrays, NumPy arrays or scalars."""
    x, y = _host(x), _host(y)
    return float(onp.max(onp.abs(x - y) / onp.maximum(1e-8, onp.abs(x) + onp.abs(y))))


def _coordinates(shape: Sequence[int], num_checks: int, seed: int | None) -> list[tuple]:
    rng = onp.random if seed is None else onp.random.RandomState(seed)
    return [tuple(int(rng.randint(n)) for n in shape) for _ in range(num_checks)]


def grad_check_sparse(f: Callable[[Any], Any], x: Any, analytic_grad: Any, num_checks: int = 10,
                      h: float = 1e-5, seed: int | None = None) -> list[float]:
    """Compare ``analytic_grad`` with centred differences of ``f`` at ``num_checks`` random coordinates of ``x``.

    Prints one line per coordinate and returns the relative errors. ``seed`` picks the coordinates repeatably
    (None: NumPy's global random state).
    """
    _writable("grad_check_sparse", x)
    analytic = _host(analytic_grad)
    if analytic.shape != tuple(x.shape):
        raise ValueError(f"grad_check_sparse: analytic_grad has shape {analytic.shape}, x has {tuple(x.shape)}")
    errors = []
    for ix in _coordinates(x.shape, num_checks, seed):
        plus, minus = _centred(lambda: float(f(x)), x, ix, h)
        numeric = (plus - minus) / (2 * h)
        err = rel_error(numeric, analytic[ix])
        print(f"numerical: {numeric:f} analytic: {analytic[ix]:f}, relative error: {err:e}")
        errors.append(err)
    return errors


def quick_grad_check(f: Callable[..., Any], x: Any, num_checks: int = 10, h: float = 1e-5, seed: int | None = 0,
                     verbose: bool = True, extra_args: Sequence[Any] = (), kwargs: dict | None = None) -> float:
    """Max relative error between imperdl's ``grad(f)`` at ``x`` and centred differences at random coordinates.

    ``f(x, *extra_args, **kwargs)`` must return a scalar. ``x`` itself is not modified: the differences are
    taken on a copy (a NumPy array of x's dtype; use float64 for tight checks). Typical use:
    ``assert quick_grad_check(f, x) < 1e-6``.
    """
    kwargs = dict(kwargs or {})
    work = onp.array(x, copy=True)
    if work.dtype.kind != "f":
        raise TypeError(f"quick_grad_check: x must have a floating dtype, got {work.dtype}")
    analytic = _host(grad(lambda v: f(v, *extra_args, **kwargs))(np.array(work)))
    if analytic.shape != work.shape:
        raise ValueError(f"quick_grad_check: grad(f) has shape {analytic.shape}, x has {work.shape}")
    worst = 0.0
    for ix in _coordinates(work.shape, num_checks, seed):
        plus, minus = _centred(lambda: float(f(np.array(work), *extra_args, **kwargs)), work, ix, h)
        numeric = (plus - minus) / (2 * h)
        err = rel_error(numeric, analytic[ix])
        worst = max(worst, err)
        if verbose:
            print(f"{ix}: numerical {numeric:.10g} analytic {analytic[ix]:.10g} relative error {err:.3e}")
    if verbose:
        print(f"quick_grad_check: max relative error {worst:.3e} over {num_checks} coordinates")
    return worst


def check_gradients(f: Callable[..., Any], *args: Any, tol: float = 1e-7, names: Sequence[str] | None = None,
                    seed: int = 1, verbose: bool = True) -> float:
    """imperdl's gradients of ``f`` w.r.t. every argument against centred differences; returns the worst relative
    error and raises AssertionError above ``tol``.

    A scalar ``f`` is differentiated as it is, an array-valued one through ``sum(f(...) * dout)`` with a random
    ``dout`` (seeded). The arguments (float64 arrays) are perturbed in place by the finite differences and
    restored, so ``f`` may also read them through a model's parameters.
    """
    names = list(names) if names is not None else [f"arg{i}" for i in range(len(args))]
    out = onp.asarray(_host(f(*args)))
    dout = None if out.ndim == 0 else onp.random.RandomState(seed).randn(*out.shape)
    analytic = grad(lambda *a: f(*a) if dout is None else np.sum(f(*a) * dout), argnum=tuple(range(len(args))))(*args)
    worst = 0.0
    for name, x, g in zip(names, args, analytic):
        if dout is None:
            numeric = eval_numerical_gradient(lambda _: f(*args), x, verbose=False)
        else:
            numeric = eval_numerical_gradient_array(lambda _: f(*args), x, dout)
        err = rel_error(g, numeric)
        worst = max(worst, err)
        if verbose:
            print(f"  d{name}: relative error {err:.2e}")
    assert worst < tol, f"a gradient is off: relative error {worst:.2e} >= {tol:.0e}"
    return worst
