"""Counters: copies between backends (count, bytes, direction) and, via the registry, per-op calls by backend."""
from __future__ import annotations

import logging

copy_log = logging.getLogger("imperdl.array")

# copies[(src, dst)] = [count, bytes]; src/dst are backend indices.
copies: dict[tuple[int, int], list[int]] = {}
# engine synchronisations caused by imperdl (reading MXNet data on the host)
syncs = [0]


def count_copy(src: int, dst: int, nbytes: int) -> None:
    c = copies.get((src, dst))
    if c is None:
        copies[(src, dst)] = [1, nbytes]
    else:
        c[0] += 1
        c[1] += nbytes


def statistics() -> dict:
    """Where calls ran and what moved: ``{'ops': {name: {'numpy', 'mxnet', 'fallback'}}, 'copies': {...}}``."""
    from .backends import NAMES
    from .registry import REGISTRY

    ops = {}
    for name, p in REGISTRY.items():
        n_np, n_mx, n_fb = p.counts
        if n_np or n_mx or n_fb:
            ops[name] = {"numpy": n_np, "mxnet": n_mx, "fallback": n_fb}
    cps = {f"{NAMES[s]}->{NAMES[d]}": {"count": c, "bytes": b} for (s, d), (c, b) in sorted(copies.items())}
    total = {k: sum(v[k] for v in ops.values()) for k in ("numpy", "mxnet", "fallback")}
    return {"ops": ops, "total": total, "copies": cps, "syncs": syncs[0]}


def reset_statistics() -> None:
    from .registry import REGISTRY

    for p in REGISTRY.values():
        p.counts[:] = [0, 0, 0]
    copies.clear()
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
    lines.append(f"host reads of MXNet data: {s['syncs']}")
    return "\n".join(lines)


def print_statistics() -> None:
    """Print per-operator counts by backend, fallbacks and copies."""
    print(format_statistics())
