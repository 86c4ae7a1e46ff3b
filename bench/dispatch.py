"""Per-call cost of imperdl's dispatch against raw NumPy and raw MXNet (``mxnet.numpy``).

For each op (add, exp, sum, dot, getitem ``a[1:5]``) on 10x10 and 1000x1000 float32 arrays this measures the
median per-call time of raw NumPy, raw MXNet and imperdl under each policy (prefer_mxnet, only_numpy,
only_mxnet). The *overhead* of an imperdl call is its time minus the raw time of the backend imperdl actually
used for it (read from ``imperdl.statistics()``), so it isolates what dispatch adds. MXNet results are waited
for (``wait_to_read``) inside the timed call, on the raw side and on imperdl's, so asynchronous work is paid
where it is issued. Budget: 2 us of overhead per call on 10x10.

    python bench/dispatch.py [--quick] [--json PATH]
"""
from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics as stats
import sys
import time
import warnings

import numpy as onp

import imperdl
import imperdl.numpy as inp
from imperdl.core.backends import mxnet_backend

BUDGET_US = 2.0
SIZES = ((10, 10), (1000, 1000))
POLICIES = ("prefer_mxnet", "only_numpy", "only_mxnet")


def _ops(mnp):
    """name -> (imperdl primitive name, imperdl call, NumPy call, MXNet call); each takes one array."""
    return {
        "add": ("add", lambda a: a + a, lambda a: a + a, lambda a: a + a),
        "exp": ("exp", inp.exp, onp.exp, mnp.exp),
        "sum": ("sum", inp.sum, onp.sum, mnp.sum),
        "dot": ("dot", lambda a: inp.dot(a, a), lambda a: onp.dot(a, a), lambda a: mnp.dot(a, a)),
        "getitem": ("ndarray.__getitem__", lambda a: a[1:5], lambda a: a[1:5], lambda a: a[1:5]),
    }


def median_us(fn, arg, rounds: int, target_s: float) -> float:
    """Median over ``rounds`` of the mean time (us) of ``fn(arg)``, each round ~``target_s`` long, GC off."""
    t0 = time.perf_counter()
    fn(arg)
    once = max(time.perf_counter() - t0, 1e-7)
    number = max(1, min(200_000, int(target_s / once)))
    per_call = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(number):
                fn(arg)
            per_call.append((time.perf_counter() - t0) / number * 1e6)
    finally:
        if gc_was:
            gc.enable()
    return stats.median(per_call)


def _waited_mx(call):
    def run(a):
        call(a).wait_to_read()

    return run


def _imperdl_runner(call, on_mxnet: bool):
    if not on_mxnet:
        return call

    def run(a):
        call(a).wait_to_read()

    return run


def backend_used(prim_name: str, call, arr) -> str | None:
    """Which backend imperdl ran ``call`` on (one call, counted by imperdl's statistics); None if it raised."""
    imperdl.reset_statistics()
    try:
        call(arr)
    except NotImplementedError:  # only_mxnet on a call MXNet cannot run exactly
        return None
    c = imperdl.statistics()["ops"].get(prim_name, {})
    return "mxnet" if c.get("mxnet") else "numpy"


def run(quick: bool) -> list[dict]:
    mx = mxnet_backend.load()
    if mx is None:
        sys.exit(f"MXNet is not importable: {mxnet_backend.unavailable_reason()}")
    mnp = mx.numpy
    ctx = imperdl.current_context()
    rounds, target = (3, 0.01) if quick else (7, 0.05)
    rows = []
    rng = onp.random.default_rng(0)
    for shape in SIZES:
        host = rng.standard_normal(shape).astype(onp.float32)
        mxa = mnp.array(host, dtype=onp.float32, ctx=ctx.as_mxnet())
        for op, (prim, imp_call, np_call, mx_call) in _ops(mnp).items():
            raw = {
                "numpy": median_us(np_call, host, rounds, target),
                "mxnet": median_us(_waited_mx(mx_call), mxa, rounds, target),
            }
            for pol in POLICIES:
                imperdl.set_global_policy(pol)
                arr = inp.array(host)
                used = backend_used(prim, imp_call, arr)
                row = {"shape": list(shape), "op": op, "policy": pol, "backend": used,
                       "numpy_us": raw["numpy"], "mxnet_us": raw["mxnet"], "imperdl_us": None, "overhead_us": None}
                if used is not None:
                    f = _imperdl_runner(imp_call, used == "mxnet")
                    f(arr)  # warm: the input's copy on the backend used now exists
                    imperdl.reset_statistics()
                    t = median_us(f, arr, rounds, target)
                    moved = imperdl.statistics()["copies"]
                    row.update(imperdl_us=t, overhead_us=t - raw[used], copies_in_loop=sum(
                        v["count"] for v in moved.values()))
                rows.append(row)
                print(_fmt(row), flush=True)
    imperdl.set_global_policy("prefer_mxnet")
    return rows


HEADER = f"{'shape':<10}{'op':<9}{'policy':<14}{'ran on':<8}{'numpy us':>11}{'mxnet us':>11}{'imperdl us':>12}" \
         f"{'overhead us':>13}"


def _fmt(r: dict) -> str:
    shape = "x".join(map(str, r["shape"]))
    if r["imperdl_us"] is None:
        tail = f"{'n/a':>12}{'':>13}"
    else:
        tail = f"{r['imperdl_us']:>12.2f}{r['overhead_us']:>13.2f}"
        if r.get("copies_in_loop"):
            tail += f"  ({r['copies_in_loop']} copies in loop)"
    ran = r["backend"] or "-"
    return f"{shape:<10}{r['op']:<9}{r['policy']:<14}{ran:<8}{r['numpy_us']:>11.2f}{r['mxnet_us']:>11.2f}{tail}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (a smoke run)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    print(f"imperdl {imperdl.__version__}, numpy {onp.__version__}, mxnet {mxnet_backend.load().__version__}, "
          f"python {platform.python_version()}, context {imperdl.current_context()}")
    print("median per-call time (us); overhead = imperdl minus raw time of the backend it ran on")
    print(HEADER)
    rows = run(args.quick)
    small = [r for r in rows if r["shape"] == [10, 10] and r["overhead_us"] is not None]
    worst = max(small, key=lambda r: r["overhead_us"])
    verdict = "within" if worst["overhead_us"] <= BUDGET_US else "OVER"
    print(f"max overhead on 10x10: {worst['overhead_us']:.2f} us ({worst['op']}, {worst['policy']}, "
          f"on {worst['backend']}); budget {BUDGET_US:.0f} us: {verdict} budget")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"budget_us": BUDGET_US, "quick": args.quick, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
