"""The ratio chart of docs/performance.md: imperdl (default policy) / peer for every workload, from run_all's JSON.

    python bench/chart.py                                   # docs/performance.json -> docs/performance.png
    python bench/chart.py --json bench/results.json --out /tmp/ratios.png

One group of bars per workload, one bar per peer (log scale: below 1 imperdl is faster or, for memory, smaller);
each target's limit is marked on its peer's bar. Targets read from another imperdl row (``imperdl jit``) get a
hatched bar of their own at the right of their workload's group: that row / the target's peer, limit marked.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ("numpy (hand-written)", "HIPS autograd", "PyTorch eager", "MXNet imperative", "MXNet Gluon hybridized",
         "JAX eager", "JAX jit")
WORKLOADS = ("chain", "mlp", "cnn", "rnn", "svi", "memory")


def ratios(data: dict) -> dict:
    """{workload: {peer: imperdl default / peer}} for the peers that ran."""
    out = {}
    for name in WORKLOADS:
        w = data["workloads"].get(name)
        if w is None:
            continue
        by = {r["name"]: r for r in w["rows"]}
        out[name] = {p: by[p]["ratio"] for p in PEERS if by.get(p, {}).get("ratio")}
    return out


def row_ratios(data: dict) -> dict:
    """{workload: [(row, peer, row / peer, limit)]} for the targets read from a row other than imperdl default."""
    out: dict = {}
    for t in data.get("targets", []):
        if t.get("row") and t.get("ratio") and t["workload"] in data["workloads"]:
            out.setdefault(t["workload"], []).append((t["row"], t["peer"], t["ratio"], t["limit"]))
    return out


def draw(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = ratios(data)
    fig, ax = plt.subplots(figsize=(11, 4.6), dpi=100)
    width = 0.8 / len(PEERS)
    colors = plt.get_cmap("tab10").colors
    for j, peer in enumerate(PEERS):
        xs = [i + (j - (len(PEERS) - 1) / 2) * width for i, w in enumerate(rs) if peer in rs[w]]
        ys = [rs[w][peer] for w in rs if peer in rs[w]]
        ax.bar(xs, ys, width, label=peer, color=colors[j % len(colors)])
    for t in data.get("targets", []):
        if t["workload"] in rs and t["peer"] in PEERS and not t.get("row"):  # (row targets: below)
            i, j = list(rs).index(t["workload"]), PEERS.index(t["peer"])
            x = i + (j - (len(PEERS) - 1) / 2) * width
            ax.plot([x - width / 2, x + width / 2], [t["limit"]] * 2, color="black", lw=2)
    extra, labelled = row_ratios(data), False
    for i, w in enumerate(rs):
        for n, (row, _, ratio, limit) in enumerate(extra.get(w, [])):
            x = i + 0.4 + (n + 0.5) * width
            ax.bar([x], [ratio], width, color="white", edgecolor="black", hatch="//",
                   label=None if labelled else f"{row} / the target's peer")
            labelled = True
            ax.plot([x - width / 2, x + width / 2], [limit] * 2, color="black", lw=2)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(rs)), list(rs))
    ax.set_ylabel("imperdl default / peer (log)")
    ax.set_title(f"imperdl against its peers ({data['machine']['date'][:10]}; black marks: target limits)")
    ax.legend(fontsize=8, ncol=len(PEERS), loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", default=str(ROOT / "docs" / "performance.json"))
    ap.add_argument("--out", default=None, help="the PNG (default: performance.png next to the JSON)")
    args = ap.parse_args(argv)
    src = Path(args.json)
    out = Path(args.out) if args.out else src.with_suffix(".png")
    draw(json.loads(src.read_text()), out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
