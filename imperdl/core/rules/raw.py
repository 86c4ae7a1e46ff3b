"""Gradient rules on host values, for the backward walks nothing observes.

The rule tables write every rule with ``imperdl.numpy``, so an outer tape (higher order) or a jit tracer records
it. When nothing is on the tape stack and the policy runs every call on NumPy, that dispatch buys nothing: here
the same expressions run on the host arrays directly. Each rule makes the NumPy calls its dispatched twin makes,
with the same operands in the same order, so the gradients are bit for bit the same (the tests compare every
rule here with its twin). A rule returns ``NotImplemented`` for a call it does not mirror (keywords, a general
index): the walk then runs the dispatched rule.

``raw(pos, g, ans, args)``: ``g`` a NumPy array or scalar; ``ans`` and ``args`` as the tape kept them (snapshot
Arrays, ``Absent`` stand-ins, Python values).
"""
from __future__ import annotations

import math

import numpy as onp

from ..array import Array
from ..dispatch import _np_arg as host
from ..reads import Absent
from ..registry import in_numpy, primitive
from .indexing import _basic_plan, place_basic
from .util import shape_of

_multiply, _true_divide, _negative, _subtract = onp.multiply, onp.true_divide, onp.negative, onp.subtract
_ndarray = onp.ndarray
_SHAPED = (Array, Absent)  # (their shape is a tuple already)


def unbroadcast(g, target):
    """``util.unbroadcast`` on host values (the same sums)."""
    shape = target.shape if type(target) in _SHAPED else shape_of(target)
    gshape = g.shape if type(g) is _ndarray else onp.shape(g)
    if gshape == shape:
        return g
    extra = len(gshape) - len(shape)
    if extra > 0:
        g = onp.sum(g, axis=tuple(range(extra)))
    gshape = onp.shape(g)
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and gshape[i] != 1)
    if axes:
        g = onp.sum(g, axis=axes, keepdims=True)
    return g


def _add(pos, g, ans, args):
    return unbroadcast(g, args[pos])


def _sub(pos, g, ans, args):
    return unbroadcast(g if pos == 0 else _negative(g), args[pos])


def _mul(pos, g, ans, args):
    return unbroadcast(_multiply(g, host(args[1 - pos])), args[pos])


def _div(pos, g, ans, args):
    y = host(args[1])
    if pos == 0:
        return unbroadcast(_true_divide(g, y), args[0])
    return unbroadcast(_true_divide(_multiply(_negative(g), host(ans)), y), args[1])


def _power(pos, g, ans, args):
    x, y = host(args[0]), host(args[1])
    if pos == 0:
        if isinstance(y, (int, float)):
            ym1 = y - 1 if y != 0 else 1
        else:
            ym1 = onp.where(onp.equal(y, 0), 1.0, _subtract(y, 1.0))
        return unbroadcast(_multiply(_multiply(g, y), onp.power(x, ym1)), args[0])
    safe = onp.where(onp.equal(x, 0), 1.0, x)
    return unbroadcast(_multiply(_multiply(g, onp.log(safe)), host(ans)), args[1])


def _unary(deriv):
    def rule(pos, g, ans, args):
        if pos != 0:
            return NotImplemented
        return _multiply(g, deriv(ans, args[0]))

    return rule


def _sum(pos, g, ans, args):
    if len(args) != 1:
        return NotImplemented
    return onp.broadcast_to(g, shape_of(args[0]))


def _mean(pos, g, ans, args):
    if len(args) != 1:
        return NotImplemented
    shape = shape_of(args[0])
    return onp.broadcast_to(_true_divide(g, math.prod(shape)), shape)


def _getitem(pos, g, ans, args):
    if pos != 0:
        return NotImplemented
    a, key = args
    plan = _basic_plan(shape_of(a), key)
    if plan is None or 0 in plan[0]:
        return NotImplemented  # (the general scatter-add)
    return place_basic(g, plan, onp)


def _h(f):
    """A derivative of ``(ans, x)`` written on their host values."""
    return lambda ans, x: f(host(ans), host(x))


# the dispatched twins: rules/elementwise.py (_UNARY, _binary), reductions.py (sum, mean), indexing.py (getitem)
TABLE = {
    "add": _add,
    "subtract": _sub,
    "multiply": _mul,
    "true_divide": _div,
    "power": _power,
    "negative": lambda pos, g, ans, args: _negative(g),
    "exp": _unary(_h(lambda ans, x: ans)),
    "tanh": _unary(_h(lambda ans, x: _subtract(1.0, _multiply(ans, ans)))),
    "sin": _unary(_h(lambda ans, x: onp.cos(x))),
    "cos": _unary(_h(lambda ans, x: _negative(onp.sin(x)))),
    "log": _unary(_h(lambda ans, x: _true_divide(1.0, x))),
    "sqrt": _unary(_h(lambda ans, x: _true_divide(0.5, ans))),
    "square": _unary(_h(lambda ans, x: _multiply(2.0, x))),
    "reciprocal": _unary(_h(lambda ans, x: _negative(_multiply(ans, ans)))),
    "sum": _sum,
    "mean": _mean,
    "ndarray.__getitem__": _getitem,
}


def install() -> None:
    """Give each primitive of the table its host rule (``Primitive.raw_vjp``), tied to the rule it mirrors
    (``raw_for``): a primitive whose ``vjp`` is replaced later runs the new rule, not a stale twin."""
    for name, rule in TABLE.items():
        if in_numpy(name):
            p = primitive(name)
            p.raw_vjp, p.raw_for = rule, p.vjp
