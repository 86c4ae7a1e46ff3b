"""autograd's extension API: ``@primitive`` turns a function on NumPy values into a differentiable primitive.

The same mechanism as ``customop`` (a ``Primitive`` whose NumPy implementation is the user's function, dispatched,
recorded on the tape like any NumPy name), with autograd's signatures, so code written against ``autograd.extend``
runs with its import changed:

- ``defvjp(f, maker0, maker1, ..., argnums=...)``: ``maker_i(ans, *args, **kwargs)`` returns ``g -> gradient`` for
  positional argument ``i``; ``None`` means a zero gradient.
- ``defvjp_argnum(f, maker)``: ``maker(argnum, ans, args, kwargs)`` returns ``g -> gradient``.
- ``defvjp_argnums(f, maker)``: ``maker(argnums, ans, args, kwargs)`` returns ``g -> gradients`` (a sequence).
- ``defjvp(f, jvp0, ..., argnums=...)`` / ``defjvp_argnum``: ``jvp_i(g, ans, *args, **kwargs)`` is the directional
  derivative along argument ``i``. imperdl differentiates in reverse only: a primitive that has jvps but no vjp
  gets its vjp by transposing the (linear) jvp with one reverse pass; where both are given, the vjp is used.

The vjps receive the arguments as imperdl Arrays and are written with ``imperdl.numpy``, so they are recorded by
any outer tape: ``grad(grad(f))`` works when the vjps are themselves differentiable.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import count

import numpy

from .array import Array
from .dispatch import Primitive
from .reads import declare
from .tape import state


class UserPrimitive(Primitive):
    """A function on NumPy values, differentiable through the rules given with ``defvjp``/``defjvp``."""

    def __init__(self, fn: Callable):
        self.fun = fn

        def on_host(*args, **kwargs):
            # the body works on raw values, as under autograd: nothing inside it is recorded
            saved = state.stack[:]
            del state.stack[:]
            try:
                out = fn(*args, **kwargs)
            finally:
                state.stack[:] = saved
            t = type(out)
            if t is float or t is complex:
                return numpy.asarray(out)
            if t is numpy.ndarray and any(out is a for a in args):
                return out.view()  # a new result, so the tape records this call (an identity with its own vjp)
            return out

        name = getattr(fn, "__qualname__", getattr(fn, "__name__", "primitive"))
        super().__init__(name, on_host, doc=fn.__doc__)
        self.space = getattr(fn, "__module__", None) or "primitive"
        self.host = True
        self.__wrapped__ = fn
        self.__module__ = self.space
        self.vjp_makers: dict = {}  # argnum -> maker(ans, *args, **kwargs) -> (g -> gradient)
        self.vjp_argnum = None  # or maker(argnum, ans, args, kwargs) -> (g -> gradient), for every argnum
        self.jvps: dict = {}  # argnum -> jvp(g, ans, *args, **kwargs)
        self.jvp_argnum = None  # or jvp(argnum, g, ans, args, kwargs), for every argnum

    def __repr__(self):
        return f"<imperdl user primitive {self.space}.{self.name}>"

    def __get__(self, obj, objtype=None):  # a primitive defined in a class body works as a method
        if obj is None:
            return self
        import functools

        return functools.partial(self, obj)

    def _vjp(self, pos, g, ans, args, kwargs):
        if type(pos) is not int:
            where = f"keyword argument {pos!r}" if type(pos) is str else f"element {pos[1]} of argument {pos[0]}"
            raise NotImplementedError(
                f"{self.space}.{self.name}: {where} is being differentiated; primitives are differentiated with "
                "respect to their positional array arguments (as under autograd): pass it positionally"
            )
        maker = self.vjp_makers.get(pos)
        if maker is not None:
            out = maker(ans, *args, **kwargs)(g)
        elif self.vjp_argnum is not None:
            out = self.vjp_argnum(pos, ans, args, kwargs)(g)
        elif self.jvp_for(pos) is not None:
            return _transpose(self, pos, g, ans, args, kwargs)
        else:
            raise NotImplementedError(f"VJP of {self.space}.{self.name} with respect to argument {pos} not defined "
                                      "(give it with imperdl.core.defvjp)")
        if out is None or type(out) is Array:
            return out
        return Array(numpy.asarray(out))

    def jvp_for(self, pos: int):
        """The forward rule ``jvp(g, ans, *args, **kwargs)`` for argument ``pos``, or None."""
        rule = self.jvps.get(pos)
        if rule is None and self.jvp_argnum is not None:
            def rule(g, ans, *args, **kwargs):
                return self.jvp_argnum(pos, g, ans, args, kwargs)
        return rule


def _transpose(prim: UserPrimitive, pos: int, g, ans, args, kwargs):
    """The vjp from the jvp: ``jvp`` is linear in its tangent ``v``, so ``g . jvp(v)`` has gradient ``J^T g``."""
    import imperdl.numpy as np

    from .autograd import grad

    busy = _transposing.__dict__.setdefault("prims", set())
    if prim in busy:  # the jvp calls the primitive itself ('same'): transposing it would never end
        raise NotImplementedError(
            f"{prim.space}.{prim.name}: its jvp uses the primitive itself (e.g. 'same'), so no vjp can be derived "
            "from it; give the vjp with imperdl.core.defvjp (imperdl differentiates in reverse mode)")
    jvp = prim.jvp_for(pos)
    x = args[pos]

    def along(v):
        t = jvp(v, ans, *args, **kwargs)
        if isinstance(g, (tuple, list)):
            return sum(np.sum(gi * ti) for gi, ti in zip(g, t))
        return np.sum(g * t)

    busy.add(prim)
    try:
        return grad(along)(np.zeros_like(x))
    finally:
        busy.discard(prim)


_transposing = threading.local()


def primitive(fn: Callable) -> UserPrimitive:
    """Decorator: ``fn`` (a function on NumPy values) becomes a primitive; give its gradient with ``defvjp``."""
    if isinstance(fn, UserPrimitive):
        return fn
    return UserPrimitive(fn)


def _check(fun, what: str) -> UserPrimitive:
    if not isinstance(fun, UserPrimitive):
        raise TypeError(f"{what}: {getattr(fun, '__name__', fun)!r} is not a primitive; decorate it with "
                        "@imperdl.core.primitive first")
    return fun


def _install(prim: UserPrimitive, reads=None) -> None:
    if reads is None:
        prim.vjp = prim._vjp  # the tape keeps every argument and the result for it
        return

    def vjp(pos, g, ans, args, kwargs):
        return prim._vjp(pos, g, ans, args, kwargs)

    prim.vjp = declare(vjp, reads)


def defvjp(fun: UserPrimitive, *vjpmakers, argnums=None, reads=None) -> None:
    """Gradient makers for positional arguments ``argnums`` (default 0, 1, ...): ``maker(ans, *args, **kwargs)``
    returns ``g -> gradient``; ``None`` gives a zero gradient.

    ``reads`` (imperdl's, not autograd's): what the makers read of the result and arguments, e.g. ``("ans",)`` or
    ``{0: (1,), 1: (0,)}``; the tape then keeps only that (the rest reaches the makers as shape and dtype, see
    ``imperdl.core.reads``). Without it the tape keeps everything."""
    prim = _check(fun, "defvjp")
    for n, maker in zip(count() if argnums is None else argnums, vjpmakers):
        if maker is None:
            maker = _zero_maker
        elif not callable(maker):
            raise TypeError(f"defvjp: bad VJP {maker!r} for {prim.name} (argument {n})")
        prim.vjp_makers[n] = maker
    _install(prim, reads)


def _zero_maker(ans, *args, **kwargs):
    return lambda g: None


def _first_of(vjp_many):
    def one(g):
        return next(iter(vjp_many(g)))

    return one


def defvjp_argnum(fun: UserPrimitive, vjpmaker: Callable) -> None:
    """One maker for every argument: ``vjpmaker(argnum, ans, args, kwargs)`` returns ``g -> gradient``."""
    prim = _check(fun, "defvjp_argnum")
    prim.vjp_argnum = vjpmaker
    _install(prim)


def defvjp_argnums(fun: UserPrimitive, vjpmaker: Callable) -> None:
    """``vjpmaker(argnums, ans, args, kwargs)`` returns ``g -> sequence of gradients``, one per argnum."""
    prim = _check(fun, "defvjp_argnums")
    prim.vjp_argnum = lambda n, ans, args, kwargs: _first_of(vjpmaker((n,), ans, args, kwargs))
    _install(prim)


def defjvp(fun: UserPrimitive, *jvpfuns, argnums=None) -> None:
    """Forward-mode rules ``jvp(g, ans, *args, **kwargs)`` (``None``: zero; ``'same'``: ``fun`` is linear in that
    argument). Without a vjp, reverse mode uses them by transposition (see the module docstring)."""
    prim = _check(fun, "defjvp")
    for n, jvp in zip(count() if argnums is None else argnums, jvpfuns):
        prim.jvps[n] = _jvp_rule(prim, n, jvp)
    _install(prim)


def defjvp_argnum(fun: UserPrimitive, jvpmaker: Callable) -> None:
    """One forward rule for every argument: ``jvpmaker(argnum, g, ans, args, kwargs)``."""
    prim = _check(fun, "defjvp_argnum")
    prim.jvp_argnum = jvpmaker
    _install(prim)


def _jvp_rule(prim, n, jvp):
    if jvp is None:
        import imperdl.numpy as np

        return lambda g, ans, *args, **kwargs: np.zeros_like(ans)
    if isinstance(jvp, str) and jvp == "same":
        return lambda g, ans, *args, **kwargs: prim(*args[:n], g, *args[n + 1:], **kwargs)
    if not callable(jvp):
        raise TypeError(f"defjvp: bad JVP {jvp!r} for {prim.name} (argument {n})")
    return jvp


__all__ = ["primitive", "defvjp", "defvjp_argnum", "defvjp_argnums", "defjvp", "defjvp_argnum", "UserPrimitive"]
