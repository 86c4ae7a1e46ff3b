"""The tracer: ``f`` run once eagerly with this recorder on the tape stack, every dispatched call kept as a step.

Values are *slots*: the inputs (the Array / numpy.ndarray leaves of the arguments; ``f`` sees a numpy.ndarray as an
Array over the same memory, so that NumPy's own code cannot compute on it unseen), the externals (Arrays that
existed before the trace and that ``f`` reads: parameters it closes over, read afresh at every call) and each
step's results. An Array met is mapped to its slot by its raw buffers (``_data``): tape snapshots, detached copies
and views re-read through dispatch all share them, and the buffers are held until the trace ends so their ids stay
unique. What cannot be replayed exactly (a value read into Python, a write the plan would not repeat, an array made
outside dispatch, a result stored where jit cannot see it) raises ``JitError`` naming what and where.
"""
from __future__ import annotations

import gc
import linecache
import sys
import weakref

import numpy

from .. import mxnet_autograd as _MA
from ..array import Array
from ..backends import mxnet_inputs as _mx_inputs
from .errors import _ENGINE, JitError, user_line

_ndarray = numpy.ndarray
# output leaves a replay may return as they were in the trace (immutable; values never come from arrays' values)
_CONSTANTS = (bool, int, float, complex, str, bytes, numpy.generic, numpy.dtype, type, slice, type(Ellipsis))


class Ref:
    """A slot in an argument template (everything else in a template is a constant)."""

    __slots__ = ("slot",)

    def __init__(self, slot: int):
        self.slot = slot


class Slot:
    __slots__ = ("kind", "b", "dep", "ctx", "shape", "dtype", "scalar", "owner")

    def __init__(self, kind: str, b: int, dep: bool, ctx=None):
        self.kind = kind  # "in", "ext" or "step"
        self.b = b  # the backend holding the raw value (0 NumPy, 1 MXNet)
        self.dep = dep  # the value depends on the inputs, the externals or a random draw
        self.ctx = ctx
        self.shape = self.dtype = self.scalar = None  # (step results: how eager wrapped them)
        self.owner = None  # input index or external Array


class Step:
    __slots__ = ("kind", "prim", "b", "args", "kwargs", "outs", "where", "mask")

    def __init__(self, kind, prim, b, args, kwargs, where):
        self.kind = kind  # "call" or "setitem"
        self.prim = prim
        self.b = b
        self.args = args
        self.kwargs = kwargs
        self.outs: list = []  # (path into the result, slot, wrap a NumPy scalar as a 0-d array)
        self.where = where
        self.mask = None  # a RecordedOp's traced arguments: its MXNet forward records MXNet's backward


def leaves_with_path(x, path: tuple, out: list) -> list:
    """The Arrays in result ``x`` (nested tuples/lists) with their index paths."""
    t = type(x)
    if t is Array:
        out.append((path, x))
    elif t is list or t is tuple or isinstance(x, tuple):
        for i, e in enumerate(x):
            leaves_with_path(e, path + (i,), out)
    return out


class Tracer:
    """The recorder a jit trace pushes on ``tape.state.stack`` (the interface dispatch and ``Array`` call)."""

    capturing = True

    def __init__(self, name: str, leaves: list, seen: list):
        self.name = name
        self.slots: list[Slot] = []
        self.bufs: dict = {}  # id(raw buffer) -> slot
        self.keep: list = []  # those buffers, alive until the trace ends
        self.steps: list[Step] = []
        self.exts: list = []  # (Array, slot)
        self.ext_ids: dict = {}  # id(Array) -> slot
        self.in_ids: dict = {}  # id(input Array) -> leaf index
        self.in_slots: list = []
        self.writes: dict = {}  # id(input/external Array) -> (Array, slot of its value at the end)
        self.results: list = []  # (weakref to a step's result Array, slot, step)
        self.pending = None  # (Array, slot) of a setitem whose write has not happened yet
        # the Arrays alive before the trace, and their buffers (a tape's snapshot of one shares them)
        self.pre: dict = {}
        for o in gc.get_objects():  # (trace-time only)
            if type(o) is Array:
                self.pre[id(o)] = o
        self.pre_bufs = {id(buf): o for o in self.pre.values() for buf in o._data if buf is not None}
        self.np_in = set()  # leaves that are numpy.ndarrays (f sees them as Arrays over the same memory)
        for k, (x, a) in enumerate(zip(leaves, seen)):
            d = a._data
            s = self._new("in", 1 if d[0] is None and d[1] is not None else 0, True, a._ctx)
            self.in_ids.setdefault(id(a), k)
            self._register(a, s)
            if type(x) is _ndarray:
                self.np_in.add(k)
            self.slots[s].owner = k
            self.in_slots.append(s)
        self.np_inputs = [(x, x.copy()) for x in leaves if type(x) is _ndarray]
        self.rng_state = _rng_state()  # (NumPy's own global generator: see check_leaks)
        self.draws = False  # a step drew from imperdl.numpy.random
        self.consts: dict = {}  # id -> NumPy constants the steps read (see _freeze)
        self.graphs: list = []  # MXNet records whose backward was replayed (their cached gradients go at the end)

    # ------------------------------------------------------------------ slots
    def _new(self, kind, b, dep, ctx=None) -> int:
        self.slots.append(Slot(kind, b, dep, ctx))
        return len(self.slots) - 1

    def _register(self, a: Array, s: int) -> None:
        for buf in a._data:
            if buf is not None:
                self.bufs[id(buf)] = s
                self.keep.append(buf)

    def slot_of(self, a: Array):
        """The slot holding ``a``'s current value, or None for an array this trace has not met."""
        d = a._data
        s = self.bufs.get(id(d[0])) if d[0] is not None else None
        if s is None and d[1] is not None:
            s = self.bufs.get(id(d[1]))
        if s is not None and (d[0] is None or d[1] is None or id(d[0]) not in self.bufs
                              or id(d[1]) not in self.bufs):
            self._register(a, s)  # (a copy made on the other backend since: the same value)
        return s

    def meet(self, a: Array, what: str) -> int:
        """``a``'s slot; an array that existed before the trace becomes an external, read at every call."""
        s = self.slot_of(a)
        if s is not None:
            return s
        if id(a) not in self.pre:
            for buf in a._data:
                owner = self.pre_bufs.get(id(buf)) if buf is not None else None
                if owner is not None and owner is not a:
                    return self.meet(owner, what)  # a snapshot or detached copy of a parameter
            raise JitError(
                f"jit({self.name}): an imperdl Array created during the trace without going through imperdl's "
                f"operations (shape {a.shape}, dtype {a.dtype}) is used by {what}, at {user_line(3) or '?'}: its "
                "value would be replayed as a stale constant. Create it with imperdl.numpy (np.array(...), "
                "np.zeros(...)) or outside the jitted function and pass it in"
            )
        if a._view is not None:
            a._check_view()
            s = self.slot_of(a)
            if s is not None:
                return s
        d = a._data
        s = self._new("ext", 1 if d[0] is None and d[1] is not None else 0, True, a._ctx)
        self.slots[s].owner = a
        self.exts.append((a, s))
        self.ext_ids[id(a)] = s
        self._register(a, s)
        return s

    def template(self, x, what: str):
        """An argument with its arrays replaced by ``Ref``s (constants stay as they are)."""
        t = type(x)
        if t is Array:
            return Ref(self.meet(x, what))
        if t is _ndarray:
            s = self.bufs.get(id(x))
            if s is not None:
                return Ref(s)
            self.consts[id(x)] = x
            return x  # a NumPy constant, read by reference at each call
        if t is list or t is tuple:
            items = [self.template(e, what) for e in x]
            return items if t is list else tuple(items)
        if t is dict:
            return {k: self.template(v, what) for k, v in x.items()}
        if t is slice and any(type(v) is Array for v in (x.start, x.stop, x.step)):
            raise JitError(f"jit({self.name}): a slice bound is an imperdl Array ({what}, at {user_line(3)}): "
                           "pass Python ints or use np.take")
        if _mx_inputs.is_mx(x):
            raise JitError(f"jit({self.name}): an MXNet array is used by {what} at {user_line(3)}: convert it "
                           "with imperdl.numpy.array() outside the jitted function")
        return x

    def depends(self, tpl) -> bool:
        t = type(tpl)
        if t is Ref:
            return self.slots[tpl.slot].dep
        if t is list or t is tuple:
            return any(self.depends(e) for e in tpl)
        if t is dict:
            return any(self.depends(e) for e in tpl.values())
        return False

    def _flush(self) -> None:
        arr, s = self.pending
        self.pending = None
        self._register(arr, s)  # the buffer written in place (or its copy) now holds the new value

    # ------------------------------------------------------------------ the recorder interface
    def traces(self, a) -> bool:
        return False  # (tapes' question: no array is "differentiated" by a tracer)

    def record(self, prim, args, kwargs, res) -> None:
        if self.pending is not None:
            self._flush()
        name = getattr(prim, "name", repr(prim))
        if getattr(prim, "impls", None) is None:
            raise JitError(f"jit({self.name}): {name} runs outside imperdl's dispatch (at {user_line()}), so "
                           "it cannot be replayed; call it outside the jitted function")
        if prim.mutates:
            raise JitError(f"jit({self.name}): imperdl.numpy.{name} writes its argument in place (at "
                           f"{user_line()}), which jit cannot replay; write it functionally (np.where, "
                           "indexing assignment a[...] = v)")
        outs = leaves_with_path(res, (), [])
        what = f"{getattr(prim, 'space', 'imperdl')}.{name}"
        if not outs:  # a Python value (a shape, a bool): used by Python, so it must not depend on values
            if name.startswith("random."):  # (seed, set_state: a side effect each call repeats)
                self.draws = True
                self.steps.append(Step("call", prim, 0, self.template(args, what),
                                       self.template(kwargs, what) or None, _caller()))
                return
            if not prim.host and self.depends(self.template((args, kwargs), what)):
                self._value_error(what + "()", 3)
            return
        new = [(p, o) for p, o in outs if self.slot_of(o) is None]
        if not new:
            return  # the call returned arrays already known (its input, or a call recorded twice)
        targs = tuple(self.template(a, what) for a in args)
        tkw = {k: self.template(v, what) for k, v in kwargs.items()} if kwargs else None
        rnd = name.startswith("random.")
        self.draws = self.draws or rnd
        dep = rnd or self.depends(targs) or (tkw is not None and self.depends(tkw))
        d = outs[0][1]._data
        b = 1 if d[0] is None and d[1] is not None else 0
        if prim.impls[b] is None:  # (an MXNet symbol's Function: it runs its own MXNet code)
            raise JitError(f"jit({self.name}): {name} runs outside imperdl's dispatch (at {user_line()}), so it "
                           "cannot be replayed; call it outside the jitted function")
        step = Step("call", prim, b, targs, tkw, _caller())
        if b == 1 and type(prim) is _MA.RecordedOp:
            step.mask = _MA._call.mask  # (still set: dispatch records before the op's call returns)
        for p, o in new:
            s = self._new("step", b, dep, o._ctx)
            sl = self.slots[s]
            sl.shape, sl.dtype, sl.scalar = o._shape, o._dtype, getattr(o, "_scalar", None)
            self._register(o, s)
            step.outs.append((p, s, b == 0 and bool(sl.scalar)))
            self.results.append((weakref.ref(o), s, len(self.steps)))
        self.steps.append(step)

    def record_call(self, fn, args: tuple, res: Array) -> None:
        """A computation outside dispatch that a step can replay: ``fn(*raw args)`` gives ``res``'s MXNet value."""
        if self.pending is not None:
            self._flush()
        targs = tuple(self.template(a, "MXNet's recorded backward") for a in args)
        first = args[0][0] if type(args[0]) in (tuple, list) else args[0]
        self.graphs.append(first._data[1]._imperdl_graph)
        step = Step("call", None, 1, targs, None, _caller())
        step.prim = fn
        s = self._new("step", 1, self.depends(targs), res._ctx)
        sl = self.slots[s]
        sl.shape, sl.dtype, sl.scalar = res._shape, res._dtype, getattr(res, "_scalar", None)
        self._register(res, s)
        step.outs.append(((), s, False))
        self.results.append((weakref.ref(res), s, len(self.steps)))
        self.steps.append(step)

    def on_setitem(self, arr: Array, key, value) -> None:
        if self.pending is not None:
            self._flush()
        if arr._view is not None:
            self._view_write(arr)
        h = arr._data[0]
        if h is not None and id(h) in self.consts and not arr._cow:
            self._freeze(h)
        old = self.meet(arr, "an indexed assignment")
        tk = self.template(key, "an indexed assignment")
        tv = self.template(value, "an indexed assignment")
        s = self._new("step", 0, self.slots[old].dep or self.depends(tk) or self.depends(tv))
        sl = self.slots[s]
        sl.shape, sl.dtype = arr.shape, arr.dtype
        step = Step("setitem", None, 0, (Ref(old), tk, tv), None, _caller())
        step.outs.append(((), s, False))
        self.steps.append(step)
        self.results.append((weakref.ref(arr), s, len(self.steps) - 1))
        self.pending = (arr, s)
        self._note_write(arr, s)

    def on_assign(self, target: Array, src: Array, through_view: bool = True) -> None:
        if self.pending is not None:
            self._flush()
        if target._view is not None:
            self._view_write(target)
        s = self.meet(src, "an in-place update")
        if self.slot_of(target) is None and id(target) in self.pre:
            self.meet(target, "an in-place update")  # a parameter written before it is read
        self._note_write(target, s)

    def _freeze(self, h) -> None:
        """NumPy constant ``h`` is about to be written in place (an Array over its memory, ``np.asarray(c)[k] = v``):
        the steps recorded so far read its value from before, as eager did."""
        before = h.copy()
        del self.consts[id(h)]

        def swap(t):
            tt = type(t)
            if t is h:
                return before
            if tt is list or tt is tuple:
                items = [swap(e) for e in t]
                return items if tt is list else tuple(items)
            if tt is dict:
                return {k: swap(v) for k, v in t.items()}
            return t

        for st in self.steps:
            st.args = swap(st.args)
            if st.kwargs:
                st.kwargs = swap(st.kwargs)

    def _note_write(self, target: Array, s: int) -> None:
        if self.in_ids.get(id(target), -1) in self.np_in:
            raise JitError(f"jit({self.name}): {self.name} writes its numpy.ndarray argument in place (at "
                           f"{user_line(3)}); pass an imperdl Array (np.array(x)) to have it updated")
        if id(target) in self.in_ids or id(target) in self.ext_ids:
            self.writes[id(target)] = (target, s)

    def _view_write(self, a: Array) -> None:
        raise JitError(f"jit({self.name}): a write through a view (shape {a.shape}) at {user_line(3)}: jit cannot "
                       "replay writes that reach another array's memory; write the base array (a[1:3] = v) or "
                       "build the value functionally (np.where, np.concatenate)")

    def check_mutation(self, arr, what: str) -> None:
        raise JitError(f"jit({self.name}): imperdl.numpy.{what} writes its argument in place (at {user_line(3)}), "
                       "which jit cannot replay; write it functionally (np.where, a[...] = v)")

    def refuse(self, what: str) -> None:
        raise JitError(f"jit({self.name}): f {what} (at {user_line(3)}), which jit cannot replay")

    def value_read(self, a: Array, what: str) -> None:
        if self.pending is not None:
            self._flush()
        s = self.slot_of(a)
        if s is None:
            if id(a) not in self.pre and not any(id(b) in self.pre_bufs for b in a._data if b is not None):
                return  # a constant made during the trace: its value is the same at every call
        elif not self.slots[s].dep:
            return
        self._value_error(what, 4)

    def _value_error(self, what: str, depth: int):
        raise JitError(
            f"jit({self.name}): {self.name} reads the value of an array computed from its inputs ({what}, at "
            f"{user_line(depth) or '?'}): Python control flow on array values cannot be captured; compute it "
            "outside, pass it as a static argument, or use np.where"
        )

    # ------------------------------------------------------------------ the end of the trace
    def outputs(self, x):
        """The output template: ("in", k), ("ext", Array), ("slot", s) for arrays; containers; constants."""
        t = type(x)
        if t is Array:
            k = self.in_ids.get(id(x))
            if k is not None:
                return ("in", k)
            if id(x) in self.ext_ids or (self.slot_of(x) is None and id(x) in self.pre):
                return ("ext", x)
            return ("slot", self.meet(x, "the result"))
        if t is _ndarray:
            s = self.bufs.get(id(x))
            return ("slot", s) if s is not None else ("const", x)
        if t is list or t is tuple or isinstance(x, tuple):
            return (t, [self.outputs(e) for e in x])
        if t is dict:
            return (dict, {k: self.outputs(v) for k, v in x.items()})
        if x is None or isinstance(x, _CONSTANTS):
            return ("const", x)
        raise JitError(f"jit({self.name}): {self.name} returned a {t.__name__}: a replay would return the object made "
                       "during the trace (a closure over its arrays, say) unchanged; return arrays, containers of "
                       "them and Python constants only")

    def check_leaks(self, out, out_tpl) -> None:
        """A step's result still referenced after ``f`` returned, neither returned nor written into an input or an
        external, was stored where jit cannot see it (a dict, an attribute): replaying would skip that store."""
        if self.pending is not None:
            self._flush()
        for graph in self.graphs:
            graph.g = graph.grads = None  # (a cache: the forward's output, which the trace holds, would keep them)
        kept = set()
        _slots_in(out_tpl, kept)
        kept.update(s for _, s in self.writes.values())
        reach = set()
        _view_roots(out, reach)

        def stored():
            for ref, _, i in self.results:
                a = ref()
                if a is None or id(a) in reach or id(a) in self.in_ids or id(a) in self.ext_ids:
                    continue
                cur = self.slot_of(a)
                if cur is not None and cur not in kept and self.slots[cur].kind == "step":
                    return a, i
            return None

        found = stored()
        if found is not None:
            gc.collect()  # (only then: a reference cycle may be all that keeps it)
            found = stored()
        if found is not None:
            a, i = found
            step = self.steps[i]
            p = step.prim
            what = ("an indexed assignment" if step.kind == "setitem" else
                    f"{getattr(p, 'space', 'imperdl')}.{getattr(p, 'name', getattr(p, '__name__', '?'))}")
            raise JitError(
                f"jit({self.name}): the result of {what} (shape {a.shape}, dtype {a.dtype}, computed at "
                f"{_line(step.where)}) is still referenced "
                f"after {self.name} returned, but it is neither returned nor written into an input or a parameter: "
                "it was stored somewhere jit cannot replay (a dict, an attribute, a list). Return it, or update an "
                "existing array in place (a[...] = value)"
            )
        if not self.draws and _rng_state() != self.rng_state:
            raise JitError(f"jit({self.name}): {self.name} drew numbers from NumPy's own numpy.random (on raw "
                           "NumPy arrays, outside imperdl): the plan would replay the same numbers at every call; "
                           "draw them with imperdl.numpy.random, or outside and pass them in")
        for x, before in self.np_inputs:
            if not numpy.array_equal(x, before, equal_nan=x.dtype.kind in "fc"):
                raise JitError(f"jit({self.name}): {self.name} wrote into its numpy.ndarray argument (shape "
                               f"{x.shape}) with NumPy itself, which jit cannot replay; pass an imperdl Array")


def _rng_state() -> tuple:
    st = numpy.random.get_state()
    return st[1].tobytes(), st[2]


def _caller():
    """(file, line) of the user's frame that made a call (formatted only for an error message)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_ENGINE):
        frame = frame.f_back
    return None if frame is None else (frame.f_code.co_filename, frame.f_lineno)


def _line(where) -> str:
    if where is None:
        return "?"
    text = linecache.getline(where[0], where[1]).strip()
    return f"{where[0]}:{where[1]}" + (f" ({text})" if text else "")


def _slots_in(tpl, out: set) -> None:
    kind, v = tpl
    if kind == "slot":
        out.add(v)
    elif kind is dict:
        for e in v.values():
            _slots_in(e, out)
    elif kind not in ("in", "ext", "const"):
        for e in v:
            _slots_in(e, out)


def _view_roots(x, out: set) -> None:
    """Arrays kept alive by the outputs themselves (a returned view keeps its root and its chain's arguments)."""
    t = type(x)
    if t is Array:
        if id(x) in out:
            return
        out.add(id(x))
        if x._view is not None:
            root, chain, _ = x._view
            _view_roots(root, out)
            for link in chain:
                _view_roots(list(link[1]) + list(link[2].values()), out)
    elif t is list or t is tuple or isinstance(x, tuple):
        for e in x:
            _view_roots(e, out)
    elif t is dict:
        for e in x.values():
            _view_roots(e, out)
