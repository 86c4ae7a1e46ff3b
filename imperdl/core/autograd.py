"""Differential operators: compositions over one primitive operation, ``make_vjp``.

Arguments may be Arrays, NumPy arrays, Python scalars, or lists/tuples/dicts of them; the gradient has the same
structure (a params dict gives a grads dict). A non-scalar output is differentiated as its sum. Gradients are
Arrays with the shape and dtype of their argument (Python and integer scalars give float64 0-d arrays).
"""
from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy

from .array import Array
from .backends import mxnet_inputs as _mx_inputs
from .tape import Tape, _snapshot, state


def _as_array(x) -> Array:
    if type(x) is not Array and _mx_inputs.is_mx(x):
        x = _mx_inputs.wrap(x)  # the user's MXNet array, read where it lives
    if type(x) is Array:
        return x if x.dtype.kind in "fc" else x.astype(numpy.float64)
    a = numpy.asarray(x)
    if a.dtype.kind not in "fc":
        a = a.astype(numpy.float64)
    if state.stack:  # through dispatch, so that a jit trace sees where this array came from
        from .registry import primitive

        return primitive("asarray")(a)
    return Array(a)


def _rebuild(t: type, items: list):
    """A list/tuple of type ``t`` holding ``items`` (namedtuples, such as NumPy 2's SVDResult, take them spread)."""
    return t(*items) if hasattr(t, "_fields") else t(items)


def _numbers_only(x) -> bool:
    """A rectangular (nested) list/tuple of Python numbers: array-like data, not a container of parameters
    (``[2.0, [3.0]]`` is a container: its leaves are separate arguments)."""
    if all(type(e) in (int, float, bool) for e in x):
        return True
    if not all(type(e) in (list, tuple) for e in x):
        return False
    n = len(x[0])
    return all(len(e) == n for e in x) and all(e and _numbers_only(e) for e in x)


def _watch_tree(tape: Tape, x):
    t = type(x)
    if (t is list or t is tuple) and x and _numbers_only(x):
        # one array, as HIPS autograd treats it: watching each number apart would lose the gradient wherever
        # a primitive turns the list into an array (``np.cos([[1.0, 2.0]])``)
        return tape.watch(_as_array(x))
    if t is list or t is tuple or isinstance(x, tuple):
        return _rebuild(t, [_watch_tree(tape, e) for e in x])
    if t is dict:
        return {k: _watch_tree(tape, v) for k, v in x.items()}
    return tape.watch(_as_array(x))


def _leaves_of(x, out: list) -> list:
    t = type(x)
    if t is list or t is tuple or isinstance(x, tuple):
        for e in x:
            _leaves_of(e, out)
    elif t is dict:
        for v in x.values():
            _leaves_of(v, out)
    elif t is Array:
        out.append(x)
    return out


def _map_tree(fn, x, *rest):
    t = type(x)
    if t is list or t is tuple or isinstance(x, tuple):
        return _rebuild(t, [_map_tree(fn, e, *(r[i] for r in rest)) for i, e in enumerate(x)])
    if t is dict:
        return {k: _map_tree(fn, v, *(r[k] for r in rest)) for k, v in x.items()}
    return fn(x, *rest)


def _argnums(argnum) -> tuple[tuple, bool]:
    """``(positions, many)``: an int is one argument; any iterable of ints (tuple, list, ``range(n)``) is many."""
    if isinstance(argnum, numbers.Integral):
        return (argnum,), False
    try:
        nums = tuple(argnum)
    except TypeError:
        raise TypeError(f"argnum must be an int or an iterable of ints, got {type(argnum).__name__}") from None
    if not all(isinstance(n, numbers.Integral) for n in nums):
        raise TypeError(f"argnum must be an int or an iterable of ints, got {nums!r}")
    return nums, True


def make_vjp(f: Callable, argnum=0) -> Callable:
    """``make_vjp(f, argnum)(*args) -> (vjp, value)``; ``vjp(g)`` maps an output cotangent to input gradients.

    ``vjp`` may be called many times (``jacobian`` does); ``g=None`` means ones (the sum of the output).
    """
    nums, many = _argnums(argnum)

    def maker(*args, **kwargs):
        tape = Tape()
        args = list(args)
        given = [args[n] for n in nums]
        for n in nums:
            args[n] = _watch_tree(tape, args[n])
        watched = [args[n] for n in nums]
        # leaf entries fixed before f runs: an in-place update inside f re-points the argument's node
        leaf_ids = [_map_tree(lambda a: a._node[tape][0], w) for w in watched]
        state.stack.append(tape)
        try:
            ans = f(*args, **kwargs)
            for o in _leaves_of(ans, []):
                if o._view is not None:
                    o._check_view()  # a view whose root changed since it was last read: its node follows the root
        finally:
            state.stack.remove(tape)

        def vjp(g=None, _retain=True):
            grads = _backward(tape, ans, g, watched, leaf_ids, _retain)
            grads = tuple(_shaped_like(gr, x) for gr, x in zip(grads, given))
            return grads if many else grads[0]

        return vjp, ans

    return maker


def _shaped_like(g, x):
    """Gradient ``g`` in the structure of argument ``x``: a list of numbers, watched as one array, gets its
    gradient back as a list of 0-d arrays, as HIPS autograd gives it."""
    t = type(x)
    if t is list or t is tuple or isinstance(x, tuple):
        return _rebuild(t, [_shaped_like(g[i], e) for i, e in enumerate(x)])
    if t is dict:
        return {k: _shaped_like(g[k], v) for k, v in x.items()}
    return g


def _backward(tape: Tape, ans, g, watched, leaf_ids, retain: bool):
    import imperdl.numpy as np

    outs = _leaves_of(ans, [])
    gs = _leaves_of(_map_tree(_as_array, g), []) if g is not None else [None] * len(outs)
    if len(gs) != len(outs):
        raise ValueError(f"vjp: the cotangent has {len(gs)} arrays, the output {len(outs)}")
    seeds = []
    for o, go in zip(outs, gs):
        if o._node is None or tape not in o._node:
            continue
        if go is None:
            go = np.ones_like(o)
        elif not isinstance(go, Array):
            go = _as_array(go)
        seeds.append((o._node[tape], go))
    leaf_grads = tape.backward(seeds, retain=retain) if seeds else {}

    def grad_of(leaf, idx):
        gl = leaf_grads.get(idx)
        if gl is None:
            return np.zeros_like(leaf)
        if type(gl) is not Array:
            gl = _as_array(gl)
        if gl.shape != leaf.shape:  # only a leaf used directly as the output can get here
            raise AssertionError(f"gradient of shape {gl.shape} for an argument of shape {leaf.shape}")
        if gl.dtype != leaf.dtype:
            gl = gl.real.astype(leaf.dtype) if leaf.dtype.kind != "c" else gl.astype(leaf.dtype)
        return gl

    return tuple(_map_tree(grad_of, w, ids) for w, ids in zip(watched, leaf_ids))


def _detach(x):
    """``x`` without this computation's tape references (so a kept loss does not keep the graph alive)."""
    def one(a):
        if type(a) is not Array or a._node is None:
            return a
        live = {t: r for t, r in a._node.items() if t in state.stack}
        if len(live) == len(a._node):
            return a
        d = Array.__new__(Array)
        d._data, d._shape, d._dtype, d._ctx, d._keyc = list(a._data), a._shape, a._dtype, a._ctx, a._keyc
        d._version, d._view, d._cow, d._node = 0, None, True, live or None
        d._scalar = getattr(a, "_scalar", False)
        a._cow = True
        return d

    return _map_tree(one, x)


def stop_gradient(x: Any):
    """``x``'s value, cut from every tape: running statistics, targets and logged values stay constants.

    No data is copied (the result shares storage, copy-on-write); works on nested lists/tuples/dicts.
    """
    def one(a):
        if type(a) is not Array:
            return a
        d = _snapshot(a)
        d._node = None
        d._scalar = getattr(a, "_scalar", False)
        return d

    return _map_tree(one, x)


def _complex_output(x):
    """The dtype of the first complex value in ``x`` (any nesting), or None."""
    t = type(x)
    if t is Array:
        return x.dtype if x.dtype.kind == "c" else None
    if t is list or t is tuple or isinstance(x, tuple):
        for e in x:
            d = _complex_output(e)
            if d is not None:
                return d
    elif t is dict:
        return _complex_output(list(x.values()))
    elif isinstance(x, (complex, numpy.complexfloating)):
        return numpy.result_type(x)
    return None


def _gradient_of(f: Callable, argnum, what: str) -> Callable:
    """``(*args) -> (gradients, loss)``; a complex-valued ``f`` raises TypeError, as under HIPS autograd (the
    gradient of a complex function is not one array: differentiate a real function of it)."""
    nums, many = _argnums(argnum)  # once: a generator of argnums is read here, not consumed by the first call
    argnum = nums if many else nums[0]

    def wrapped(*args, **kwargs):
        vjp, ans = make_vjp(f, argnum)(*args, **kwargs)
        dt = _complex_output(ans)
        if dt is not None:
            raise TypeError(
                f"{what} only applies to real-output functions, and {getattr(f, '__name__', 'f')} returned a {dt} "
                "value: differentiate a real function of it (np.real(...), np.imag(...) or np.abs(...)), or use "
                "make_vjp/jacobian for the complex map itself"
            )
        return vjp(None, _retain=False), _detach(ans)

    return wrapped


def grad_and_loss(f: Callable, argnum=0) -> Callable:
    """``grad_and_loss(f, argnum)(*args) -> (gradients, loss)`` — MinPy's order."""
    return _named(_gradient_of(f, argnum, "grad_and_loss"), f, "grad_and_loss")


def value_and_grad(f: Callable, argnum=0) -> Callable:
    """``value_and_grad(f, argnum)(*args) -> (value, gradients)`` — autograd's and JAX's order."""
    gl = _gradient_of(f, argnum, "value_and_grad")

    def wrapped(*args, **kwargs):
        g, v = gl(*args, **kwargs)
        return v, g

    return _named(wrapped, f, "value_and_grad")


def grad(f: Callable, argnum=0) -> Callable:
    """The gradient of ``f`` w.r.t. argument ``argnum`` (a tuple/list of argnums gives a tuple of gradients)."""
    return _named(_first(_gradient_of(f, argnum, "grad")), f, "grad")


def elementwise_grad(f: Callable, argnum=0) -> Callable:
    """The vjp with a cotangent of ones: for elementwise ``f``, the derivative at every element."""
    return _named(_first(_gradient_of(f, argnum, "elementwise_grad")), f, "elementwise_grad")


def _first(gl):
    def wrapped(*args, **kwargs):
        return gl(*args, **kwargs)[0]

    return wrapped


def jacobian(f: Callable, argnum=0) -> Callable:
    """Array of shape ``out.shape + x.shape`` with d out[i] / d x[j]."""
    def wrapped(*args, **kwargs):
        import imperdl.numpy as np

        vjp, ans = make_vjp(f, argnum)(*args, **kwargs)
        ans = _as_array(ans)
        x = _as_array(args[argnum])
        n = ans.size
        basis = np.eye(n, dtype=ans.dtype)
        rows = [vjp(basis[i].reshape(ans.shape)) for i in range(n)]
        if not rows:
            return np.zeros(ans.shape + x.shape, dtype=x.dtype)
        return np.stack(rows).reshape(ans.shape + x.shape)

    return _named(wrapped, f, "jacobian")


def hessian(f: Callable, argnum=0) -> Callable:
    """The Jacobian of the gradient."""
    return _named(jacobian(grad(f, argnum), argnum), f, "hessian")


def hessian_vector_product(f: Callable, argnum=0) -> Callable:
    """``hessian_vector_product(f)(*args, v)``: H(f)(args) @ v without forming H."""
    def wrapped(*args, **kwargs):
        import imperdl.numpy as np

        *xs, v = args

        def inner(*a):
            return np.sum(grad(f, argnum)(*a, **kwargs) * v)

        return grad(inner, argnum)(*xs)

    return _named(wrapped, f, "hessian_vector_product")


class _Checkpointed:
    """The single tape entry of a checkpointed function: its vjp re-runs the function under a fresh tape."""

    nondiff = False

    def __init__(self, f):
        self.f = f
        self.name = f"checkpoint({getattr(f, '__name__', 'f')})"

    def vjp(self, pos, g, ans, args, kwargs):
        if type(pos) is not int:
            raise NotImplementedError(f"{self.name}: differentiate positional array arguments only")
        vjp, _ = make_vjp(self.f, pos)(*args, **kwargs)
        return vjp(g)


def checkpoint(f: Callable) -> Callable:
    """``f`` with its intermediates not kept: the backward pass recomputes them (memory for time)."""
    entry = _Checkpointed(f)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        if not state.stack:
            return f(*args, **kwargs)
        saved = state.stack[:]
        state.stack[:] = [r for r in saved if r.capturing]  # a jit tracer records the calls themselves
        try:
            ans = f(*args, **kwargs)
        finally:
            state.stack[:] = saved
        for tape in saved:
            if not tape.capturing:
                tape.record(entry, args, kwargs, ans)
        return ans

    return wrapped


# ------------------------------------------------------------------------------------ conversions
def imperdl_to_numpy(x: Any):
    """Arrays inside ``x`` (any nesting of lists/tuples/dicts) as NumPy arrays."""
    return _map_tree(lambda a: a.asnumpy() if type(a) is Array else a, x)


def numpy_to_imperdl(x: Any):
    """NumPy arrays inside ``x`` as imperdl Arrays."""
    return _map_tree(lambda a: Array(a) if type(a) is numpy.ndarray else a, x)


def convert_args(f: Callable) -> Callable:
    """Decorator: NumPy array arguments arrive as imperdl Arrays."""
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        return f(*numpy_to_imperdl(args), **numpy_to_imperdl(kwargs))

    return wrapped


def return_numpy(f: Callable) -> Callable:
    """Decorator: results are returned as NumPy arrays."""
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        return imperdl_to_numpy(f(*args, **kwargs))

    return wrapped


def _named(wrapped, f, what):
    wrapped.__name__ = f"{what}({getattr(f, '__name__', 'f')})"
    wrapped.__doc__ = f"{what} of {getattr(f, '__name__', 'f')}"
    wrapped.__wrapped__ = f
    return wrapped
