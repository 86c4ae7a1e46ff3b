"""What a gradient rule reads, so the tape keeps only that.

A tape entry used to keep every array argument and the result of its call until the backward pass reached it; most
rules read a fraction of them (``add``'s rule reads no value at all, ``exp``'s only its result, ``multiply``'s the
*other* factor). A rule may therefore declare its reads, once, where it is defined:

    reads=("ans", 0)             the result and positional argument 0, whichever argument is differentiated
    reads={0: (1,), 1: (0,)}     per differentiated position: what the rule for that position reads

Items are ``"ans"`` and positional argument indices (a list/tuple argument such as ``concatenate``'s counts as one
position, all its elements). The tape keeps the union over the positions it will differentiate, and puts an
``Absent`` in place of every other array: it carries ``shape``, ``dtype``, ``ndim`` and ``size`` (what ``sum``'s
rule needs of its input) and raises ``UndeclaredReadError`` on anything else, so a wrong declaration fails loudly
instead of giving a wrong gradient. Without a declaration (the default, and every rule ``imperdl.extend`` or
``customop`` defines unless it declares) everything is kept, as before. Keyword arguments are always kept: a
declaration names positions, and a keyword may stand for any of them.

A rule that does not read a value does not depend on it, so under higher order nothing is lost: the outer tape
sees, through the inner rule's recorded operations, exactly the values the rule used.
"""
from __future__ import annotations

import math

import numpy

from .array import Array


class UndeclaredReadError(RuntimeError):
    """A gradient rule read a value its ``reads`` declaration says it does not read."""


class Absent:
    """Stands in a tape entry for an array its rule does not read: its shape and dtype, nothing else."""

    __slots__ = ("shape", "dtype", "_prim", "_where")

    def __init__(self, shape, dtype, prim, where):
        self.shape = shape
        self.dtype = dtype
        self._prim = prim
        self._where = where

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def _refuse(self, what: str = "its value"):
        name = getattr(self._prim, "name", repr(self._prim))
        where = "its result" if self._where == "ans" else f"argument {self._where}"
        raise UndeclaredReadError(
            f"the gradient rule of {name} read {what} of {where}, which its reads declaration says it does "
            "not read (the tape did not keep it): add it to the rule's reads=..."
        )

    def __getattr__(self, attr):
        self._refuse(f"attribute {attr!r}")

    def __array__(self, *args, **kwargs):
        self._refuse()

    def __repr__(self):
        where = "result" if self._where == "ans" else f"argument {self._where}"
        return f"<absent {where}: shape {self.shape}, dtype {self.dtype}>"

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def _op(self, *args, **kwargs):
        self._refuse()

    __bool__ = __float__ = __int__ = __index__ = __complex__ = __iter__ = __getitem__ = _op
    __neg__ = __pos__ = __abs__ = __invert__ = _op
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _op
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _op
    __lt__ = __le__ = __gt__ = __ge__ = __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _op

    # NumPy functions given an Absent refuse too (no object array), except the metadata ones
    def __array_ufunc__(self, *args, **kwargs):
        self._refuse()

    def __array_function__(self, func, types, args, kwargs):
        if func is numpy.shape:
            return self.shape
        if func is numpy.ndim:
            return self.ndim
        if func is numpy.size:
            axis = args[1] if len(args) > 1 else kwargs.get("axis")
            return self.size if axis is None else self.shape[axis]
        self._refuse(f"numpy.{getattr(func, '__name__', func)}")

    def __eq__(self, other):
        self._refuse()

    __ne__ = __eq__
    __hash__ = object.__hash__


class Plan:
    """A compiled declaration: keep the result (``ans``) and the positional arguments in ``args``."""

    __slots__ = ("ans", "args")

    def __init__(self, ans: bool, args: frozenset):
        self.ans = ans
        self.args = args


class PerPosition(dict):
    """``{differentiated position: Plan}``; unions for a set of positions are cached under their tuple."""

    __slots__ = ()


def compile_reads(spec):
    """A declaration (see the module docstring) as the tape reads it: None (keep all), a Plan or a PerPosition."""
    if spec is None:
        return None
    if isinstance(spec, (Plan, PerPosition)):
        return spec
    if isinstance(spec, dict):
        table = PerPosition()
        for pos, items in spec.items():
            if type(pos) is not int:
                raise TypeError(f"reads: differentiated positions are ints, got {pos!r}")
            table[pos] = compile_reads(items)
        return table
    if isinstance(spec, str):
        spec = (spec,)
    items = tuple(spec)
    for it in items:
        if not (it == "ans" or (type(it) is int and it >= 0)):
            raise TypeError(f"reads: items are 'ans' or non-negative positional indices, got {it!r}")
    return Plan("ans" in items, frozenset(it for it in items if type(it) is int))


def declare(fn, spec):
    """Attach a reads declaration to a vjp function (the tape looks it up as ``fn.reads``); returns ``fn``."""
    fn.reads = compile_reads(spec)
    return fn


def plan_for(table: PerPosition, parents):
    """The union of the plans of the differentiated ``parents`` positions (None: one of them keeps everything)."""
    key = tuple(p for p, _ in parents)
    got = table.get(key, 0)
    if got != 0:
        return got
    ans, args = False, set()
    plan = None
    for p in key:
        one = table.get(p[0] if type(p) is tuple else p)
        if one is None:  # a keyword, or a position the declaration leaves out: keep everything
            break
        ans = ans or one.ans
        args |= one.args
    else:
        plan = Plan(ans, frozenset(args))
    table[key] = plan
    return plan


def absent(x, prim, where):
    """``x`` with its arrays replaced by ``Absent`` (other values, such as axes and Python numbers, kept);
    ``where``: the position it was (an int, or "ans"), for the error message."""
    t = type(x)
    if t is Array or t is numpy.ndarray:
        return Absent(x.shape, x.dtype, prim, where)
    if t is list or t is tuple:
        return t(absent(e, prim, where) for e in x)
    if isinstance(x, tuple):  # a namedtuple result
        return t(*(absent(e, prim, where) for e in x))
    return x
