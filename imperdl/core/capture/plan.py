"""The plan: a trace turned into Python source, one line per step, compiled once per signature.

``t7 = F7(t3, t5)`` calls the backend implementation the trace ran (``prim.impls[b]``) on raw backend values: no
dispatch, signature, policy or tape work per step. Implementations and constants are globals of the compiled code.
Values cross backends exactly as eager ``Array._get_shared`` moves them; NumPy scalars become 0-d arrays where eager
wrapped them; consecutive MXNet steps share one ``mxnet_section``; an intermediate is deleted after its last use
(the plan's peak memory stays at eager's). In-place updates of inputs and externals were recorded as new values:
they are written back at the end, as ``Array._assign`` would.
"""
from __future__ import annotations

import numpy

from .. import mxnet_autograd as _MA
from ..array import Array
from ..backends import mxnet_backend as _mxb
from ..dispatch import _np_arg
from .tracer import Ref, Tracer

RETRACE = object()  # what a plan returns when an external array changed shape or dtype


def _to_host(x):
    return Array(x, 1)._get_shared(0)


def _to_mx(x):
    return Array(x)._get_shared(1)


def _mx_read(a):
    return a._get_shared(1) if type(a) is Array else Array(a)._get_shared(1)


def _setitem_copy(x, key, value):
    y = x.copy()
    y[key] = value
    return y


def _mx_rewriting(fn, where, args, kwargs):
    """An MXNet implementation that may rewrite inputs in place gets private copies of host-shared ones."""
    args = list(args)
    for w in where:
        if type(w) is int and w < len(args) and getattr(args[w], "_imperdl_host", False):
            args[w] = args[w].copy()
        elif type(w) is str and w in kwargs and getattr(kwargs[w], "_imperdl_host", False):
            kwargs[w] = kwargs[w].copy()
    return fn(*args, **kwargs)


def _wrap_host(x, cow):
    r = Array(x)
    if cow or x.base is not None:
        r._cow = True
    return r


def _wrap_host_scalar(x):
    r = Array(x)
    r._scalar = True
    return r


def _wrap_mx(x, ctx, shape, dtype, scalar):
    r = Array(x, 1, ctx, shape, dtype)
    if scalar is not None:
        r._scalar = scalar
    return r


def _write_back(target, x, b, ctx, shape):
    """``target`` takes value ``x`` in place (what ``Array._assign`` does; no tape is active during a replay)."""
    d = [None, None]
    d[b] = x
    target._data = d
    if b:
        target._ctx = ctx
    target._cow = True  # (the value may also be returned: a later write copies first)
    if target._shape != shape:
        target._shape, target._keyc = shape, None
    target._version += 1


class _Code:
    def __init__(self):
        self.glob = {"RETRACE": RETRACE, "NP": _np_arg, "MXR": _mx_read, "TO0": _to_host, "TO1": _to_mx,
                     "SETI": _setitem_copy, "MXRW": _mx_rewriting, "WH": _wrap_host, "WHS": _wrap_host_scalar,
                     "WM": _wrap_mx, "WB": _write_back, "SEC": _mxb.section, "ASA": numpy.asarray,
                     "MXC": _to_mx, "MASK": _MA.with_mask}
        self.lines: list = []  # (in a section, text, names used, names defined)
        self.n = 0

    def const(self, v) -> str:
        name = f"C{self.n}"
        self.n += 1
        self.glob[name] = v
        return name


def build(tr: Tracer, out_tpl, name: str):
    """The compiled plan ``plan(leaves) -> outputs`` (or ``RETRACE``) for tracer ``tr``'s recording."""
    c = _Code()
    slots = tr.slots
    have: set = set()  # variables defined so far (a slot's value on another backend: t3_1)

    def ref(s: int, b: int, uses: set) -> str:
        if slots[s].b == b:
            v = f"t{s}"
        else:
            v = f"t{s}_{b}"
            if v not in have:
                c.lines.append((False, f"{v} = TO{b}(t{s})", {f"t{s}"}, {v}))
                have.add(v)
        uses.add(v)
        return v

    def expr(tpl, b: int, uses: set) -> str:
        t = type(tpl)
        if t is Ref:
            return ref(tpl.slot, b, uses)
        if t is list:
            return "[" + "".join(expr(e, b, uses) + ", " for e in tpl) + "]"
        if t is tuple:
            return "(" + "".join(expr(e, b, uses) + ", " for e in tpl) + ")"
        if t is dict:
            return "{" + ", ".join(f"{c.const(k)}: {expr(v, b, uses)}" for k, v in tpl.items()) + "}"
        if b == 1:
            if t is numpy.ndarray:
                return f"MXC({c.const(tpl)})"  # (read at each call, as eager converts it at each call)
            if isinstance(tpl, numpy.generic):
                return c.const(tpl.item())
        return c.const(tpl)

    # inputs and externals
    for k, s in enumerate(tr.in_slots):
        if slots[s].kind != "in":
            continue
        if k in tr.np_in:
            rd = f"L[{k}]"
        elif slots[s].b:
            rd = f"MXR(L[{k}])"
        else:
            rd = f"NP(L[{k}])"
        c.lines.append((False, f"t{s} = {rd}", set(), {f"t{s}"}))
    for a, s in tr.exts:
        e = c.const(a)
        shp, dt = c.const(a.shape), c.const(a.dtype)
        c.lines.append((False, f"if {e}.shape != {shp} or {e}.dtype != {dt}: return RETRACE", set(), set()))
        rd = "MXR" if slots[s].b else "NP"
        c.lines.append((False, f"t{s} = {rd}({e})", set(), {f"t{s}"}))

    for i, st in enumerate(tr.steps):
        uses: set = set()
        b = st.b
        if st.kind == "setitem":
            call = f"SETI({expr(st.args[0], 0, uses)}, {expr(st.args[1], 0, uses)}, {expr(st.args[2], 0, uses)})"
        else:
            impls = getattr(st.prim, "impls", None)
            fn = c.const(st.prim if impls is None else impls[b])  # (a plain function: a recorded computation)
            a = "".join(expr(x, b, uses) + ", " for x in st.args)
            kw = "".join(f"{k}={expr(v, b, uses)}, " for k, v in st.kwargs.items()) if st.kwargs else ""
            if b == 1 and impls is not None and st.prim.mx_rewrites is not None:
                kwd = "{" + ", ".join(f"{k!r}: {expr(v, b, uses)}" for k, v in (st.kwargs or {}).items()) + "}"
                a, kw = f"{fn}, {c.const(st.prim.mx_rewrites)}, ({a}), {kwd}, ", ""
                fn = "MXRW"
            if st.mask is not None:
                a, fn = f"{fn}, {c.const(st.mask)}, {a}", "MASK"
            call = f"{fn}({a}{kw})"
        defs = {f"t{s}" for _, s, _ in st.outs}
        if len(st.outs) == 1 and not st.outs[0][0]:
            _, s, asa = st.outs[0]
            c.lines.append((b == 1, f"t{s} = ASA({call})" if asa else f"t{s} = {call}", uses, defs))
        else:
            c.lines.append((b == 1, f"r{i} = {call}", uses, {f"r{i}"}))
            for p, s, asa in st.outs:
                get = f"r{i}" + "".join(f"[{k}]" for k in p)
                c.lines.append((b == 1, f"t{s} = ASA({get})" if asa else f"t{s} = {get}", {f"r{i}"}, {f"t{s}"}))
        have.update(defs)

    # write-backs, then the outputs
    keep: set = set()
    for target, s in tr.writes.values():
        sl = slots[s]
        tgt = f"L[{tr.in_ids[id(target)]}]" if id(target) in tr.in_ids else c.const(target)
        c.lines.append((False, f"WB({tgt}, t{s}, {sl.b}, {c.const(sl.ctx)}, {c.const(sl.shape)})", {f"t{s}"}, set()))
    seen: dict = {}
    written = {s for _, s in tr.writes.values()}
    ret = _out_expr(out_tpl, c, slots, seen, written, keep, tr.np_in)
    c.lines.append((False, f"return {ret}", keep, set()))
    src = _assemble(c.lines, name)
    code = compile(src, f"<jit plan of {name}>", "exec")
    ns: dict = {}
    exec(code, c.glob, ns)
    plan = ns["plan"]
    plan.source = src
    return plan


def _out_expr(tpl, c: _Code, slots, seen: dict, written: set, uses: set, np_in: set) -> str:
    kind, v = tpl
    if kind == "in":
        return f"WH(L[{v}], True)" if v in np_in else f"L[{v}]"  # (f returned the Array it saw)
    if kind == "ext":
        return c.const(v)
    if kind == "const":
        return c.const(v)
    if kind == "slot":
        s = v
        uses.add(f"t{s}")
        sl = slots[s]
        if sl.b == 1:
            return f"WM(t{s}, {c.const(sl.ctx)}, {c.const(sl.shape)}, {c.const(sl.dtype)}, {c.const(sl.scalar)})"
        if sl.kind == "step" and sl.scalar:
            return f"WHS(t{s})"
        cow = sl.kind != "step" or s in written or s in seen
        seen[s] = True
        return f"WH(t{s}, {cow})"
    if kind is dict:
        return "{" + ", ".join(f"{c.const(k)}: {_out_expr(e, c, slots, seen, written, uses, np_in)}"
                               for k, e in v.items()) + "}"
    items = "".join(_out_expr(e, c, slots, seen, written, uses, np_in) + ", " for e in v)
    if kind is tuple:
        return f"({items})"
    if kind is list:
        return f"[{items}]"
    return f"{c.const(kind)}({items})"  # a namedtuple


def _assemble(lines: list, name: str) -> str:
    """The function's source: ``del`` after each name's last use, MXNet runs inside one ``with SEC:``."""
    last: dict = {}
    for i, (_, _, uses, _) in enumerate(lines):
        for u in uses:
            last[u] = i
    out = [f"def plan(L):  # {name}"]
    in_sec = False
    for i, (sec, text, uses, defs) in enumerate(lines):
        if sec and not in_sec:
            out.append("    with SEC:")
        in_sec = sec
        ind = "        " if sec else "    "
        out.append(ind + text)
        dead = sorted(u for u in uses if last.get(u) == i and not text.startswith("return"))
        dead += sorted(d for d in defs if d not in last)  # never read (a second result nobody used)
        if dead:
            out.append(ind + "del " + ", ".join(dead))
    return "\n".join(out) + "\n"
