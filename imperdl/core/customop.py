"""User primitives: ``@customop('numpy' | 'mxnet')`` turns a function on backend arrays into a primitive.

MinPy's API: the decorated function receives NumPy arrays ('numpy') or MXNet arrays ('mxnet'); gradients are
given with ``def_grad(fn, argnum=0)`` where ``fn(ans, *args)`` returns ``lambda g: gradient`` (backend arrays
in, backend arrays out), or ``def_multiple_grad(fn, argnums)`` where the returned function gives a tuple.
"""
from __future__ import annotations

from collections.abc import Callable

from .array import Array
from .backends import MXNET, NUMPY, mxnet_backend
from .dispatch import Primitive


def _to_backend(x, b: int):
    t = type(x)
    if t is Array:
        return x._get(b)
    if b == MXNET and t.__module__ == "numpy":
        return Array(x)._get(b) if hasattr(x, "shape") else x
    if t is list or t is tuple:
        return t(_to_backend(e, b) for e in x)
    return x


def _from_backend(x, b: int):
    if b == MXNET and type(x) is mxnet_backend.ndarray:
        return Array(x, MXNET)
    return Array(x) if hasattr(x, "shape") and hasattr(x, "dtype") and type(x).__module__ == "numpy" else x


class CustomOp(Primitive):
    """A user primitive bound to one backend; differentiable once ``def_grad`` is given."""

    def __init__(self, fn: Callable, backend: str):
        if backend not in ("numpy", "mxnet"):
            raise ValueError(f"customop: backend must be 'numpy' or 'mxnet', got {backend!r}")
        self.backend = NUMPY if backend == "numpy" else MXNET
        name = f"customop.{getattr(fn, '__name__', 'op')}"
        if self.backend == NUMPY:
            super().__init__(name, fn, doc=fn.__doc__)
            self.host = True
        else:
            def on_host(*args, **kwargs):
                out = fn(*[_to_backend(a, MXNET) for a in args], **kwargs)
                return out.asnumpy() if type(out) is mxnet_backend.ndarray else out

            super().__init__(name, on_host, doc=fn.__doc__)
            self.impls[1] = fn
        self._grads: dict = {}

    def def_grad(self, fn: Callable, argnum: int = 0) -> CustomOp:
        """Gradient for positional argument ``argnum``: ``fn(ans, *args)`` returns ``g -> gradient``."""
        self._grads[argnum] = ("one", fn)
        self.vjp = self._vjp
        return self

    def def_multiple_grad(self, fn: Callable, argnums=(0,)) -> CustomOp:
        """Gradients for several arguments at once: ``fn(ans, *args)`` returns ``g -> tuple of gradients``."""
        for i, n in enumerate(argnums):
            self._grads[n] = ("many", fn, i)
        self.vjp = self._vjp
        return self

    def _vjp(self, pos, g, ans, args, kwargs):
        spec = self._grads.get(pos)
        if spec is None:
            raise NotImplementedError(f"{self.name}: no gradient defined for argument {pos!r} (use def_grad)")
        b = self.backend
        maker = spec[1](_to_backend(ans, b), *[_to_backend(a, b) for a in args], **kwargs)
        out = maker(_to_backend(g, b))
        if spec[0] == "many":
            out = out[spec[2]]
        return _from_backend(out, b)


def customop(backend: str = "numpy") -> Callable[[Callable], CustomOp]:
    """Decorator: ``@customop('numpy')`` / ``@customop('mxnet')``."""
    def deco(fn: Callable) -> CustomOp:
        return CustomOp(fn, backend)

    return deco
