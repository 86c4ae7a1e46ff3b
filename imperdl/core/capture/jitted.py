"""``jit(f)``: ``f`` traced once per input signature, replayed as a compiled plan afterwards.

The signature (the cache key) holds the tree structure of the arguments; per array leaf its shape, dtype, whether
it is a view and (0-d) whether it stands for a NumPy scalar; other leaves by type and value; whether an array is
passed twice; the policy and the context.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import numpy

from ... import context as _context
from .. import policy as _policy
from ..array import Array
from ..backends import mxnet_inputs as _mx_inputs
from ..recording import state as _rec
from .errors import JitError
from .plan import RETRACE, build
from .tracer import Tracer

_ndarray = numpy.ndarray
_policy_block = _policy.blocks.inner


def _leaf_key(x, leaves: list, name: str):
    t = type(x)
    if t is Array:
        leaves.append(x)
        shape = x._shape
        if shape is None:
            shape = x.shape
        # (not which backends hold it: a plan reads each input onto the backend its trace used, copying if need
        # be, so an array that gained or lost a copy since, as Adam's moments do, needs no second trace)
        view = x._view is not None
        if shape:
            return (shape, x._dtype or x.dtype, view)
        return (shape, x._dtype or x.dtype, view, getattr(x, "_scalar", False))  # (0-d: a NumPy scalar or not)
    if t is _ndarray:
        leaves.append(x)
        return ("n", x.shape, x.dtype)
    if t is list or t is tuple or isinstance(x, tuple):
        return (t, tuple([_leaf_key(e, leaves, name) for e in x]))
    if t is dict:
        return (dict, tuple([(k, _leaf_key(v, leaves, name)) for k, v in x.items()]))
    if _mx_inputs.is_mx(x):
        raise JitError(f"jit({name}): an MXNet array argument ({type(x).__name__}): convert it with "
                       "imperdl.numpy.array() first")
    try:
        hash(x)
    except TypeError:
        raise JitError(f"jit({name}): argument of type {t.__name__} is neither an array nor hashable, so it "
                       "cannot be part of the cache key: pass it as a static argument (static_argnums / "
                       "static_argnames) or make it hashable") from None
    return (t, x)


def _as_arrays(x, seen: list):
    """The argument tree as ``f`` sees it while traced: numpy.ndarray leaves become Arrays over the same memory
    (NumPy's own methods on them would compute unseen); ``seen`` gets the array leaves in ``_leaf_key``'s order."""
    t = type(x)
    if t is Array:
        seen.append(x)
        return x
    if t is _ndarray:
        a = Array(x)
        seen.append(a)
        return a
    if t is list or t is tuple:
        return t([_as_arrays(e, seen) for e in x])
    if isinstance(x, tuple):
        return t(*[_as_arrays(e, seen) for e in x])
    if t is dict:
        return {k: _as_arrays(v, seen) for k, v in x.items()}
    return x


def _static_key(x):
    try:
        hash(x)
        return (type(x), x)
    except TypeError:
        return ("id", id(x))  # an unhashable static argument: the same object, the same plan


class Jitted:
    """``f`` with its traced plans (see ``jit``)."""

    def __init__(self, fun: Callable, static_argnums=(), static_argnames=()):
        self.fun = fun
        self.static_argnums = frozenset((static_argnums,) if isinstance(static_argnums, int) else static_argnums)
        self.static_argnames = frozenset((static_argnames,) if isinstance(static_argnames, str) else static_argnames)
        self.name = getattr(fun, "__name__", "f")
        self.traces = 0
        self._plans: dict = {}
        self._lock = threading.Lock()
        self._statics: list = []  # unhashable static arguments keyed by id: kept alive so ids stay theirs
        functools.update_wrapper(self, fun)

    def _key(self, args, kwargs):
        leaves: list = []
        sa, name = self.static_argnums, self.name
        if sa:
            parts = [_static_key(a) if i in sa else _leaf_key(a, leaves, name) for i, a in enumerate(args)]
        else:
            parts = [_leaf_key(a, leaves, name) for a in args]
        if kwargs:
            sn = self.static_argnames
            parts.append(tuple([(k, _static_key(v) if k in sn else _leaf_key(v, leaves, name))
                                for k, v in kwargs.items()]))
        if len(leaves) > 1:
            parts.append(len({id(x) for x in leaves}))  # (an argument passed twice is one array: aliasing)
        pol = _policy_block.get() or _policy.current
        parts.append(id(pol))
        parts.append(_context._current or _context.current_context())
        return tuple(parts), leaves, pol

    def __call__(self, *args, **kwargs):
        if _rec.stack:  # a tape records (grad of a jitted function) or an outer trace inlines: run f itself
            return self.fun(*args, **kwargs)
        key, leaves, pol = self._key(args, kwargs)
        plan = self._plans.get(key)
        if plan is not None:
            out = self._replay(plan, leaves, args, kwargs)
            if out is not RETRACE:
                return out
        return self._trace(key, leaves, pol, args, kwargs)

    def _replay(self, plan, leaves, args, kwargs):
        """``plan``'s outputs, or ``RETRACE``. A replay that raises (a value the trace did not meet: a singular
        matrix, an index out of range) runs ``f`` as it would without jit instead: the error names the operator
        and its arguments' shapes, as eager's does (the replay's own is the backend's bare text). A plan writes
        its in-place updates back only at its end, so the failed replay changed nothing."""
        try:
            return plan(leaves)
        except Exception:
            return self.fun(*args, **kwargs)

    def _trace(self, key, leaves, pol, args, kwargs):
        seen: list = []
        sa, sn = self.static_argnums, self.static_argnames
        args = [a if i in sa else _as_arrays(a, seen) for i, a in enumerate(args)]
        kwargs = {k: v if k in sn else _as_arrays(v, seen) for k, v in kwargs.items()}
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:  # another thread traced this signature meanwhile
                out = self._replay(plan, leaves, args, kwargs)
                if out is not RETRACE:
                    return out
            tracer = Tracer(self.name, leaves, seen)
            _rec.stack.append(tracer)
            try:
                out = self.fun(*args, **kwargs)
            finally:
                _rec.stack.remove(tracer)
            tpl = tracer.outputs(out)
            tracer.check_leaks(out, tpl)
            plan = build(tracer, tpl, self.name)
            plan.policy = pol  # (the key holds its id: keep it alive)
            self._plans[key] = plan
            self.traces += 1
        return out

    def __get__(self, obj, objtype=None):
        """``@jit`` on a method: bound to its instance (part of the cache key, by identity)."""
        return self if obj is None else functools.partial(self, obj)

    def plan_source(self) -> list[str]:
        """The generated source of each plan (for inspection and tests)."""
        return [p.source for p in self._plans.values()]


def jit(fun: Callable | None = None, *, static_argnums=(), static_argnames=()):
    """``f`` compiled per input signature: the first call runs ``f`` and records every dispatched call, later calls
    with the same signature replay that record with no dispatch or tape work, giving the same numbers bit for bit.

    Composes with the differential operators: ``jit(grad(f))`` and a whole training step (gradient and in-place
    optimiser update) are captured. ``grad(jit(f))`` runs ``f`` eagerly under the tape (the same numbers), and a
    jitted function called while another is traced is inlined. Python control flow on array values, arrays stored
    where jit cannot see (a dict, an attribute) and writes through views raise ``JitError``. Closed-over
    parameters are read at every call (in-place updates are seen; rebinding the name to a new array is not).
    NumPy's own ``numpy.random`` called on raw arrays inside ``f`` is not seen: use ``imperdl.numpy.random``.
    """
    if fun is None or isinstance(fun, int):
        if isinstance(fun, int):
            static_argnums = fun
        return lambda f: Jitted(f, static_argnums, static_argnames)
    return Jitted(fun, static_argnums, static_argnames)
