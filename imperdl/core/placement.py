"""Cost-aware placement: each call runs on the backend where it is estimated cheapest, from measured costs.

Why: MXNet's PyPI CPU wheel is built without AVX. Every MXNet call costs ~10-18 us and its elementwise and
reduction kernels are slower than NumPy's, while its oneDNN kernels (dot/FullyConnected, convolution, pooling,
batchnorm) can win on large inputs; moving a value between the backends costs too (~3-10 us shared, more when
copied). "MXNet wherever it can" is therefore slow on a CPU; so is "NumPy always" for convolutions.

How: for a call, with ``k`` the size class (``size.bit_length()``) and ``dtype`` of its largest array argument,

    cost(NumPy) = t_numpy(op, dtype, k) + transfers to the host of array arguments not fresh there
    cost(MXNet) = t_mxnet(op, dtype, k) + transfers to MXNet of array arguments not fresh there

and MXNet is chosen when it is cheaper by more than ``margin`` (ties go to NumPy, the reference semantics).
``t_*`` come from a cost table (``costs.json``): medians measured per operator, dtype and size class by
``python -m imperdl.tools.calibrate``, interpolated between measured classes (log time, linear in the class)
and extrapolated past the largest with the slope of the last two. Transfers are estimated from bytes the same
way. The decision is cached per signature *and* where the arguments live (``Policy.located``), so estimates never
run on the hot path. Calls with no array argument (creation, random) cannot see their size in the signature:
they go to MXNet only if MXNet is cheaper at every measured size. Operators missing from the table: NumPy below
``DEFAULT_MXNET_CLASS`` (small work is never worth an MXNet call here), MXNet from there on if it takes the call.
On a GPU context the table does not apply (it measures the CPU): MXNet wherever it can, like PreferMXNet.

The table used is the user's own calibration (``user_table_path()``: ``$IMPERDL_COSTS``, else
``$XDG_CACHE_HOME/imperdl/costs.json``, else ``~/.cache/imperdl/costs.json``) when present and readable, else the
one shipped with the package (measured on the project's reference machine).
"""
from __future__ import annotations

import json
import math
import os
from importlib import resources

import numpy

from .. import context as _context
from .policy import PreferMXNetPolicy, _by_context

FORMAT = 1
# size class from which an operator absent from the table goes to MXNet (2**16 = 65536 elements and up)
DEFAULT_MXNET_CLASS = 17
# slope limits (log2 of time per size class) when extrapolating past the largest measured class
_MAX_SLOPE = 2.0


def user_table_path() -> str:
    """Where ``python -m imperdl.tools.calibrate`` writes by default, and where the policy looks first."""
    env = os.environ.get("IMPERDL_COSTS")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "imperdl", "costs.json")


def _curve(points: dict) -> tuple:
    """{class: microseconds} -> (sorted classes, log2 of the times)."""
    ks = sorted(int(k) for k in points)
    return tuple(ks), tuple(math.log2(max(float(points[str(k)] if str(k) in points else points[k]), 1e-3))
                             for k in ks)


def _at(curve: tuple, k: float) -> float:
    """Microseconds at class ``k``: interpolated in log time, flat below the first class, extrapolated above."""
    ks, ls = curve
    if len(ks) == 1 or k <= ks[0]:
        return 2.0 ** ls[0]
    if k >= ks[-1]:
        slope = (ls[-1] - ls[-2]) / (ks[-1] - ks[-2])
        return 2.0 ** (ls[-1] + min(max(slope, 0.0), _MAX_SLOPE) * (k - ks[-1]))
    for i in range(1, len(ks)):
        if k <= ks[i]:
            f = (k - ks[i - 1]) / (ks[i] - ks[i - 1])
            return 2.0 ** (ls[i - 1] + f * (ls[i] - ls[i - 1]))
    return 2.0 ** ls[-1]  # pragma: no cover


class CostTable:
    """A parsed cost table: per-operator, per-dtype time curves of both backends, and transfer curves."""

    def __init__(self, data: dict | None = None, source: str = "<dict>"):
        data = data or {}
        if data and data.get("format") != FORMAT:
            raise ValueError(f"imperdl cost table {source}: format {data.get('format')!r}, expected {FORMAT}")
        self.source = source
        self.meta = dict(data.get("meta", {}))
        self.ops: dict = {}  # name -> {dtype name: (numpy curve, mxnet curve)}
        for name, by_dtype in data.get("ops", {}).items():
            entry = {}
            for dt, points in by_dtype.items():
                if points:
                    entry[dt] = (_curve({k: v[0] for k, v in points.items()}),
                                 _curve({k: v[1] for k, v in points.items()}))
            if entry:
                self.ops[name] = entry
        self.transfer: dict = {}  # (direction, 'shared' | 'copy') -> curve over byte classes
        for direction, modes in data.get("transfer", {}).items():
            for mode, points in modes.items():
                if points:
                    self.transfer[(direction, mode)] = _curve(points)

    def __contains__(self, name: str) -> bool:
        return name in self.ops

    def curves(self, name: str, dtype) -> tuple | None:
        """(numpy curve, mxnet curve) for ``name`` at ``dtype``, else at float32, else at any dtype measured."""
        entry = self.ops.get(name)
        if entry is None:
            return None
        c = entry.get(numpy.dtype(dtype).name) if dtype is not None else None
        if c is None:
            c = entry.get("float32") or next(iter(entry.values()))
        return c

    def estimate(self, name: str, dtype, k: float) -> tuple[float, float] | None:
        """(NumPy us, MXNet us) for one call of ``name`` on a largest argument of size class ``k``."""
        c = self.curves(name, dtype)
        if c is None:
            return None
        return _at(c[0], k), _at(c[1], k)

    def transfer_us(self, direction: str, nbytes: int, shared: bool) -> float:
        """Microseconds to bring ``nbytes`` across (``direction`` 'numpy->mxnet' or 'mxnet->numpy')."""
        curve = self.transfer.get((direction, "shared" if shared else "copy"))
        if curve is None:
            curve = self.transfer.get((direction, "copy"))
        if curve is None:  # no measurement: the costs this machine kind showed (notes/mxnet-facts.md)
            return (5.0 if shared else 15.0) + (0.0 if shared else nbytes * 4e-5)
        return _at(curve, nbytes.bit_length())

    def to_json(self) -> dict:
        """Back to the file format (curves at their measured classes)."""
        ops = {}
        for name, entry in self.ops.items():
            ops[name] = {dt: {str(k): [round(2.0 ** a, 3), round(2.0 ** b, 3)]
                              for k, a, b in zip(c_np[0], c_np[1], c_mx[1])}
                         for dt, (c_np, c_mx) in entry.items()}
        transfer: dict = {}
        for (direction, mode), (ks, ls) in self.transfer.items():
            transfer.setdefault(direction, {})[mode] = {str(k): round(2.0 ** v, 3) for k, v in zip(ks, ls)}
        return {"format": FORMAT, "meta": self.meta, "transfer": transfer, "ops": ops}


_loaded: dict = {}  # path -> (mtime, CostTable)


def load_table(path: str | os.PathLike | None = None) -> CostTable:
    """The cost table at ``path``; by default the user's calibration if present and readable, else the shipped one."""
    if path is not None:
        return _read(os.fspath(path))
    user = user_table_path()
    if os.path.exists(user):
        try:
            return _read(user)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # an unreadable user table must not break imports: the shipped one still holds
    return shipped_table()


def shipped_table() -> CostTable:
    """The table shipped with the package (``imperdl/core/costs.json``)."""
    hit = _loaded.get("<shipped>")
    if hit is None:
        try:
            text = resources.files("imperdl.core").joinpath("costs.json").read_text()
            hit = _loaded["<shipped>"] = (0, CostTable(json.loads(text), "imperdl/core/costs.json"))
        except (OSError, ValueError):
            hit = _loaded["<shipped>"] = (0, CostTable({}, "<none>"))
    return hit[1]


def _read(path: str) -> CostTable:
    mtime = os.stat(path).st_mtime_ns
    hit = _loaded.get(path)
    if hit is None or hit[0] != mtime:
        with open(path) as f:
            hit = _loaded[path] = (mtime, CostTable(json.load(f), path))
    return hit[1]


def _arrays(args, kwargs):
    """The array arguments of a call (also inside top-level lists/tuples and keywords)."""
    from .array import Array

    out = []

    def one(a):
        t = type(a)
        if t is Array or t is numpy.ndarray:
            out.append(a)
        elif t is list or t is tuple:
            for e in a:
                if type(e) is Array or type(e) is numpy.ndarray:
                    out.append(e)

    for a in args:
        one(a)
    for v in kwargs.values():
        one(v)
    return out


def _us(t: float) -> str:
    return "-" if t != t or t in (math.inf, 0.0) else f"{t:.1f}"


def _places(key) -> str:
    """Where the positional arrays of a located key ``(signature, where)`` lived, e.g. 'h,m' (first to last;
    leading non-array arguments are not shown, others as '-')."""
    if key is None or len(key) != 2 or type(key[1]) is not int:
        return "?"
    w, out = key[1], []
    while w:
        out.append(("-", "h", "m", "hm")[w & 3])
        w >>= 2
    return ",".join(reversed(out)) or "-"


class CostAwarePolicy(PreferMXNetPolicy):
    """Each call on the backend where the cost table says it is cheapest, transfers included (see the module).

    ``table``: a path, a dict in the file format, a ``CostTable``, or None (the user's calibration if present,
    else the shipped table; read at the first decision). ``margin``: MXNet must be this much cheaper (a
    fraction) to be chosen. ``choices`` keeps every decision with its estimates; ``report()`` prints them.
    A call the table sends to MXNet but MXNet cannot take runs on NumPy as a fallback (code 2, notified like
    PreferMXNet's); a call sent to NumPy by the estimate is NumPy by choice.
    """

    name = "cost_aware"
    located = True
    host_backward = True  # (its estimates keep small calls on host values on NumPy: the backward may skip asking)

    def __init__(self, table=None, margin: float = 0.1):
        super().__init__()
        self._table_arg = table
        self._table: CostTable | None = None
        if table is not None:
            self.table  # noqa: B018  (a table given explicitly is read now: a bad path fails here, not mid-call)
        self.margin = margin
        self.choices: dict = {}  # (operator name, signature) -> (NumPy us, MXNet us, code)
        _by_context.add(self)

    @property
    def table(self) -> CostTable:
        t = self._table
        if t is None:
            arg = self._table_arg
            if isinstance(arg, CostTable):
                t = arg
            elif isinstance(arg, dict):
                t = CostTable(arg)
            else:
                t = load_table(arg)
            self._table = t
        return t

    def _context_changed(self, ctx) -> None:
        self.clear_cache()  # decisions made for one device type do not hold on another

    def decide(self, prim, key, args, kwargs) -> int:
        if prim.host:
            return 0
        ctx = _context._current or _context.current_context()
        if ctx.device_type != "cpu":
            return super().decide(prim, key, args, kwargs)
        if prim.impls[1] is None:
            t_np, t_mx, to_mx = math.nan, math.nan, False
        else:
            t_np, t_mx = self.estimate(prim, args, kwargs)
            if t_np != t_np:  # no array argument: the size is not in the signature
                to_mx = self._wins_at_every_size(prim)
            else:
                to_mx = t_mx * (1.0 + self.margin) < t_np
        code = 0
        if to_mx:
            code = 1 if self.mxnet_accepts(prim, args, kwargs) and not self.blocked(prim, key) else 2
        self.choices[(prim.name, key)] = (t_np, t_mx, code)
        return code

    def _wins_at_every_size(self, prim) -> bool:
        c = self.table.curves(prim.name, None)
        if c is None:
            return False
        return all(2.0 ** m * (1.0 + self.margin) < 2.0 ** n for n, m in zip(c[0][1], c[1][1]))

    def estimate(self, prim, args, kwargs) -> tuple[float, float]:
        """(NumPy us, MXNet us) for this call, transfers of arguments not fresh on each side included;
        (nan, nan) for a call without array arguments (its size is not part of the signature)."""
        arrays = _arrays(args, kwargs)
        table = self.table
        if not arrays:
            return math.nan, math.nan
        from .array import Array
        from .backends import mxnet_backend as mxb

        big = max(arrays, key=lambda a: a.size)
        k = big.size.bit_length()
        est = table.estimate(prim.name, big.dtype, k)
        if est is None:
            est = (math.inf, 0.0) if k >= DEFAULT_MXNET_CLASS else (0.0, math.inf)
        t_np, t_mx = est
        shared = mxb.ZERO_COPY
        for a in arrays:
            nbytes = a.size * a.dtype.itemsize
            if type(a) is Array:
                d = a._data
                if d[0] is None:
                    t_np += table.transfer_us("mxnet->numpy", nbytes, shared)
                if d[1] is None:
                    t_mx += table.transfer_us("numpy->mxnet", nbytes, shared)
            else:
                t_mx += table.transfer_us("numpy->mxnet", nbytes, shared)
        return t_np, t_mx

    def report(self) -> str:
        """Every decision made so far: operator, signature, estimated NumPy/MXNet microseconds, where it went."""
        from .signature import format_key

        runs = ("numpy", "mxnet", "numpy (fallback)")
        lines = [f"{'operator':<24}{'numpy us':>11}{'mxnet us':>11}  {'runs on':<17}{'args on':<12}signature"]
        for (name, key), (t_np, t_mx, code) in sorted(self.choices.items(), key=lambda kv: kv[0][0]):
            lines.append(f"{name:<24}{_us(t_np):>11}{_us(t_mx):>11}  {runs[code]:<17}{_places(key):<12}"
                         f"{format_key(key)}")
        lines.append("(us: estimated cost with transfers; '-': not measured. args on: per positional array, "
                     "h host, m MXNet, hm both)")
        lines.append(f"cost table: {self.table.source}")
        return "\n".join(lines)

    def __repr__(self):
        return f"CostAwarePolicy(table={self._table_arg!r})" if self._table_arg is not None else "CostAwarePolicy()"
