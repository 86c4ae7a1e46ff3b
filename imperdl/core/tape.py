"""The tape: what ran, recorded while a differential operator is active, and the backward walk over it.

Tapes form a thread-local stack; every active tape sees every dispatched call whose inputs it traces, so a rule
run during an inner backward pass is recorded by the outer tapes (higher order falls out). An array traced by a
tape carries ``_node = {tape: (entry index, output index)}``. Entries keep *snapshots* of the arrays their rule
reads (new Array objects sharing the buffers; see ``reads``: the others stand as ``Absent``, shape and dtype) and
the originals are marked copy-on-write, so a later in-place update of a recorded array never changes what the
tape saw; in-place updates of traced arrays are recorded functionally. The backward walk drops each entry once it
has used it, and a walk that will not be repeated (``retain=False``) drops the whole tape at its end.

A write through a view (``a[1:3] += v``, ``vx -= w`` with ``vx = a[1:]``, ``a[:, 0] *= 2``) is two entries: the
view's new value (a setitem, or the assigned value), and ``root_new = root_old with the view's region replaced``
(``_ViewWrite``). Every other view of that root re-reads it at its next use, and that re-reading runs its chain of
view operations through dispatch, so it is recorded too: views always carry the node of what they read.
"""
from __future__ import annotations

import numpy

from .array import Array
from .reads import Absent, Plan, plan_for
from .reads import absent as _absent
from .recording import state  # the stack tapes and jit tracers share (re-exported here)


class NoGradientError(NotImplementedError):
    """A differentiated call reached a function that has no gradient rule (raised when it is recorded)."""


class InPlaceGradientError(RuntimeError):
    """An in-place update that the tape cannot express functionally touched an array being differentiated."""




_NO_KW: dict = {}  # (shared by entries of calls without keywords; rules only read it)


class _Entry:
    __slots__ = ("prim", "args", "kwargs", "ans", "parents", "multi")

    def __init__(self, prim, args, kwargs, ans, parents, multi):
        self.prim = prim
        self.args = args
        self.kwargs = kwargs
        self.ans = ans
        self.parents = parents  # [(position, parent reference)]
        self.multi = multi  # number of outputs for tuple/list results, else 0


def _snapshot(a: Array) -> Array:
    """An Array that keeps ``a``'s current value whatever later happens to ``a`` (no data copied)."""
    exported = False
    if a._view is not None:
        a._check_view()
        root = a._view[0]
        exported = root._version != root._version  # NaN: NumPy may write this memory at any time
        if not exported:
            root._cow = True
    s = Array.__new__(Array)
    d = a._data
    if d[1] is not None and _pins_base(d[0]) and not getattr(d[1], "_imperdl_host", False):
        s._data = [None, d[1]]  # the host copy is a view that would keep its whole base alive: keep MXNet's own
    else:
        s._data = d  # shared: a copy either makes to another backend serves both; writes replace the list
    s._shape, s._dtype, s._ctx, s._keyc = a._shape, a._dtype, a._ctx, a._keyc
    s._version, s._view, s._cow, s._node = 0, None, True, a._node
    if exported:
        s._data = [a._get(0).copy(), None]  # the snapshot keeps its own copy
    else:
        a._cow = True
    return s


def _pins_base(h) -> bool:
    """A host array that is a view into a larger buffer (a slice of a gate matrix, a row of a batch)."""
    b = getattr(h, "base", None)
    return b is not None and getattr(b, "nbytes", 0) > h.nbytes


def _snap_tree(x):
    t = type(x)
    if t is Array:
        return _snapshot(x)
    if t is list or t is tuple:
        return t(_snap_tree(e) for e in x)
    if isinstance(x, tuple):  # a namedtuple result (NumPy 2's linalg: SVDResult, EighResult, ...)
        return t(*(_snap_tree(e) for e in x))
    return x


def apply_chain(x, chain):
    """``x`` through a view's chain of operations (dispatched: recorded when ``x`` is traced)."""
    for prim, args, kwargs, index in chain:
        x = prim(x, *args, **kwargs)
        if index is not None:
            x = x[index]
    return x


def _view_region(v: Array):
    """``(root, chain, region)`` for a view whose writes reach its root (``region``: root-shaped mask of the elements
    it covers); None where NumPy would copy instead (the view then stands alone, as ``Array._write`` finds)."""
    root, chain, _ = v._view
    base = root._get(0)
    x, pos = base, numpy.arange(base.size).reshape(base.shape)
    for prim, args, kwargs, index in chain:
        x = prim.impls[0](x, *args, **kwargs)
        pos = prim.impls[0](pos, *args, **kwargs)
        if index is not None:
            x, pos = x[index], pos[index]
    if not numpy.shares_memory(x, base):
        return None
    if x.dtype != base.dtype:
        raise InPlaceGradientError(
            f"writing into a {x.dtype} view (.real/.imag) of a {base.dtype} array being differentiated is not "
            "supported: build the value functionally (e.g. with np.real/np.imag and arithmetic)"
        )
    region = numpy.zeros(base.size, dtype=bool)
    region[numpy.asarray(pos).ravel()] = True
    return root, chain, region.reshape(base.shape)


class _ViewWrite:
    """Tape entry of a write through a view: ``root_new = root_old`` with the view's region replaced by the view's
    new value. The root gets the gradient outside the region; the new value gets it read through the view's chain."""

    nondiff = False
    space = "imperdl"
    name = "write through a view"

    def __init__(self, chain, region):
        self.chain = chain
        self.region = region

    def vjp(self, pos, g, ans, args, kwargs):
        import imperdl.numpy as np

        if pos == 0:
            return np.where(self.region, np.zeros((), dtype=g.dtype), g)
        return apply_chain(g, self.chain)


def _object_result(prim, args, kwargs):
    """A traced value that NumPy turned into Python objects (an int beyond int64/uint64 in the call): its later
    results are plain Python numbers no tape can follow, so a gradient would silently be zero."""
    raise TypeError(f"{prim.space}.{prim.name}({_dispatch.describe_args(args, kwargs)}): the result has dtype "
                    "object (NumPy computes with Python objects when an integer does not fit int64/uint64), which "
                    "has no gradient; pass that number as a float")


def _huge_int(x) -> bool:
    return type(x) is int and not -(2**63) <= x < 2**64


def _is_differentiable(x) -> bool:
    return type(x) is Array and x.dtype.kind in "fc"


class Tape:
    """One recording. ``watch`` makes leaves, dispatch calls ``record``, ``backward`` walks it in reverse."""

    capturing = False  # (a jit tracer, which shares the stack, says True)

    def __init__(self):
        self.entries: list = []

    # -- recording
    def watch(self, x: Array) -> Array:
        """A traced copy of ``x`` (sharing its data) that is a leaf of this tape."""
        leaf = _snapshot(x)
        idx = len(self.entries)
        self.entries.append(_Entry(None, (), {}, None, (), 0))
        leaf._node = {**(x._node or {}), self: (idx, None)}
        return leaf

    def _parents(self, args, kwargs):
        parents = []
        i = 0
        for a in args:
            t = type(a)
            if t is Array:
                n = a._node
                if n is not None:
                    r = n.get(self)
                    if r is not None:
                        parents.append((i, r))
            elif t is list or t is tuple:
                for j, e in enumerate(a):
                    if type(e) is Array and e._node is not None and self in e._node:
                        parents.append(((i, j), e._node[self]))
            i += 1
        if kwargs:
            for k, v in kwargs.items():
                t = type(v)
                if t is Array:
                    if v._node is not None and self in v._node:
                        parents.append((k, v._node[self]))
                elif t is list or t is tuple:
                    for j, e in enumerate(v):
                        if type(e) is Array and e._node is not None and self in e._node:
                            parents.append(((k, j), e._node[self]))
        return parents

    def record(self, prim, args, kwargs, res) -> None:
        if prim.nondiff:
            return
        parents = self._parents(args, kwargs)
        if not parents:
            return
        if type(res) is Array:  # (the common result: one Array)
            if res.dtype.kind not in "fc":
                if res.dtype.kind == "O":
                    _object_result(prim, args, kwargs)
                return  # integer/bool results carry no gradient
            for a in args:
                if a is res:
                    return  # the function returned its input (asarray & co): the input's node stands
            multi, outs = 0, None
        else:
            multi = len(res) if isinstance(res, (tuple, list)) else 0  # (NumPy 2's linalg returns namedtuples)
            outs = res if multi else (res,)
            if not any(_is_differentiable(o) for o in outs):
                if type(res) in (float, complex) and any(_huge_int(a) for a in (*args, *kwargs.values())):
                    _object_result(prim, args, kwargs)  # (a 0-d object computation returns a Python number)
                return
            if any(o is a for o in outs for a in args):
                return
        vjp = prim.vjp
        if vjp is None:
            from .rules.autograd_fallback import rule_for

            vjp = rule_for(prim)
            if vjp is None:
                positions = ", ".join(repr(p) for p, _ in parents)
                raise NoGradientError(
                    f"{prim.space}.{prim.name} has no gradient rule, and argument {positions} is being "
                    "differentiated. Compute it outside the differentiated function, or define one with "
                    "imperdl.core.customop."
                )
        plan = getattr(vjp, "reads", None)
        if plan is not None and type(plan) is not Plan:  # per differentiated position
            pos = parents[0][0]
            plan = plan.get(pos) if len(parents) == 1 and type(pos) is int else plan_for(plan, parents)
        if plan is None:
            kept_args, kept_ans = _snap_tree(args), _snap_tree(res)
        else:  # only what the rule reads; the rest stands as shape and dtype (see ``reads``)
            keep = plan.args
            kept = []
            i = 0
            for a in args:
                if type(a) is Array:
                    kept.append(_snapshot(a) if i in keep else Absent(a.shape, a.dtype, prim, i))
                else:
                    kept.append(_snap_tree(a) if i in keep else _absent(a, prim, i))
                i += 1
            kept_args = tuple(kept)
            if plan.ans:
                kept_ans = _snapshot(res) if outs is None else _snap_tree(res)
            else:
                kept_ans = Absent(res.shape, res.dtype, prim, "ans") if outs is None else _absent(res, prim, "ans")
        idx = len(self.entries)
        self.entries.append(_Entry(prim, kept_args, {k: _snap_tree(v) for k, v in kwargs.items()} if kwargs else _NO_KW,
                                   kept_ans, parents, multi))
        if outs is None:
            n = res._node
            res._node = {self: (idx, None)} if n is None else {**n, self: (idx, None)}
            return
        for k, o in enumerate(outs):
            if type(o) is Array:
                o._node = {**(o._node or {}), self: (idx, k if multi else None)}

    def traces(self, a) -> bool:
        return type(a) is Array and a._node is not None and self in a._node

    def on_setitem(self, arr: Array, key, value) -> None:
        """Record ``arr[key] = value`` as ``arr = setitem(old arr, key, value)`` (a view: its root updated too)."""
        for a in (arr, value):
            if type(a) is Array and a._view is not None:
                a._check_view()  # (a view whose root changed re-reads it, and takes the node of what it read)
        if not (self.traces(arr) or self.traces(value)):
            return
        if arr.dtype.kind not in "fc":
            return
        from .registry import primitive

        prim = primitive("ndarray.__setitem__")
        if prim.vjp is None:
            raise NoGradientError("imperdl.numpy.ndarray.__setitem__ has no gradient rule")
        through = _view_region(arr) if arr._view is not None else None
        parents = self._parents((arr, key, value), {})
        plan = getattr(prim.vjp, "reads", None)
        if plan is not None and type(plan) is not Plan:
            plan = plan_for(plan, parents)
        keep = plan.args if plan is not None else (0, 1, 2)
        # the old value is rarely read (its shape is): not snapshotting it also spares the write a copy-on-write
        old = _snapshot(arr) if 0 in keep else _absent(arr, prim, 0)
        kept = (old, _snap_tree(key) if 1 in keep else _absent(key, prim, 1),
                _snap_tree(value) if 2 in keep else _absent(value, prim, 2))
        idx = len(self.entries)
        self.entries.append(_Entry(prim, kept, _NO_KW, None, parents, 0))
        if through is not None:
            self._write_root(through, old, (idx, None))
        arr._node = {**(arr._node or {}), self: (idx, None)}

    def _write_root(self, through, old_view: Array, new_ref) -> None:
        """The root of a view written in place takes the value ``root_old`` with the view's region replaced."""
        root, chain, region = through
        parents = [(0, root._node[self])] if self.traces(root) else []
        if new_ref is not None:
            parents.append((1, new_ref))
        idx = len(self.entries)
        vw = _ViewWrite(chain, region)  # (its rule reads the region and the chain, no value: shapes are kept)
        self.entries.append(_Entry(vw, (_absent(root, vw, 0), _absent(old_view, vw, 1)), _NO_KW, None, parents, 0))
        root._node = {**(root._node or {}), self: (idx, None)}

    def on_assign(self, target: Array, src: Array, through_view: bool = True) -> None:
        """``target`` takes ``src``'s value in place: it takes ``src``'s node too (or stops being traced); a view
        also updates its root (``through_view``: False where the view is only re-pointed, ``v.shape = s``)."""
        for a in (target, src):
            if a._view is not None and (through_view or a is src):
                a._check_view()
        if not (self.traces(target) or self.traces(src)):
            return
        if through_view and target._view is not None and target.dtype.kind in "fc":
            through = _view_region(target)
            if through is not None:
                self._write_root(through, target, src._node[self] if self.traces(src) else None)
        node = dict(target._node or {})
        if self.traces(src):
            node[self] = src._node[self]
        else:
            node.pop(self, None)
        target._node = node or None

    # -- backward
    def backward(self, seeds, retain: bool = False) -> dict:
        """Propagate ``seeds`` ([(reference, gradient)]) to the leaves; return {leaf index: gradient}.

        When the walk is unobserved (``unobserved``), gradients flow as host values and rules that have a host
        twin (``rules.raw``) run it: the same NumPy calls without dispatch. Under a policy that may place calls on
        MXNet (``unobserved() == MIXED``) only host values take that path: a gradient or an input that lives on
        MXNet alone goes through the dispatched rule, and stays where it is. Leaves get Arrays either way.
        """
        host = unobserved()
        mixed = host == MIXED
        _np_arg, _wrap_np = _dispatch._np_arg, _dispatch._wrap_np
        grads: dict = {}
        start = -1
        for ref, g in seeds:
            prev = grads.get(ref)
            grads[ref] = g if prev is None else prev + g
            start = max(start, ref[0])
        leaves = {}
        entries = self.entries
        for idx in range(start, -1, -1):
            e = entries[idx]
            if e is None:
                continue
            prim = e.prim
            if prim is None:
                g = grads.pop((idx, None), None)
                if g is not None:
                    leaves[idx] = g if type(g) is Array or not host else _wrap_np(g)
                continue
            if e.multi:
                gs = [grads.pop((idx, k), None) for k in range(e.multi)]
                if all(g is None for g in gs):
                    continue
                if host:
                    gs = [gk if type(gk) is Array or gk is None else _wrap_np(gk) for gk in gs]
                g = (list if type(e.ans) is list else tuple)(  # (a namedtuple result's g: a plain tuple)
                    gk if gk is not None else _zeros_for(a)
                    for gk, a in zip(gs, e.ans)
                )
                raw = None
            else:
                g = grads.pop((idx, None), None)
                if g is None:
                    continue
                raw = getattr(prim, "raw_vjp", None) if host and e.kwargs is _NO_KW else None
                if raw is not None and prim.raw_for is not prim.vjp:
                    raw = None  # (the rule was replaced after its twin was made)
                if raw is not None and mixed and not (_on_host(g) and _on_host(e.ans) and all(map(_on_host, e.args))):
                    raw = None
                if raw is not None:
                    if type(g) is Array:
                        g = _np_arg(g)
                elif host and type(g) is not Array:
                    g = _wrap_np(g)
            for pos, parent in e.parents:
                gi = raw(pos, g, e.ans, e.args) if raw is not None and type(pos) is int else NotImplemented
                if gi is NotImplemented:
                    gi = prim.vjp(pos, g if raw is None else _wrap_np(g), e.ans, e.args, e.kwargs)
                    if gi is None:
                        continue
                    gi = _fit(gi, _input_at(e, pos), prim, pos)
                    if host and type(gi) is Array and (not mixed or gi._data[0] is not None):
                        gi = _np_arg(gi)
                else:
                    gi = _fit_host(gi, e.args[pos], prim, pos)
                prev = grads.get(parent)
                if prev is None:
                    grads[parent] = gi
                elif host and (not mixed or type(prev) is not Array and type(gi) is not Array):
                    grads[parent] = _add(_np_arg(prev), gi)
                elif mixed:  # (one of them lives on MXNet: a dispatched add, placed by the policy)
                    grads[parent] = (prev if type(prev) is Array else _wrap_np(prev)) + gi
                else:
                    grads[parent] = prev + gi
            if not retain:
                entries[idx] = None  # what it kept can go now (the walk never comes back)
        if not retain:
            self.entries = []  # entries recorded after the seeds (never reached) too
        return leaves


HOST, MIXED = 1, 2  # what ``unobserved`` answers (0: observed)


def unobserved() -> int:
    """Nothing watches the computations run now: the stack of tapes is empty (no outer tape differentiates them;
    a jit tracer, which sits on this stack and must see each of them as a dispatched call, is absent too).
    Backward walks may then skip dispatch: for every call (``HOST``) when the policy is NumPy-only; for the calls
    on host values (``MIXED``) when the policy places by cost, whose estimates send host values' small calls to
    NumPy anyway (a large one it would have sent to MXNet runs on NumPy too: the same exact result; values that
    live on MXNet still go to the policy)."""
    if state.stack:
        return 0
    pol = _policy.blocks.inner.get() or _policy.current
    return HOST if pol.numpy_only else MIXED if pol.host_backward else 0


def _on_host(x) -> bool:
    """Not an Array that lives on MXNet alone (its NumPy value would be a transfer)."""
    return type(x) is not Array or x._data[0] is not None


def _fit_host(gi, x, prim, pos):
    """``_fit`` for a host gradient (a NumPy array or scalar), with the same NumPy calls."""
    if type(x) is not Array and type(x) is not Absent:
        return gi
    if type(gi) is _ndarray and gi.dtype is x.dtype and gi.shape == x.shape:
        return gi  # (the usual case)
    if numpy.shape(gi) != x.shape:
        raise AssertionError(
            f"gradient rule of {prim.name} returned shape {numpy.shape(gi)} for argument {pos!r} of shape {x.shape}"
        )
    dt = gi.dtype
    if dt.kind == "c" and x.dtype.kind != "c":
        gi = numpy.real(gi)
        dt = gi.dtype
    if dt != x.dtype and x.dtype.kind == "f":
        gi = gi.astype(x.dtype)
    return gi


def _zeros_for(a):
    """The zero cotangent of an output that got no gradient (a kept Array, or an Absent's shape and dtype)."""
    import imperdl.numpy as np

    if type(a) is Array:
        return np.zeros_like(a)
    if type(a) is Absent:
        return np.zeros(a.shape, dtype=a.dtype)
    return None


def _has_list(values) -> bool:
    for a in values:
        t = type(a)
        if t is list or t is tuple:
            return True
    return False


def _input_at(e: _Entry, pos):
    if type(pos) is int:
        return e.args[pos]
    if type(pos) is str:
        return e.kwargs[pos]
    seq = e.args[pos[0]] if type(pos[0]) is int else e.kwargs[pos[0]]
    return seq[pos[1]]


def _fit(gi, x, prim, pos):
    """Check a rule's result against its input: same shape; real inputs get the real part (autograd's rule)."""
    if type(gi) is not Array:
        return gi
    if type(x) is Array or type(x) is Absent:
        if gi.shape != x.shape:
            raise AssertionError(
                f"gradient rule of {prim.name} returned shape {gi.shape} for argument {pos!r} of shape {x.shape}"
            )
        if gi.dtype.kind == "c" and x.dtype.kind != "c":
            import imperdl.numpy as np

            gi = np.real(gi)
        if gi.dtype != x.dtype and x.dtype.kind == "f":
            # a float32 input gets a float32 gradient, as its value is float32 (NumPy makes a float32 sum divided
            # by an int float64: without this, one such loss would turn the whole backward pass float64)
            gi = gi.astype(x.dtype)
    return gi


def record(prim, args, kwargs, result) -> None:
    """Called by dispatch after each primitive while some tape is active."""
    if prim.sequences is not None and not prim.nondiff:  # (a nondiff call still reaches a jit tracer)
        lists = False
        for a in args:  # (_has_list inline: this runs for every recorded call)
            t = type(a)
            if t is list or t is tuple:
                lists = True
                break
        if lists or kwargs and _has_list(kwargs.values()):
            args, kwargs = _lift(prim, args, kwargs)  # lists holding traced values become arrays (see ``lift``)
    for tape in state.stack:
        tape.record(prim, args, kwargs, result)


def on_setitem(arr, key, value) -> None:
    """Called by ``Array.__setitem__`` before writing, while a tape is active."""
    for tape in state.stack:
        tape.on_setitem(arr, key, value)


def on_assign(target, src, through_view: bool = True) -> None:
    """Called before an in-place update gives ``target`` the value of ``src``."""
    for tape in state.stack:
        tape.on_assign(target, src, through_view)


def check_mutation(arr, what: str) -> None:
    """In-place NumPy functions (copyto, put, shuffle, ...) cannot be recorded: refuse them on traced arrays."""
    for tape in state.stack:
        if tape.capturing:
            tape.check_mutation(arr, what)
        elif tape.traces(arr):
            raise InPlaceGradientError(
                f"imperdl.numpy.{what} writes its argument in place, which cannot be differentiated; "
                "write the computation functionally (e.g. with np.where or indexing assignment)"
            )


from . import dispatch as _dispatch  # noqa: E402  (dispatch imports this module: read its helpers at call time)
from . import policy as _policy  # noqa: E402
from .lift import lift as _lift  # noqa: E402  (lift reads this module's ``state``)

_add = numpy.add
_ndarray = numpy.ndarray
