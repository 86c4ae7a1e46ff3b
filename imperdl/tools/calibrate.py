"""Measure this machine's cost table for cost-aware placement (``CostAwarePolicy``).

For every primitive with an MXNet implementation (the ones the differential suite checks), a representative call
is timed through imperdl's own dispatch on each backend, with its inputs already there, per dtype and size class
(``size.bit_length()`` of the largest array argument); each entry is the median over rounds of the mean time per
call. Transfers (host <-> MXNet, shared and copied) are timed per byte class. The result is the JSON file the
policy reads: by default the user's table (``imperdl.core.placement.user_table_path()``), which the policy prefers
over the one shipped with the package.

    python -m imperdl.tools.calibrate [--output PATH] [--quick] [--ops exp,dot,...] [--classes 7,13] [--dtypes ...]

``--quick`` measures two size classes, float32 only, with short rounds (seconds; for smoke tests). ``--ops``
re-measures only those operators and keeps the others from the table already at the output path.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings

import numpy

CLASSES = (1, 4, 7, 10, 13, 16, 19)
QUICK_CLASSES = (7, 13)
FLOATS = ("float32", "float64")
INTS = ("int32", "int64")


# ------------------------------------------------------------------------------------------ representative inputs
def _count(k: int) -> int:
    """An element count in the middle of size class ``k`` (sizes with bit length ``k``)."""
    return 1 if k <= 1 else int(1.5 * 2 ** (k - 1))


def _matrix_shape(k: int, even: bool = False) -> tuple:
    n = _count(k)
    r = max(1, 2 ** ((k - 1) // 2))
    if even:
        r = max(2, r)
    c = max(1, math.ceil(n / r))
    if even and c % 2:
        c += 1
    return r, c


class _Gen:
    """Random inputs of one dtype (values chosen inside every operator's domain)."""

    def __init__(self, dtype: str, seed: int = 0):
        self.dtype = numpy.dtype(dtype)
        self.rng = numpy.random.default_rng(seed)

    def _fill(self, shape, lo=0.1, hi=0.9):
        if self.dtype.kind == "b":
            return self.rng.random(shape) > 0.5
        if self.dtype.kind in "iu":
            return self.rng.integers(1, 100, shape).astype(self.dtype)
        return self.rng.uniform(lo, hi, shape).astype(self.dtype)

    def mat(self, k, lo=0.1, hi=0.9, even=False):
        return self._fill(_matrix_shape(k, even), lo, hi)

    def vec(self, k, lo=0.1, hi=0.9):
        return self._fill((_count(k),), lo, hi)

    def square(self, k, spd=False):
        m = max(1, math.isqrt(_count(k)))
        a = self._fill((m, m))
        if self.dtype.kind == "f":
            a = (a + a.T) / 2 + m * numpy.eye(m, dtype=self.dtype) if spd else a + m * numpy.eye(m, dtype=self.dtype)
        return a.astype(self.dtype)

    def image(self, k, channels=16):
        n = _count(k)
        # CNN-like layouts: images grow to 32x32, then the batch grows (one huge image misprices oneDNN's kernels)
        side = min(32, max(4, math.isqrt(max(1, n // channels)) // 2 * 2))
        batch = max(1, n // (channels * side * side))
        return self._fill((batch, channels, side, side))


def _u(lo=0.1, hi=0.9):
    return lambda g, k: ((g.mat(k, lo, hi),), {})


def _b():
    return lambda g, k: ((g.mat(k), g.mat(k, 0.2, 0.8)), {})


UNARY = """absolute arccos arcsin arctan arctanh arcsinh cbrt ceil cos cosh deg2rad degrees exp expm1 fabs fix floor
isfinite isinf isnan isneginf isposinf log log10 log1p log2 negative rad2deg radians reciprocal sign sin sinh sqrt
square tan tanh trunc around round round_ logical_not""".split()
BINARY = """add arctan2 divide equal greater greater_equal hypot less less_equal maximum minimum mod multiply
not_equal power remainder subtract true_divide logical_and logical_or logical_xor""".split()
REDUCTIONS = "all amax amin any argmax argmin average cumsum max mean min prod std sum var".split()
SHAPE_UNARY = """atleast_1d atleast_2d atleast_3d flip fliplr flipud ndarray.flatten ravel transpose
copy empty_like ones_like zeros_like ndarray.copy""".split()
RANDOM_SIZED = {
    "random.beta": (2.0, 3.0), "random.chisquare": (3.0,), "random.exponential": (1.0,), "random.gamma": (2.0, 1.0),
    "random.gumbel": (0.0, 1.0), "random.laplace": (0.0, 1.0), "random.logistic": (0.0, 1.0),
    "random.lognormal": (0.0, 1.0), "random.normal": (0.0, 1.0), "random.pareto": (3.0,), "random.power": (2.0,),
    "random.random": (), "random.random_sample": (), "random.ranf": (), "random.rayleigh": (1.0,),
    "random.sample": (), "random.standard_exponential": (), "random.standard_gamma": (2.0,),
    "random.standard_normal": (), "random.uniform": (0.0, 1.0), "random.weibull": (2.0,),
}

# name -> (builder(gen, k) -> (args, kwargs), dtypes, largest class worth measuring)
BUILDERS: dict = {}
for _n in UNARY:
    BUILDERS[_n] = (_u(), FLOATS, None)
BUILDERS["arccosh"] = (_u(1.1, 1.9), FLOATS, None)
BUILDERS["logical_not"] = (_u(), ("bool",) + FLOATS, None)
for _n in BINARY:
    BUILDERS[_n] = (_b(), FLOATS, None)
for _n in ("logical_and", "logical_or", "logical_xor"):
    BUILDERS[_n] = (_b(), ("bool",) + FLOATS, None)
for _n in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    BUILDERS[_n] = (_b(), INTS, None)
BUILDERS["invert"] = (_u(), INTS, None)
BUILDERS["clip"] = (lambda g, k: ((g.mat(k), 0.2, 0.8), {}), FLOATS, None)
BUILDERS["where"] = (lambda g, k: ((g.mat(k) > 0.5, g.mat(k), g.mat(k)), {}), FLOATS, None)
for _n in REDUCTIONS:
    BUILDERS[_n] = (_u(), FLOATS, None)
for _n in SHAPE_UNARY:
    BUILDERS[_n] = (_u(), FLOATS, None)
BUILDERS["sort"] = (_u(), INTS, None)  # MXNet sorts integers only (NaN order differs for floats)
BUILDERS["argsort"] = (lambda g, k: ((g.mat(k),), {"kind": "stable"}), INTS, None)
BUILDERS["relu"] = (_u(-1.0, 1.0), FLOATS, None)
BUILDERS["sigmoid"] = (_u(-1.0, 1.0), FLOATS, None)
BUILDERS.update({
    # products and linear algebra (square operands; the size class is that of one operand)
    "dot": (lambda g, k: ((g.square(k), g.square(k)), {}), FLOATS, None),
    "matmul": (lambda g, k: ((g.square(k), g.square(k)), {}), FLOATS, None),
    "inner": (lambda g, k: ((g.square(k), g.square(k)), {}), FLOATS, None),
    "tensordot": (lambda g, k: ((g.square(k), g.square(k)), {"axes": 1}), FLOATS, None),
    "einsum": (lambda g, k: (("ij,jk->ik", g.square(k), g.square(k)), {}), FLOATS, None),
    "vdot": (lambda g, k: ((g.vec(k), g.vec(k)), {}), FLOATS, None),
    "outer": (lambda g, k: ((g.vec(k), g.vec(k)), {}), FLOATS, 10),
    "trace": (lambda g, k: ((g.square(k),), {}), FLOATS, None),
    "linalg.norm": (_u(), FLOATS, None),
    "linalg.cholesky": (lambda g, k: ((g.square(k, spd=True),), {}), FLOATS, 16),
    "linalg.eigvalsh": (lambda g, k: ((g.square(k, spd=True),), {}), FLOATS, 13),
    "linalg.det": (lambda g, k: ((g.square(k),), {}), FLOATS, 16),
    "linalg.slogdet": (lambda g, k: ((g.square(k),), {}), FLOATS, 16),
    "linalg.inv": (lambda g, k: ((g.square(k),), {}), FLOATS, 16),
    "linalg.pinv": (lambda g, k: ((g.square(k),), {}), FLOATS, 13),
    "linalg.tensorinv": (lambda g, k: ((g.square(k),), {"ind": 1}), FLOATS, 16),
    "linalg.solve": (lambda g, k: ((g.square(k), g.square(k)[:, 0].copy()), {}), FLOATS, 16),
    "linalg.tensorsolve": (lambda g, k: ((g.square(k), g.square(k)[:, 0].copy()), {}), FLOATS, 16),
    # indexing
    "ndarray.__getitem__": (lambda g, k: ((g.mat(k), (slice(0, None, 2),)), {}), FLOATS, None),
    "ndarray.__setitem__": (lambda g, k: ((g.mat(k), (slice(0, None, 2),), 0.5), {}), FLOATS, None),
    "take": (lambda g, k: ((g.vec(k), numpy.arange(0, _count(k), 2)), {}), FLOATS, None),
    # shape
    "reshape": (lambda g, k: ((g.mat(k), (-1,)), {}), FLOATS, None),
    "squeeze": (lambda g, k: ((g.mat(k)[None],), {}), FLOATS, None),
    "expand_dims": (lambda g, k: ((g.mat(k), 0), {}), FLOATS, None),
    "swapaxes": (lambda g, k: ((g.mat(k), 0, 1), {}), FLOATS, None),
    "moveaxis": (lambda g, k: ((g.mat(k), 0, 1), {}), FLOATS, None),
    "roll": (lambda g, k: ((g.mat(k), 1), {}), FLOATS, None),
    "repeat": (lambda g, k: ((g.mat(k), 2), {}), FLOATS, None),
    "tile": (lambda g, k: ((g.mat(k), 2), {}), FLOATS, None),
    "pad": (lambda g, k: ((g.mat(k), 1), {}), FLOATS, None),
    "broadcast_to": (lambda g, k: ((g.vec(k), (4, _count(k))), {}), FLOATS, None),
    "diag": (lambda g, k: ((g.square(k),), {}), FLOATS, None),
    "diagonal": (lambda g, k: ((g.square(k),), {}), FLOATS, None),
    "tril": (lambda g, k: ((g.square(k),), {}), FLOATS, None),
    "triu": (lambda g, k: ((g.square(k),), {}), FLOATS, None),
    "split": (lambda g, k: ((g.mat(k, even=True), 2), {}), FLOATS, None),
    "array_split": (lambda g, k: ((g.mat(k, even=True), 2), {}), FLOATS, None),
    "vsplit": (lambda g, k: ((g.mat(k, even=True), 2), {}), FLOATS, None),
    "hsplit": (lambda g, k: ((g.mat(k, even=True), 2), {}), FLOATS, None),
    "dsplit": (lambda g, k: ((g.mat(k)[..., None].repeat(2, axis=2), 2), {}), FLOATS, None),
    "concatenate": (lambda g, k: (([g.mat(k), g.mat(k)],), {}), FLOATS, None),
    "stack": (lambda g, k: (([g.mat(k), g.mat(k)],), {}), FLOATS, None),
    "vstack": (lambda g, k: (([g.mat(k), g.mat(k)],), {}), FLOATS, None),
    "hstack": (lambda g, k: (([g.mat(k), g.mat(k)],), {}), FLOATS, None),
    "dstack": (lambda g, k: (([g.mat(k), g.mat(k)],), {}), FLOATS, None),
    "column_stack": (lambda g, k: (([g.vec(k), g.vec(k)],), {}), FLOATS, None),
    "meshgrid": (lambda g, k: ((g.vec(max(1, (k + 1) // 2)), g.vec(max(1, (k + 1) // 2))), {}), FLOATS, None),
    # creation (no array argument for most: the class is that of the result)
    "ndarray.astype": (lambda g, k: ((g.mat(k), "float16"), {}), FLOATS, None),
    "full_like": (lambda g, k: ((g.mat(k), 2.0), {}), FLOATS, None),
    "zeros": (lambda g, k: ((_matrix_shape(k),), {"dtype": g.dtype}), FLOATS, None),
    "ones": (lambda g, k: ((_matrix_shape(k),), {"dtype": g.dtype}), FLOATS, None),
    "empty": (lambda g, k: ((_matrix_shape(k),), {"dtype": g.dtype}), FLOATS, None),
    "full": (lambda g, k: ((_matrix_shape(k), 2.0), {"dtype": g.dtype}), FLOATS, None),
    "arange": (lambda g, k: ((_count(k),), {"dtype": g.dtype}), FLOATS, None),
    "linspace": (lambda g, k: ((0.0, 1.0, _count(k)), {"dtype": g.dtype}), FLOATS, None),
    "eye": (lambda g, k: ((math.isqrt(_count(k)),), {"dtype": g.dtype}), FLOATS, None),
    "identity": (lambda g, k: ((math.isqrt(_count(k)),), {"dtype": g.dtype}), FLOATS, None),
    "tri": (lambda g, k: ((math.isqrt(_count(k)),), {"dtype": g.dtype}), FLOATS, None),
    # random (sized by ``size``)
    "random.rand": (lambda g, k: (_matrix_shape(k), {}), ("float64",), None),
    "random.randn": (lambda g, k: (_matrix_shape(k), {}), ("float64",), None),
    "random.randint": (lambda g, k: ((0, 10), {"size": _matrix_shape(k)}), ("int64",), None),
    "random.choice": (lambda g, k: ((10,), {"size": _matrix_shape(k)}), ("int64",), None),
    # convolution and pooling (imperdl's own primitives, oneDNN on MXNet)
    "conv2d": (lambda g, k: ((g.image(k), g._fill((16, 16, 3, 3)), g._fill((16,)), (1, 1), (1, 1)), {}),
               FLOATS, None),
    "max_pool2d": (lambda g, k: ((g.image(k), 2, 2, (2, 2)), {}), FLOATS, None),
    "avg_pool2d": (lambda g, k: ((g.image(k), 2, 2, (2, 2)), {}), FLOATS, None),
})
for _n, _params in RANDOM_SIZED.items():
    BUILDERS[_n] = ((lambda p: lambda g, k: (p, {"size": _matrix_shape(k)}))(_params), ("float64",), None)


# ------------------------------------------------------------------------------------------ timing
def _function(name: str):
    """imperdl's callable for a registry name: the NumPy face's function where it has one, else the primitive."""
    import imperdl.numpy as inp
    from imperdl.core import registry

    if name == "ndarray.__getitem__":
        return lambda x, key: x[key]
    if name == "ndarray.__setitem__":
        return lambda x, key, value: x.__setitem__(key, value)
    obj = inp
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return registry.REGISTRY.get(name) or registry.primitive(name)
    return obj


def _place(x, backend: int):
    """``x`` with every NumPy array turned into an Array whose only fresh copy is on ``backend``."""
    from imperdl import context
    from imperdl.core.array import Array

    t = type(x)
    if t is numpy.ndarray:
        a = Array(x.copy())
        if backend:
            a._set_data(a._get(1), 1, context.current_context())
        return a
    if t is list or t is tuple:
        return t(_place(e, backend) for e in x)
    return x


def _largest(x, best=None):
    t = type(x)
    if t is numpy.ndarray:
        return x if best is None or x.size > best.size else best
    if t is list or t is tuple:
        for e in x:
            best = _largest(e, best)
    return best


def _wait(r) -> None:
    w = getattr(r, "wait_to_read", None)
    if w is not None:
        w()
    elif type(r) in (list, tuple):
        for e in r:
            _wait(e)


def _median_us(call, target_s: float, rounds: int) -> float:
    """Median over ``rounds`` of the mean microseconds per ``call()``, each round about ``target_s`` long."""
    t0 = time.perf_counter()
    _wait(call())
    once = max(time.perf_counter() - t0, 1e-7)
    number = max(1, min(2000, int(target_s / once)))
    per = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(number):
                _wait(call())
            per.append((time.perf_counter() - t0) / number * 1e6)
    finally:
        if gc_was:
            gc.enable()
    return statistics.median(per)


def _time_op(name, fn, args, kwargs, target_s, rounds):
    """(NumPy us, MXNet us) for one representative call, or None when MXNet does not take it."""
    from imperdl.core.policy import MXNetUnsupportedError, OnlyMXNetPolicy, OnlyNumPyPolicy, Policy
    from imperdl.core.registry import REGISTRY

    prim = REGISTRY.get(name)
    if prim is None or prim.impls[1] is None:
        return None
    mx_args = _place(args, 1)
    mx_kwargs = {k: _place(v, 1) for k, v in kwargs.items()}
    if not Policy.mxnet_accepts(prim, mx_args, mx_kwargs):
        return None
    results = []
    for backend, policy in ((0, OnlyNumPyPolicy()), (1, OnlyMXNetPolicy())):
        a = _place(args, backend)
        kw = {k: _place(v, backend) for k, v in kwargs.items()}
        with policy, warnings.catch_warnings(), numpy.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                results.append(_median_us(lambda a=a, kw=kw: fn(*a, **kw), target_s, rounds))
            except MXNetUnsupportedError:
                return None
    return tuple(results)


def _time_transfers(classes, target_s, rounds) -> dict:
    """Per byte class: microseconds to bring float32 data host -> MXNet and back, shared and copied."""
    from imperdl import context
    from imperdl.core.backends import mxnet_backend as mxb

    ctx = context.current_context()
    out: dict = {"numpy->mxnet": {"shared": {}, "copy": {}}, "mxnet->numpy": {"shared": {}, "copy": {}}}
    for k in classes:
        host = numpy.ones(_count(k), dtype=numpy.float32)
        kb = str(host.nbytes.bit_length())
        dev = mxb.from_host(host, ctx)
        out["numpy->mxnet"]["copy"][kb] = _median_us(lambda h=host: mxb.from_host(h, ctx), target_s, rounds)
        out["mxnet->numpy"]["copy"][kb] = _median_us(lambda d=dev: mxb.to_host(d), target_s, rounds)
        if mxb.ZERO_COPY:
            out["numpy->mxnet"]["shared"][kb] = _median_us(lambda h=host: mxb.share_from_host(h, ctx), target_s,
                                                           rounds)
            dev2 = mxb.from_host(host, ctx)
            out["mxnet->numpy"]["shared"][kb] = _median_us(
                lambda d=dev2, h=host: mxb.share_to_host(d, h.shape, h.dtype, ctx), target_s, rounds)
    return out


def calibrate(ops=None, quick: bool = False, classes=None, dtypes=None, progress=None) -> dict:
    """Measure and return a cost table (the file format of ``imperdl.core.placement``).

    ``ops``: registry names (default: every primitive with an MXNet implementation and a representative input).
    ``classes``/``dtypes`` override the defaults; ``progress(line)`` receives one line per operator.
    """
    import imperdl
    from imperdl.core.backends import mxnet_backend as mxb
    from imperdl.core.placement import FORMAT
    from imperdl.core.registry import REGISTRY

    if mxb.load() is None:
        raise RuntimeError(f"imperdl.tools.calibrate: MXNet is not importable ({mxb.unavailable_reason()})")
    classes = tuple(classes or (QUICK_CLASSES if quick else CLASSES))
    target_s, rounds = (0.0005, 1) if quick else (0.002, 3)
    with_mx = sorted(n for n, p in REGISTRY.items() if p.impls[1] is not None)
    names = list(ops) if ops else with_mx
    table: dict = {}
    skipped: dict = {}
    saved_stats = imperdl.statistics()
    for name in names:
        if name not in BUILDERS:
            skipped[name] = "no representative input"
            continue
        build, kinds, max_class = BUILDERS[name]
        use = [d for d in kinds if dtypes is None or d in dtypes]
        if quick and dtypes is None:
            use = use[:1] if "float32" not in use else ["float32"]
        try:
            fn = _function(name)
        except (AttributeError, KeyError, TypeError) as exc:
            skipped[name] = f"not callable here: {exc}"
            continue
        entry: dict = {}
        for dt in use:
            points = {}
            gen = _Gen(dt)
            for k in classes:
                if max_class is not None and k > max_class:
                    continue
                try:
                    args, kwargs = build(gen, k)
                    big = _largest((args, tuple(kwargs.values())))
                    got = _time_op(name, fn, args, kwargs, target_s, rounds)
                except Exception as exc:  # one representative call failing must not stop the table
                    skipped[f"{name}[{dt}]"] = f"{type(exc).__name__}: {exc}"[:200]
                    continue
                if got is not None:
                    kk = big.size.bit_length() if big is not None else k
                    points[str(kk)] = [round(got[0], 3), round(got[1], 3)]
            if points:
                entry[dt] = points
        if entry:
            table[name] = entry
        elif name not in skipped:
            skipped[name] = "MXNet declines the representative call"
        if progress is not None:
            progress(_progress_line(name, entry))
    transfer = _time_transfers(classes if not quick else (7, 20), target_s, rounds)
    imperdl.reset_statistics()  # calibration calls are not the user's
    del saved_stats
    meta = {
        "generated_by": "python -m imperdl.tools.calibrate" + (" --quick" if quick else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "numpy": numpy.__version__,
        "mxnet": getattr(mxb.load(), "__version__", None), "zero_copy": mxb.ZERO_COPY,
        "engine": os.environ.get("MXNET_ENGINE_TYPE"), "omp_threads": os.environ.get("OMP_NUM_THREADS"),
        "classes": list(classes), "quick": quick, "skipped": skipped,
    }
    return {"format": FORMAT, "meta": meta, "transfer": transfer, "ops": table}


def _progress_line(name: str, entry: dict) -> str:
    if not entry:
        return f"{name:<24} skipped"
    parts = []
    for dt, points in entry.items():
        wins = [k for k, (n, m) in sorted(points.items(), key=lambda kv: int(kv[0])) if m < n]
        parts.append(f"{dt}: MXNet faster at classes {','.join(wins) or 'none'}")
    return f"{name:<24} " + "; ".join(parts)


def write_table(data: dict, path: str, merge: bool = False) -> str:
    """Write ``data`` atomically to ``path`` (directories created); with ``merge``, keep operators already in the
    file that ``data`` does not measure."""
    path = os.path.expanduser(path)
    if merge and os.path.exists(path):
        try:
            with open(path) as f:
                old = json.load(f)
            if old.get("format") == data["format"]:
                data = {**data, "ops": {**old.get("ops", {}), **data["ops"]}}
        except (OSError, ValueError):
            pass
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return path


def main(argv=None) -> int:
    from imperdl.core.placement import user_table_path

    ap = argparse.ArgumentParser(prog="python -m imperdl.tools.calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", "-o", default=None, help=f"where to write (default: {user_table_path()})")
    ap.add_argument("--quick", action="store_true", help="two size classes, float32, short rounds (seconds)")
    ap.add_argument("--ops", default=None, help="comma-separated operators to (re)measure; others are kept")
    ap.add_argument("--classes", default=None, help="comma-separated size classes (bit lengths of sizes)")
    ap.add_argument("--dtypes", default=None, help="comma-separated dtypes (default: per operator)")
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per operator")
    args = ap.parse_args(argv)
    ops = [o.strip() for o in args.ops.split(",") if o.strip()] if args.ops else None
    classes = [int(c) for c in args.classes.split(",")] if args.classes else None
    dtypes = [d.strip() for d in args.dtypes.split(",")] if args.dtypes else None
    t0 = time.perf_counter()
    data = calibrate(ops, args.quick, classes, dtypes, progress=print if args.verbose else None)
    path = write_table(data, args.output or user_table_path(), merge=ops is not None)
    n_ops = len(data["ops"])
    mx_wins = sorted(n for n, e in data["ops"].items() if any(m < v for p in e.values() for v, m in p.values()))
    print(f"measured {n_ops} operators in {time.perf_counter() - t0:.1f} s; MXNet faster somewhere for "
          f"{len(mx_wins)}: {', '.join(mx_wins) or 'none'}")
    if data["meta"]["skipped"]:
        print(f"skipped {len(data['meta']['skipped'])}: {', '.join(sorted(data['meta']['skipped']))}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
