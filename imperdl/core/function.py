"""``Function``: an MXNet symbol graph called like a primitive with keyword arrays, differentiated with the tape.

MinPy bound a new executor on every call; here each (input shapes, dtypes, context, train/test) gets one
``CachedOp``, reused (``bind_count`` counts creations, ``cache_hits`` reuses). Gradients are first order and come
from MXNet's backward of the recorded call (``mxnet_autograd``), for every traced non-label input at once.

Two MXNet behaviours are corrected here, in one place:
- BatchNorm updates its moving mean/var during the *backward* pass in MXNet, so statistics would depend on
  whether (and how often) a gradient is taken. Here they are updated once per training-mode forward, from the
  batch statistics MXNet reports (``output_mean_var``), and frozen in test mode; MXNet's own update is sent to
  scratch copies.
- Loss heads (SoftmaxOutput & co) ignore the incoming gradient and emit their loss's gradient. Here that gradient
  is scaled by the incoming one, which must then be uniform (``k * sum(out)`` scales it by ``k``).

Dtypes. MXNet's layers require one dtype for all their inputs and reject a mix with C++ text. The rule here
(decided once per cached signature, so same-dtype calls pay nothing): the symbol computes in NumPy's result
dtype of the data, parameter and auxiliary arrays given (``numpy.result_type``; labels follow it and do not take
part), the others cast to it inside the recorded call, so each input's gradient comes back in its own dtype.
Integer and bool results compute in float64 (layers are real-valued). float16 computes in float32 (MXNet's CPU
kernels have no float16 FullyConnected, and BatchNorm wants float32 parameters for float16 data) and the outputs
are returned as float16. Complex inputs are refused with a TypeError.
"""
from __future__ import annotations

import json
import re

import numpy

from .. import context as _context
from . import mxnet_autograd as MA
from . import tape as _tape
from .array import Array
from .backends import mxnet_backend as _mxb
from .backends import mxnet_inputs as _mx_inputs
from .dispatch import Primitive, mxnet_section
from .tape import NoGradientError

LOSS_HEADS = frozenset(
    ("SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput", "SVMOutput",
     "MakeLoss")
)
# variables MXNet creates for an operator's parameters carry these suffixes; anything else is data
PARAM_SUFFIXES = ("_weight", "_bias", "_gamma", "_beta")
# MXNet's C++ decorations (time stamp and source line, "Check failed: <expression>:"), cut from messages
_CXX_TEXT = re.compile(r"\[\d\d:\d\d:\d\d\] \S+:\d+: |Check failed: [^:]*: ?|MXNetError: ?")


def _mxnet_reason(exc) -> str:
    """MXNet's own words for a failure, without its traceback and C++ decorations."""
    for line in str(exc).splitlines():
        line = line.strip()
        if line and not line.startswith(("Traceback", "File ", "[bt]", "Stack trace")):
            text = _CXX_TEXT.sub("", line).strip()
            if text:
                return text[:300]
    return "no reason given"


def _true(attrs: dict, key: str, default: bool) -> bool:
    v = attrs.get(key)
    return default if v is None else str(v).lower() in ("true", "1")


def _normalize_shapes(input_shapes) -> dict | None:
    if input_shapes is None:
        return None
    if isinstance(input_shapes, (set, frozenset)):
        # MinPy's own announcement writes input_shapes={'x', (8, 3, 10, 10)} (a set): read it as it was meant
        names = [e for e in input_shapes if isinstance(e, str)]
        shapes = [e for e in input_shapes if isinstance(e, tuple)]
        if len(names) == 1 and len(shapes) == 1 and len(input_shapes) == 2:
            return {names[0]: shapes[0]}
        raise TypeError(f"Function: input_shapes must be a dict name -> shape, got {input_shapes!r}")
    return {str(k): tuple(int(d) for d in v) for k, v in dict(input_shapes).items()}


class _Bound:
    """One cached operator: the CachedOp and the scratch auxiliary arrays MXNet's backward may write."""

    __slots__ = ("op", "scratch", "labels", "dtype")

    def __init__(self, op, scratch, labels, dtype):
        self.op = op  # the CachedOp, or a wrapper casting the inputs to ``dtype`` (and float16 outputs back)
        self.scratch = scratch
        self.labels = labels  # label name -> shape, for calls that give no label (inference)
        self.dtype = dtype  # the dtype the symbol computes in


def _compute_dtypes(dtypes) -> tuple:
    """(dtype the symbol computes in, dtype its outputs are returned in) for these input dtypes (module doc)."""
    dt = numpy.result_type(*dtypes) if dtypes else numpy.dtype("float32")
    if dt.kind == "c":
        raise TypeError(f"complex inputs ({dt}): MXNet symbols have no complex kernels")
    if dt.kind != "f":
        dt = numpy.dtype("float64")
    return (numpy.dtype("float32") if dt == numpy.float16 else dt), dt


def _casting(op, casts: tuple, dtype, out_dtype, nout: int):
    """``op`` behind casts: inputs at positions ``casts`` to ``dtype``; the first ``nout`` outputs to
    ``out_dtype`` (None: left as they are). Runs inside MXNet's record, so the casts are differentiated."""
    def run(*ins):
        ins = list(ins)
        for i in casts:
            ins[i] = ins[i].astype(dtype)
        outs = op(*ins)
        if out_dtype is None:
            return outs
        if not isinstance(outs, (list, tuple)):
            return outs.astype(out_dtype)
        return [o.astype(out_dtype) if k < nout else o for k, o in enumerate(outs)]

    return run


class Function(Primitive):
    """An MXNet symbol as a differentiable call: ``Function(sym, input_shapes)(x=x, conv_weight=w)``."""

    space = "imperdl.core"

    def __init__(self, symbol, input_shapes=None, name: str = "mxnet_symbol"):
        mx = _mxb.require("imperdl.core.Function")
        if not isinstance(symbol, mx.sym.Symbol):
            raise TypeError(f"Function: expected an mxnet.symbol.Symbol, got {type(symbol).__name__}")
        super().__init__(name, None, doc=f"MXNet symbol {name}: outputs {symbol.list_outputs()}")
        self.vjp = self._vjp
        self.symbol = symbol
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.input_names = symbol.list_inputs()
        self._input_set = frozenset(self.input_names)
        self.output_names = symbol.list_outputs()
        self.input_shapes = _normalize_shapes(input_shapes)
        self.is_train = True
        self.aux_states: dict = {}  # auxiliary state name -> MXNet array (BatchNorm moving statistics)
        self.bind_count = 0
        self.cache_hits = 0
        self._cache: dict = {}
        self._last_shapes: dict | None = None
        self._analyse(json.loads(symbol.tojson()))
        unknown = set(self.input_shapes or ()) - set(self.arg_names)
        if unknown:
            raise ValueError(f"Function {name!r}: input_shapes names {sorted(unknown)}, which are not arguments of "
                             f"the symbol (its arguments: {self.arg_names})")

    # ------------------------------------------------------------------------------------ the graph
    def _analyse(self, graph: dict) -> None:
        nodes = graph["nodes"]
        heads = graph["heads"]
        self.label_names = set()
        for node in nodes:
            if node["op"] in LOSS_HEADS and len(node["inputs"]) > 1:
                src = nodes[node["inputs"][1][0]]
                if src["op"] == "null":
                    self.label_names.add(src["name"])
        self.loss_outputs = [k for k, h in enumerate(heads) if nodes[h[0]]["op"] in LOSS_HEADS]
        # BatchNorm nodes whose statistics we update: expose their batch mean / inverse std as extra heads
        self._bn = []
        extra = []
        for i, node in enumerate(nodes):
            if node["op"] != "BatchNorm":
                continue
            attrs = node.setdefault("attrs", {})
            if _true(attrs, "use_global_stats", False):
                continue
            aux = [nodes[src[0]]["name"] for src in node["inputs"][3:5]]
            self._bn.append((aux[0], aux[1], float(attrs.get("momentum", 0.9)), float(attrs.get("eps", 1e-3))))
            attrs["output_mean_var"] = "True"
            extra += [[i, 1, 0], [i, 2, 0]]
        if extra:
            graph["heads"] = heads + extra
            self._run_symbol = _mxb._mx.sym.load_json(json.dumps(graph))
        else:
            self._run_symbol = self.symbol
        self._nout = len(heads)

    def _data_names(self) -> list:
        if self.input_shapes is not None:
            return list(self.input_shapes)
        return [n for n in self.arg_names if n not in self.label_names and not n.endswith(PARAM_SUFFIXES)]

    @_mxb.in_section
    def _infer(self, shapes: dict):
        try:
            return self.symbol.infer_shape_partial(**shapes)
        except Exception as exc:
            from .dispatch import _first_line

            raise ValueError(f"Function {self.name!r}: MXNet cannot infer shapes from {shapes}: "
                             f"{_first_line(exc)}") from None

    def _known_shapes(self) -> dict:
        if self.input_shapes is not None:
            return self.input_shapes
        if self._last_shapes is not None:
            return self._last_shapes
        raise ValueError(f"Function {self.name!r}: shapes are unknown: give input_shapes or call it once first")

    def get_params(self) -> dict:
        """Parameter name -> shape (every argument that is neither data nor label), for ``ModelBase``."""
        shapes = self._known_shapes()
        arg_shapes, _, _ = self._infer(shapes)
        data = set(shapes)
        return {n: tuple(s) for n, s in zip(self.arg_names, arg_shapes)
                if n not in data and n not in self.label_names}

    def get_output_shapes(self) -> list:
        """The shape of every output, for the known (or last called) input shapes."""
        _, out_shapes, _ = self._infer(self._known_shapes())
        return [tuple(s) for s in out_shapes]

    def get_one_output_shape(self) -> tuple:
        """The shape of the only output (an error for a multi-output symbol)."""
        shapes = self.get_output_shapes()
        if len(shapes) != 1:
            raise ValueError(f"Function {self.name!r} has {len(shapes)} outputs: use get_output_shapes()")
        return shapes[0]

    def cache_info(self) -> dict:
        """Operators created (``binds``), calls that reused one (``hits``), and cached ``entries``."""
        return {"binds": self.bind_count, "hits": self.cache_hits, "entries": len(self._cache)}

    # ------------------------------------------------------------------------------------ calling
    @_mxb.in_section
    def __call__(self, *args, **kwargs):
        if args:
            raise TypeError(f"Function {self.name!r} takes keyword arrays only, e.g. "
                            f"{self.name}({', '.join(n + '=...' for n in self.arg_names[:2])})")
        ctx = _context._current or _context.current_context()
        arrays = {}
        inputs = self._input_set
        for k, v in kwargs.items():
            # MinPy models pass every parameter to every layer (``**self.params``): keywords the symbol does not
            # take are ignored, and None means "left out" (a bias the caller does not have)
            if v is not None and k in inputs:
                if type(v) is not Array:
                    v = _mx_inputs.wrap(v) if _mx_inputs.is_mx(v) else Array(numpy.asarray(v))
                arrays[k] = v
        key = (self.is_train, ctx) + tuple(
            (a.shape, a.dtype) if a is not None else None for a in (arrays.get(n) for n in self.input_names))
        bound = self._cache.get(key)
        if bound is None:
            bound = self._bind(key, arrays, ctx, sorted(kwargs.keys() - inputs))
        else:
            self.cache_hits += 1
        try:
            with mxnet_section:
                return self._run(bound, arrays, ctx)
        except _mxb._mx.base.MXNetError as exc:
            # a CachedOp that failed once can fail every later call: forget it; say what failed in plain words
            self._cache.pop(key, None)
            from .dispatch import describe_args

            raise RuntimeError(f"Function {self.name!r}({describe_args((), arrays)}): MXNet could not run the "
                               f"symbol: {_mxnet_reason(exc)}") from None

    def _bind(self, key, arrays: dict, ctx, ignored=()) -> _Bound:
        """Check the call against the symbol, then create (and cache) its operator."""
        # a missing argument next to ignored keywords is most likely a misspelling: name both
        unused = f"; keyword(s) not taken by the symbol, ignored: {list(ignored)}" if ignored else ""
        names = self._data_names()
        data = [n for n in names if n in arrays] or names
        missing_data = [n for n in data if n not in arrays]
        if missing_data:
            raise TypeError(f"Function {self.name!r}: missing input array(s) {missing_data}{unused}")
        shapes = {n: tuple(arrays[n].shape) for n in data}
        arg_shapes, _, aux_shapes = self._infer(shapes)
        expected = dict(zip(self.arg_names, arg_shapes))
        aux_expected = dict(zip(self.aux_names, aux_shapes))
        missing = [n for n in self.arg_names if n not in arrays and n not in self.label_names]
        if missing:
            raise TypeError(f"Function {self.name!r}: missing argument(s) "
                            f"{', '.join(f'{n} (shape {tuple(expected.get(n) or ())})' for n in missing)}{unused}")
        for n, a in arrays.items():
            want = expected.get(n) if n in expected else aux_expected.get(n)
            if want and tuple(want) != tuple(a.shape):
                raise ValueError(f"Function {self.name!r}: argument {n} has shape {tuple(a.shape)}, expected "
                                 f"{tuple(want)} for inputs {shapes}")
        try:
            dtype, out_dtype = _compute_dtypes([a.dtype for n, a in arrays.items() if n not in self.label_names])
        except TypeError as exc:
            raise TypeError(f"Function {self.name!r}: {exc}") from None
        if self.input_shapes is None:
            self._last_shapes = shapes
        mxctx = ctx.as_mxnet()
        nd = _mxb._mx.nd
        scratch = {}
        for n, s in zip(self.aux_names, aux_shapes):
            cur = self.aux_states.get(n)
            if cur is None or tuple(cur.shape) != tuple(s):
                fill = 1.0 if n.endswith("var") else 0.0
                self.aux_states[n] = nd.full(tuple(s), fill, ctx=mxctx, dtype=dtype)
            elif numpy.dtype(cur.dtype) != dtype:  # the statistics carry over to the new dtype
                self.aux_states[n] = cur.astype(dtype)
            scratch[n] = self.aux_states[n].copy()
        labels = {n: tuple(expected[n]) for n in self.label_names}
        op = nd.CachedOp(self._run_symbol)
        casts = tuple(i for i, n in enumerate(self.input_names) if n in arrays and arrays[n].dtype != dtype)
        if casts or out_dtype != dtype:
            op = _casting(op, casts, dtype, None if out_dtype == dtype else out_dtype, self._nout)
        bound = _Bound(op, scratch, labels, dtype)
        self.bind_count += 1
        self._cache[key] = bound
        return bound

    def _run(self, bound: _Bound, arrays: dict, ctx):
        mx = _mxb._mx
        train = self.is_train
        names = self.input_names
        traced = MA.traced_mask([arrays.get(n) for n in names])
        positions = {} if traced is None else {
            i: n for i, n in enumerate(names)
            if traced[i] and n not in self.label_names and n not in self.aux_names}
        inputs = []
        for n in names:
            a = arrays.get(n)
            if a is not None:
                inputs.append(a._get(1).as_nd_ndarray())
            elif n in self.aux_names:
                # MXNet's backward writes its own moving-statistics update into what it is given: a scratch copy
                st = self.aux_states[n]
                if st.dtype != bound.dtype:  # a call in another dtype ran since: carry the statistics over
                    st = self.aux_states[n] = st.astype(bound.dtype)
                inputs.append(bound.scratch[n] if positions and train else st)
            else:  # a label not given (inference): zeros of the inferred shape
                inputs.append(mx.nd.zeros(bound.labels[n], ctx=ctx.as_mxnet(), dtype=bound.dtype))
        graph = None
        if positions:
            outs, graph = MA.record(bound.op, inputs, positions, train=train, nheads=self._nout)
        else:
            with (mx.autograd.train_mode() if train else mx.autograd.predict_mode()):
                outs = bound.op(*inputs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        if train and self._bn:
            self._update_statistics(outs[self._nout:], arrays)
        res = [Array(MA.attach(o.as_np_ndarray(), graph), 1, ctx) for o in outs[:self._nout]]
        res = res[0] if self._nout == 1 else tuple(res)
        if _tape.state.stack:
            _tape.record(self, (), arrays, res)
        return res

    def _update_statistics(self, stats, arrays: dict) -> None:
        for k, (mean_name, var_name, momentum, eps) in enumerate(self._bn):
            if mean_name in arrays or var_name in arrays:
                continue  # the caller manages these statistics
            mean, invstd = stats[2 * k], stats[2 * k + 1]
            var = 1.0 / (invstd * invstd) - eps
            m, v = self.aux_states[mean_name], self.aux_states[var_name]
            m[:] = m * momentum + mean * (1.0 - momentum)
            v[:] = v * momentum + var * (1.0 - momentum)

    # ------------------------------------------------------------------------------------ gradients
    def _vjp(self, pos, g, ans, args, kwargs):
        if pos in self.label_names or pos in self.aux_names:
            return None
        graph = MA.graph_of(ans)
        if graph is None or pos not in graph.positions:
            raise NoGradientError(f"Function {self.name!r}: no recorded MXNet backward for argument {pos!r}")
        if not MA.usable(g, list(kwargs.values())):
            raise NoGradientError(f"Function {self.name!r}: gradients of an MXNet symbol are first order only "
                                  "(MXNet's backward cannot be recorded by an outer tape)")
        return self._grads(graph, g)[pos]

    @_mxb.in_section
    def _grads(self, graph, g) -> dict:
        if graph.g is g and graph.grads is not None:
            return graph.grads
        with mxnet_section:
            return self._grads_locked(graph, g)

    def _grads_locked(self, graph, g) -> dict:
        mx = _mxb._mx
        gs = list(g) if type(g) in (tuple, list) else [g]
        loss = set(self.loss_outputs)
        passes = []  # (heads, head grads, scale)
        plain = [k for k in range(self._nout) if k not in loss]
        if plain:
            passes.append(([graph.heads[k] for k in plain],
                           [MA._like(gs[k]._get(1).as_nd_ndarray(), graph.heads[k]) for k in plain], 1.0))
        for k in self.loss_outputs:
            scale = self._uniform(gs[k], k)
            if scale != 0.0:
                passes.append(([graph.heads[k]], [mx.nd.ones(graph.heads[k].shape, dtype=graph.heads[k].dtype,
                                                             ctx=graph.heads[k].context)], scale))
        total = None
        for heads, hg, scale in passes:
            outs = mx.autograd.grad(heads, graph.variables, head_grads=hg, retain_graph=True,
                                    train_mode=graph.train)
            outs = [o * scale if scale != 1.0 else o for o in outs]
            total = outs if total is None else [t + o for t, o in zip(total, outs)]
        ctx = _context._current or _context.current_context()
        if total is None:
            total = [mx.nd.zeros(v.shape, dtype=v.dtype, ctx=v.context) for v in graph.variables]
        graph.grads = {p: Array(o.as_np_ndarray(), 1, ctx) for p, o in zip(graph.positions, total)}
        graph.g = g
        return graph.grads

    def _uniform(self, gk, k: int) -> float:
        v = numpy.asarray(gk)
        if v.size == 0:
            return 0.0
        first = v.flat[0]
        if not (v == first).all():
            raise ValueError(
                f"Function {self.name!r}: output {self.output_names[k]} is a loss head, whose gradient MXNet "
                "defines itself; it can only be scaled uniformly, but the incoming gradient varies. Use a plain "
                "output (e.g. softmax without the loss head) and write the loss with imperdl.numpy."
            )
        return float(first)

    def __repr__(self):
        return f"<imperdl Function {self.name}: {self.arg_names} -> {self.output_names}>"
