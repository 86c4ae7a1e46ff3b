"""Arrays built from traced values: a (nested) list or tuple holding traced arrays becomes a differentiable array.

NumPy reads a list argument as an array_like (``np.mean([x, y])``, ``np.array([[x0, x1], [2.0, x2]])``), or, for
``concatenate`` & co, as a sequence whose elements are array_likes. The forward pass converts such lists on the
host as usual; when the call is recorded, each list that holds a value some active tape traces is replaced, in
what the tape keeps, by ``imperdl.numpy.array(list)``, itself recorded: its rule hands each element its slice of
the gradient (``g[j]``), and its own nested lists are lifted the same way, so any depth of nesting reduces to
one rule. Rules therefore only ever see arrays, or (at a primitive's declared sequence positions) lists of
arrays. Only calls recorded while a tape is active pay for this: the forward path is unchanged.
"""
from __future__ import annotations

from .array import Array
from .tape import state


def traced(x) -> bool:
    """Whether ``x`` is, or the (nested) list/tuple ``x`` holds, an array traced by an active tape."""
    stack = [(x,)]
    tapes = state.stack
    while stack:
        for e in stack.pop():
            t = type(e)
            if t is Array:
                n = e._node
                if n is not None:
                    for tape in tapes:
                        if tape in n:
                            return True
            elif t is list or t is tuple:
                stack.append(e)
    return False


def _pack(x):
    from .registry import primitive

    return primitive("array")(x)


def _lift_one(x, is_sequence: bool):
    t = type(x)
    if (t is not list and t is not tuple) or not traced(x):
        return x
    if not is_sequence:
        return _pack(x)
    return t(_pack(e) if (type(e) is list or type(e) is tuple) and traced(e) else e for e in x)


def lift(prim, args: tuple, kwargs: dict):
    """``args``/``kwargs`` as the tape records them: traced lists become arrays (``prim.sequences``: see above)."""
    seqs = prim.sequences
    args = tuple(_lift_one(a, i in seqs) for i, a in enumerate(args))
    if kwargs:
        kwargs = {k: _lift_one(v, k in seqs) for k, v in kwargs.items()}
    return args, kwargs
