"""``fixed_point``: differentiate through an iteration run to convergence, by the implicit function theorem.

Differentiating the loop itself would record every iteration (memory grows with their number) and differentiate
the path to the fixed point rather than the point. At a fixed point ``x* = F(a, x*)`` the gradient needs only
``x*``: with ``w = g + (dF/dx)^T w`` (solved by iterating it, which converges wherever the forward iteration
converges to a stable point), the gradient with respect to ``a`` is ``(dF/da)^T w``. This is autograd's
``autograd.misc.fixed_points.fixed_point``, with its signature.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.autograd import make_vjp
from ..core.extend import defvjp, primitive
from .flatten import flatten


def _iterate(step: Callable, x0: Any, distance: Callable, tol: float):
    prev, x = x0, step(x0)
    while distance(x, prev) > tol:
        prev, x = x, step(x)
    return x


def fixed_point(f: Callable, a: Any, x0: Any, distance: Callable, tol: float):
    """Iterate ``x <- f(a)(x)`` from ``x0`` until ``distance(x, previous) <= tol``; differentiable in ``a``, which
    may be an array or a container of arrays (a tuple of weights: it travels to the primitive as one vector)."""
    if type(a) in (tuple, list, dict):
        flat, unflatten = flatten(a)
        return _fixed_point(lambda v: f(unflatten(v)), flat, x0, distance, tol)
    return _fixed_point(f, a, x0, distance, tol)


@primitive
def _fixed_point(f: Callable, a: Any, x0: Any, distance: Callable, tol: float):
    return _iterate(f(a), x0, distance, tol)


def _vjp_a(ans, f, a, x0, distance, tol):
    through_a, _ = make_vjp(lambda p: f(p)(ans))(a)  # (dF/da)^T at the fixed point

    def vjp(g):
        import imperdl.numpy as np

        # w -> g + (dF/dx)^T w at x*, itself solved as a fixed point so that a second order is implicit too; its
        # parameters travel as one flat vector (a primitive is differentiated in its positional arrays)
        packed, unpack = flatten((a, ans, g))

        def adjoint(params):
            p, x_star, g_ = unpack(params)
            through_x, _ = make_vjp(f(p))(x_star)
            return lambda w: g_ + through_x(w)

        return through_a(fixed_point(adjoint, packed, np.zeros_like(g), distance, tol))

    return vjp


defvjp(_fixed_point, None, _vjp_a, None, None, None)
