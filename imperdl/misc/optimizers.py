"""Stochastic optimizers over a gradient function, with ``autograd.misc.optimizers``' signatures and arithmetic.

``sgd(grad, x0, callback=None, num_iters=200, step_size=0.1, mass=0.9)``, ``rmsprop(..., num_iters=100,
step_size=0.1, gamma=0.9, eps=1e-8)`` and ``adam(..., num_iters=100, step_size=0.001, b1=0.9, b2=0.999, eps=1e-8)``
call ``grad(x, i)`` at iteration ``i`` and ``callback(x, i, g)`` before each update. ``x0`` may be any pytree
(dicts, lists, tuples of arrays): the optimizers work on its flattened vector and hand ``grad``, ``callback`` and
the result back in the tree's structure. They are written with imperdl.numpy, so a whole optimisation can itself
be differentiated (meta-optimisation), as under autograd.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

from .flatten import flatten


def unflatten_optimizer(optimize: Callable) -> Callable:
    """An optimizer on flat vectors made to take and return pytrees."""
    @functools.wraps(optimize)
    def on_trees(grad, x0, callback=None, *args, **kwargs):
        flat_x0, unflatten = flatten(x0)

        def flat_grad(x, i):
            return flatten(grad(unflatten(x), i))[0]

        flat_callback = None
        if callback:
            def flat_callback(x, i, g):
                return callback(unflatten(x), i, unflatten(g))

        return unflatten(optimize(flat_grad, flat_x0, flat_callback, *args, **kwargs))

    return on_trees


@unflatten_optimizer
def sgd(grad, x, callback=None, num_iters=200, step_size=0.1, mass=0.9):
    """Gradient descent with momentum: ``v = mass * v - (1 - mass) * g``; ``x = x + step_size * v``."""
    import imperdl.numpy as np

    velocity = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@unflatten_optimizer
def rmsprop(grad, x, callback=None, num_iters=100, step_size=0.1, gamma=0.9, eps=10**-8):
    """Steps scaled by a running root mean square of the gradient (started at ones, as autograd does)."""
    import imperdl.numpy as np

    avg_sq_grad = np.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        avg_sq_grad = avg_sq_grad * gamma + g**2 * (1 - gamma)
        x = x - step_size * g / (np.sqrt(avg_sq_grad) + eps)
    return x


@unflatten_optimizer
def adam(grad, x, callback=None, num_iters=100, step_size=0.001, b1=0.9, b2=0.999, eps=10**-8):
    """Adam (Kingma and Ba): bias-corrected first and second moment estimates of the gradient."""
    import imperdl.numpy as np

    m = np.zeros(len(x))
    v = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * (g**2) + b2 * v
        mhat = m / (1 - b1**(i + 1))
        vhat = v / (1 - b2**(i + 1))
        x = x - step_size * mhat / (np.sqrt(vhat) + eps)
    return x


__all__ = ["sgd", "rmsprop", "adam", "unflatten_optimizer"]
