"""Counters: transfers between backends (count, bytes, direction; copied or shared) and, via the registry, per-op
calls by backend. A *shared* transfer (zero-copy on a CPU context) moves no bytes: it is counted apart from copies.
"""
from __future__ import annotations

import logging

copy_log = logging.getLogger("imperdl.array")

# copies[(src, dst)] = [count, bytes]; src/dst are backend indices.
copies: dict[tuple[int, int], list[int]] = {}
# shared[(src, dst)] = [count, bytes made visible without copying] (zero-copy transfers)
shared: dict[tuple[int, int], list[int]] = {}
# engine synchronisations caused by imperdl (reading MXNet data on the host)
syncs = [0]


def count_copy(src: int, dst: int, nbytes: int) -> None:
    c = copies.get((src, dst))
    if c is None:  # setdefault: two threads counting a first copy at once keep both counts
        c = copies.setdefault((src, dst), [0, 0])
    c[0] += 1
    c[1] += nbytes


def count_shared(src: int, dst: int, nbytes: int) -> None:
    c = shared.get((src, dst))
    if c is None:
        c = shared.setdefault((src, dst), [0, 0])
    c[0] += 1
    c[1] += nbytes


def statistics() -> dict:
    """Where calls ran and what moved: ``{'ops': {name: {'numpy', 'mxnet', 'fallback'}}, 'total': {...},
    'copies': {'numpy->mxnet': {'count', 'bytes'}, ...}, 'shared': {...same, zero-copy...}, 'syncs': n}``.

    ``syncs`` counts host reads of MXNet data (copied or shared): the only points where imperdl waits for MXNet.
    """
    from .backends import NAMES
    from .registry import REGISTRY

    ops = {}
    seen = set()  # aliases (divide/true_divide, round/round_) share one primitive: count it once, by its name
    for p in REGISTRY.values():
        n_np, n_mx, n_fb = p.counts
        if (n_np or n_mx or n_fb) and id(p) not in seen:
            seen.add(id(p))
            ops[p.name] = {"numpy": n_np, "mxnet": n_mx, "fallback": n_fb}
    cps = {f"{NAMES[s]}->{NAMES[d]}": {"count": c, "bytes": b} for (s, d), (c, b) in sorted(copies.items())}
    shd = {f"{NAMES[s]}->{NAMES[d]}": {"count": c, "bytes": b} for (s, d), (c, b) in sorted(shared.items())}
    total = {k: sum(v[k] for v in ops.values()) for k in ("numpy", "mxnet", "fallback")}
    return {"ops": ops, "total": total, "copies": cps, "shared": shd, "syncs": syncs[0]}


def reset_statistics() -> None:
    from .registry import REGISTRY

    for p in REGISTRY.values():
        p.counts[:] = [0, 0, 0]
    copies.clear()
    shared.clear()
    syncs[0] = 0


def format_statistics(stats: dict | None = None) -> str:
    s = stats or statistics()
    lines = [f"{'operator':<28}{'mxnet':>8}{'numpy':>8}{'fallback':>10}"]
    for name, c in sorted(s["ops"].items()):
        lines.append(f"{name:<28}{c['mxnet']:>8}{c['numpy']:>8}{c['fallback']:>10}")
    t = s["total"]
    lines.append(f"{'total':<28}{t['mxnet']:>8}{t['numpy']:>8}{t['fallback']:>10}")
    for k, v in s["copies"].items():
        lines.append(f"copies {k}: {v['count']} ({v['bytes']} bytes)")
    for k, v in s.get("shared", {}).items():
        lines.append(f"shared (zero-copy) {k}: {v['count']} ({v['bytes']} bytes not copied)")
    lines.append(f"host reads of MXNet data: {s['syncs']}")
    return "\n".join(lines)


def print_statistics() -> None:
    """Print per-operator counts by backend, fallbacks and copies."""
    print(format_statistics())


def record_op_stat() -> None:
    """MinPy's ``record_op_stat()``: start counting calls afresh (the same counters as ``statistics()``)."""
    reset_statistics()


def format_op_stat(stats: dict | None = None) -> str:
    """The per-backend dispatch counts in MinPy's ``show_op_stat`` layout (fallbacks ran on NumPy)."""
    s = stats or statistics()
    lines = ["--------Op Dispatch Statistics Start--------", "MXNET op called times:"]
    for name, c in sorted(s["ops"].items()):
        if c["mxnet"]:
            lines.append(f" {name} : {c['mxnet']}")
    lines.append("NUMPY op called times:")
    for name, c in sorted(s["ops"].items()):
        if c["numpy"] + c["fallback"]:
            lines.append(f" {name} : {c['numpy'] + c['fallback']}")
    n_mx = s["total"]["mxnet"]
    n_np = s["total"]["numpy"] + s["total"]["fallback"]
    if n_mx + n_np:
        lines.append(f"Total Dispatch Proportion: {n_mx / (n_mx + n_np):.1%} in MXNet, "
                     f"{n_np / (n_mx + n_np):.1%} in NumPy")
    lines.append("--------Op Dispatch Statistics End--------")
    return "\n".join(lines)


def show_op_stat() -> None:
    """MinPy's ``show_op_stat()``: print how many calls of each operator ran on MXNet and on NumPy."""
    print(format_op_stat())
