"""First-order gradients of MXNet-run operations from MXNet's own backward kernels.

oneDNN's convolution and pooling backward, and a symbol's backward, are faster than anything rebuilt from
primitives. So when the tape will need an MXNet-run operation's gradient, its forward runs under
``mx.autograd.record`` with the traced inputs attached (detached copies: the caller's arrays are untouched), the
MXNet graph rides on the MXNet result (``_imperdl_graph``), and the vjp asks MXNet once per cotangent for every
recorded input's gradient together.

Under higher order the vjp must itself be recorded by imperdl's tape, which MXNet's backward is not: callers
check ``usable`` and otherwise use a rule built from primitives.
"""
from __future__ import annotations

import threading

from .. import context as _context
from .array import Array
from .backends import mxnet_backend as _mxb
from .dispatch import Primitive, mxnet_section
from .registry import REGISTRY
from .tape import state as _tape_state


class Graph:
    """The MXNet autograd record of one forward call."""

    __slots__ = ("heads", "variables", "positions", "train", "g", "grads")

    def __init__(self, heads, variables, positions, train):
        self.heads = heads  # the MXNet outputs
        self.variables = variables  # attached copies of the recorded inputs
        self.positions = positions  # their argument positions (int or keyword name)
        self.train = train
        self.g = None  # the cotangent the cached gradients belong to
        self.grads = None


def traced_mask(args) -> tuple | None:
    """Which arguments some active tape traces (None when none does: no recording needed)."""
    stack = _tape_state.stack
    if not stack:
        return None
    mask = tuple(type(a) is Array and a._node is not None and any(t in a._node for t in stack) for a in args)
    return mask if any(mask) else None


def record(fn, inputs, positions: dict, train: bool = True, nheads: int | None = None):
    """``fn(*inputs)`` on MXNet arrays, recording gradients w.r.t. ``inputs[i]`` for each ``i`` in ``positions``.

    ``positions`` maps input index -> argument position reported back by ``input_grads``; the first
    ``nheads`` outputs (default all) are the heads gradients flow from. Returns ``(outputs, graph)``: the caller
    attaches the graph to the results it wraps (``attach``).
    """
    mx = _mxb._mx
    ins = list(inputs)
    variables, names, bufs = [], [], []
    for i, pos in positions.items():
        v = ins[i].detach()
        ins[i] = v
        variables.append(v)
        names.append(pos)
        bufs.append(mx.np.empty(v.shape, dtype=v.dtype, ctx=v.ctx))
    # what attach_grad does, without its zero fill of a buffer nothing reads (``autograd.grad`` returns fresh
    # gradients): a pooling input's is a whole activation, ~1 ms per CNN step
    mx.autograd.mark_variables(variables, bufs)
    with mx.autograd.record(train_mode=train):
        out = fn(*ins)
    heads = list(out) if isinstance(out, (list, tuple)) else [out]
    return out, Graph(heads[:nheads], variables, names, train)


def attach(result, graph: Graph | None):
    """Let a wrapped MXNet result (an ``mxnet.numpy.ndarray``) carry its record to the vjp.

    A head that is the carrier itself leaves its slot empty (``input_grads`` gets it back from the caller): a
    reference from the graph would close a cycle that only Python's cyclic GC frees, so every recorded result,
    its MXNet graph and their buffers would outlive the step, and each step would fault in fresh pages (measured:
    a CNN step under ``imperdl.jit`` 2x slower for its first ~20 steps, 13k page faults per step)."""
    if graph is not None:
        result._imperdl_graph = graph
        heads = graph.heads
        for i, h in enumerate(heads):
            if h is result:
                heads[i] = None
    return result


def graph_of(ans) -> Graph | None:
    """The MXNet record behind a recorded result (an Array, or a tuple/list of them), if there is one."""
    first = ans[0] if type(ans) in (tuple, list) else ans
    if type(first) is not Array:
        return None
    mx_out = first._data[1]
    return getattr(mx_out, "_imperdl_graph", None) if mx_out is not None else None


def usable(g, inputs) -> bool:
    """MXNet's backward may serve this vjp: no active tape records it (first order)."""
    stack = _tape_state.stack
    if not stack:
        return True
    for x in (g, *inputs):
        xs = x if type(x) in (tuple, list) else (x,)
        for a in xs:
            if type(a) is Array and a._node is not None and any(t in a._node for t in stack):
                return False
    return True


def _like(g, head):
    """MXNet's backward needs the cotangent in its output's dtype (a float64 loss over float32 work is common)."""
    return g if g.dtype == head.dtype else g.astype(head.dtype)


def input_grads(graph: Graph, g, carrier, head_grads=None) -> dict:
    """{argument position: gradient Array} for cotangent ``g`` (computed once, shared by every position).

    ``carrier``: the MXNet result the graph rides on (``attach``); ``head_grads``: the MXNet cotangents of the
    heads when they are not simply ``g``'s MXNet data.
    """
    if graph.g is g and graph.grads is not None:
        return graph.grads
    mx = _mxb._mx
    ctx = _context._current or _context.current_context()
    heads = [carrier if h is None else h for h in graph.heads]
    with mxnet_section:
        if head_grads is None:
            gs = g if type(g) in (tuple, list) else (g,)
            head_grads = [_like(x._get(1) if type(x) is Array else x, h) for x, h in zip(gs, heads)]
        outs = mx.autograd.grad(heads, graph.variables, head_grads=head_grads, retain_graph=True,
                                train_mode=graph.train)
    graph.grads = {p: Array(o.as_np_ndarray(), 1, ctx) for p, o in zip(graph.positions, outs)}
    graph.g = g
    return graph.grads


class _Call(threading.local):
    mask = None  # which positional arguments of the RecordedOp running in this thread are traced


_call = _Call()


class RecordedOp(Primitive):
    """A primitive of imperdl's own (not a NumPy name) whose MXNet implementation records MXNet's backward when a
    tape traces an argument. During the call, ``_call.mask`` (per thread: another thread's call must not see it)
    says which positional arguments are traced; implementations run their MXNet code through ``run_recorded``."""

    space = "imperdl.core"

    def __init__(self, name: str, np_impl, doc: str | None = None):
        super().__init__(name, np_impl, doc)
        REGISTRY[name] = self

    def __call__(self, *args):
        m = traced_mask(args)
        if m is None:
            return Primitive.__call__(self, *args)
        c = _call
        prev, c.mask = c.mask, m
        try:
            return Primitive.__call__(self, *args)
        finally:
            c.mask = prev


def run_recorded(fn, inputs):
    """``fn(*inputs)`` on MXNet inputs (the leading positional arguments of a RecordedOp), recording MXNet's
    backward for the traced ones."""
    m = _call.mask
    if m is None:
        return fn(*inputs)
    positions = {i: i for i, a in enumerate(inputs) if m[i] and a is not None}
    if not positions:
        return fn(*inputs)
    out, graph = record(fn, inputs, positions)
    return attach(out, graph)


def mxnet_backward(pos, g, ans, args):
    """The gradient for argument ``pos`` from MXNet's backward, when the forward recorded one and this vjp is
    first order; else None (the caller uses its rule built from primitives)."""
    first = ans[0] if type(ans) in (tuple, list) else ans
    graph = graph_of(first)
    if graph is None or pos not in graph.positions or not usable(g, args):
        return None
    res = input_grads(graph, g, first._data[1])[pos]
    if _tape_state.stack:
        for r in _tape_state.stack:
            if r.capturing:  # a jit trace replays this backward from the replayed forward's own record
                r.record_call(replay_backward, (ans, g, pos), res)
    return res


def replay_backward(ans, g, pos):
    """``mxnet_backward`` on raw MXNet values (a jit plan's step): ``ans`` carries its forward's record."""
    first = ans[0] if type(ans) in (tuple, list) else ans
    return input_grads(first._imperdl_graph, g, first)[pos]._data[1]


def with_mask(fn, mask, *args, **kwargs):
    """``fn`` run as a RecordedOp's implementation whose traced arguments are ``mask`` (a jit plan's step: the
    forward records MXNet's backward as it did in the trace)."""
    c = _call
    prev, c.mask = c.mask, mask
    try:
        return fn(*args, **kwargs)
    finally:
        c.mask = prev
