"""Forward-mode products from reverse mode: ``make_jvp(f, argnum)(*args)(v) -> (value, J v)``.

imperdl's engine records a tape and walks it backwards; it has no tangent-propagating forward pass. The vjp
``u -> J^T u`` is linear in ``u`` and made of differentiable operations, so its own vjp at any ``u``, applied to
``v``, is ``J v``: two reverse passes give the exact forward derivative (autograd's ``make_jvp_reversemode``).
"""
from __future__ import annotations

from collections.abc import Callable

from .autograd import _map_tree, make_vjp


def make_jvp(f: Callable, argnum=0) -> Callable:
    """``make_jvp(f, argnum)(*args)`` returns ``jvp(v) -> (f(*args), J v)`` (autograd's signature)."""
    def at(*args, **kwargs):
        def jvp(v):
            import imperdl.numpy as np

            pullback, ans = make_vjp(f, argnum)(*args, **kwargs)
            zeros = _map_tree(lambda a: np.zeros_like(a) if hasattr(a, "shape") else np.zeros(()), ans)
            push, _ = make_vjp(lambda u: pullback(u))(zeros)
            return ans, push(v)

        return jvp

    return at


__all__ = ["make_jvp"]
