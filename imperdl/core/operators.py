"""autograd's remaining differential operators, composed from ``make_vjp``, ``grad``, ``jacobian`` and ``make_jvp``.

They keep autograd's signatures (``op(fun, argnum=0)(*args, **kwargs)``), so programs that use them port by
their imports alone: ``grad_and_aux``, ``grad_named``, ``deriv``, ``make_hvp``, ``tensor_jacobian_product``
(alias ``vector_jacobian_product``) and ``hessian_tensor_product`` (imperdl's ``hessian_vector_product``).
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

from .autograd import _detach, _named, grad, hessian_vector_product, jacobian, make_vjp
from .jvp import make_jvp


def grad_and_aux(fun: Callable, argnum=0) -> Callable:
    """For ``fun`` returning ``(value, aux)``: ``(gradient of value, aux)``, with one call of ``fun``."""
    def wrapped(*args, **kwargs):
        aux = []

        def value(*a, **k):
            v, extra = fun(*a, **k)
            aux.append(extra)
            return v

        g = grad(value, argnum)(*args, **kwargs)
        return g, _detach(aux[0])

    return _named(wrapped, fun, "grad_and_aux")


def grad_named(fun: Callable, argname: str) -> Callable:
    """The gradient with respect to the argument called ``argname`` (a named parameter of ``fun``)."""
    names = [p.name for p in inspect.signature(fun).parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if argname not in names:
        raise ValueError(f"grad_named: {getattr(fun, '__name__', 'fun')} has no positional parameter {argname!r} "
                         f"(it has {names})")
    return grad(fun, names.index(argname))


def deriv(fun: Callable, argnum=0) -> Callable:
    """The directional derivative along ones: for a scalar input, the ordinary derivative."""
    def wrapped(*args, **kwargs):
        import imperdl.numpy as np

        x = args[argnum]
        ones = np.ones_like(x) if hasattr(x, "shape") else np.ones(())
        return make_jvp(fun, argnum)(*args, **kwargs)(ones)[1]

    return _named(wrapped, fun, "deriv")


def make_hvp(fun: Callable, argnum=0) -> Callable:
    """``make_hvp(fun, argnum)(*args) -> (hvp, gradient)``: ``hvp(v)`` is H v, reusing one forward pass."""
    return make_vjp(grad(fun, argnum), argnum)


def tensor_jacobian_product(fun: Callable, argnum=0) -> Callable:
    """``(*args, tensor) -> tensor . J``: the Jacobian of ``fun`` left-multiplied by ``tensor`` (contracting the
    output's leading ``tensor.ndim`` axes)."""
    def contracted(*args, **kwargs):
        import imperdl.numpy as np

        *xs, tensor = args
        return np.tensordot(tensor, fun(*xs, **kwargs), axes=np.ndim(tensor))

    return _named(jacobian(contracted, argnum), fun, "tensor_jacobian_product")


vector_jacobian_product = tensor_jacobian_product
hessian_tensor_product = hessian_vector_product
make_jvp_reversemode = make_jvp

__all__ = ["grad_and_aux", "grad_named", "deriv", "make_hvp", "tensor_jacobian_product", "vector_jacobian_product",
           "hessian_tensor_product", "make_jvp_reversemode"]
