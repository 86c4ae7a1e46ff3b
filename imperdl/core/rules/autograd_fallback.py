"""Rules borrowed from HIPS autograd for NumPy-only functions that have no rule of ours.

They run on the host with NumPy arrays, so they give first derivatives only (the tape cannot see inside them).
"""
from __future__ import annotations

import numpy


def _autograd_primitive(name: str):
    try:
        import autograd.numpy as anp
        from autograd.core import primitive_vjps
    except ImportError:  # pragma: no cover - autograd is a dependency
        return None, None
    obj = anp
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None, None
    return (obj, primitive_vjps[obj]) if obj in primitive_vjps else (None, None)


def _host(x):
    from ..array import _to_host_tree

    return _to_host_tree(x)  # (a jit trace sees this host read: the rule runs outside dispatch)


def _refuse_if_traced(prim, tree) -> None:
    """A borrowed rule is opaque to the tape: under higher order, refuse rather than give a wrong zero."""
    from ..array import Array
    from ..tape import NoGradientError, state

    if not state.stack:
        return
    stack = [tree]
    while stack:
        x = stack.pop()
        if type(x) is Array:
            if x._node is not None and any(t in x._node for t in state.stack):
                raise NoGradientError(
                    f"imperdl.numpy.{prim.name}: its gradient comes from HIPS autograd's rule, which runs on the "
                    "host outside the tape, so it cannot be differentiated again (higher order)"
                )
        elif type(x) in (list, tuple):
            stack.extend(x)
        elif type(x) is dict:
            stack.extend(x.values())


def rule_for(prim):
    """A vjp for ``prim`` taken from autograd's table, or None. Cached on the primitive."""
    if prim.space != "imperdl.numpy":
        return None  # a user's primitive named like a NumPy function (``exp``) must not borrow that rule
    if prim.name.startswith("ndarray.") or "." in prim.name and prim.name.split(".")[0] not in ("linalg", "fft"):
        return None
    _, table = _autograd_primitive(prim.name)
    if table is None:
        return None
    from ..array import Array

    def vjp(pos, g, ans, args, kwargs):
        if type(pos) is not int:
            raise NotImplementedError(f"imperdl.numpy.{prim.name}: autograd's rule takes positional arguments only")
        _refuse_if_traced(prim, (g, ans, args, kwargs))
        host_args = tuple(_host(a) for a in args)
        host_kwargs = {k: _host(v) for k, v in kwargs.items()}
        out = table((pos,), _host(ans), host_args, host_kwargs)(_host(g))[0]
        return Array(numpy.asarray(out))

    vjp.source = "autograd"
    prim.vjp = vjp
    return vjp
