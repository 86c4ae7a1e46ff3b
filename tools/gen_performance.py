"""Write docs/performance.md from the JSON that ``bench/run_all.py`` produced, so the published numbers are exactly
those of one recorded run (docs/performance.json is committed next to the page).

    python bench/run_all.py --docs              # measure: writes docs/performance.json and renders the page
    python tools/gen_performance.py             # re-render docs/performance.md from docs/performance.json
    python tools/gen_performance.py --check     # exit 1 if the page differs from what the JSON renders to
    python tools/gen_performance.py --json bench/results.json --out /tmp/perf.md
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "docs" / "performance.json"
DEFAULT_OUT = ROOT / "docs" / "performance.md"
SCHEMA = 1
REFERENCE = "imperdl default"
PEERS = ("numpy (hand-written)", "HIPS autograd", "MXNet imperative", "MXNet Gluon hybridized", "PyTorch eager",
         "PyTorch eager (1 thread)", "JAX eager", "JAX jit")
# files next to the run's JSON that add sections when present: the chart (bench/chart.py), the callgrind table
# (bench/callgrind.py --json) and the thread-pool measurements (bench/threads.py --json, both loads)
CHART, CALLGRIND, THREADS = "performance.png", "performance-callgrind.json", "performance-threads.json"
ORDER = ("chain", "mlp", "cnn", "rnn", "svi", "memory")

# What would close each target when it is missed: the analysis behind the profile. The profile itself (where the
# time goes) is rendered from the JSON; these notes are reviewed whenever a new run changes the picture.
CLOSING_NOTES = {
    "chain-vs-autograd": (
        "Under the default policy (cost_aware) every forward call still computes its located signature (shapes, "
        "dtypes, where each argument lives) and looks up the policy's cached decision; `only_numpy` skips both "
        "(its row), and both share the lean tape entry and a backward walk that runs each rule's host twin (plain "
        "NumPy calls) for host values. The instructions-per-op table separates the two rows without load noise. "
        "What would close the rest: a decision that needs no signature for small host arrays (the cost table "
        "never sends an elementwise call on host values below its crossover size to MXNet, so a size test could "
        "stand for the signature and the cache lookup)."
    ),
    "svi-vs-autograd": (
        "The same per-op overhead as the tiny chain, on ~25 small operations per step (indexing, broadcasts "
        "and reductions included, whose backward rules cost several dispatched calls each); the arithmetic on 2000 "
        "samples is a few microseconds per op. What closes the chain's gap closes this one."
    ),
    "chain-vs-pytorch": (
        "PyTorch runs dispatch, the autograd node and the backward in C++. imperdl's per-op cost is Python: per "
        "forward call one dispatch (signature and cached decision under the default policy, neither under "
        "`only_numpy`) and one tape entry, per backward entry one host-twin rule of a few NumPy calls (see the "
        "profile and the instructions-per-op table). What would close it: dispatch and the tape entry as one "
        "C-level call (an extension module), or `imperdl.jit`, which already runs this chain at a fraction of "
        "PyTorch eager's per-op cost (its target below)."
    ),
    "mlp-vs-numpy": (
        "Both run the same five BLAS products per step (two forward, three backward: no gradient for the input "
        "images). What remains is the elementwise work the generic rules do where the hand-written backward fuses "
        "or skips it (the softmax loss through log-softmax and fancy indexing, relu through where, broadcasting "
        "sums for the biases) and the dispatch and tape of ~55 calls per step; `imperdl.jit` removes the second "
        "part (its target below). What would close it: fused rules for softmax cross-entropy and relu (one NumPy "
        "expression each) and preallocated `out=` buffers."
    ),
    "cnn-vs-gluon": (
        "conv2d and max_pool2d run on MXNet, forward and backward through MXNet's own backward kernels (most of "
        "the step: convolution forward ~4.5 ms and backward ~5.5 ms, pooling ~1.2 + 2.3 ms); the cost table puts "
        "relu and the affine layers on NumPy, so the convolution's output is read to the host once and the pooled "
        "gradient sent back. This round removed two costs that made the step ~42 ms: a reference cycle that kept "
        "every MXNet-recorded result and its MXNet graph alive until Python's cyclic GC ran, and glibc returning "
        "freed activation buffers to the OS after every step (page faults: imperdl now sets glibc's mmap and trim "
        "thresholds, see docs/install.md). Gluon runs the step as one cached graph with static memory. What would "
        "close the rest: the conv-relu-pool segment as one MXNet CachedOp (MXNet 1.9.1 has no deferred compute, "
        "so its symbol must be built from imperdl's calls: a symbol twin per MXNet implementation), with relu on "
        "MXNet between convolution and pooling so oneDNN's layout is not converted."
    ),
    "cnn-vs-pytorch": (
        "The limit assumes MXNet's oneDNN convolution is ~4x faster than PyTorch's CPU convolution; when the "
        "measured MXNet peers are not 2x faster than PyTorch here, no MXNet-backed step can meet it, and the MXNet "
        "rows show by how much."
    ),
    "rnn-vs-numpy": (
        "Nearly all of the step is NumPy's matrix products (the same 250 products as the hand-written code, see "
        "the share by origin); imperdl's own Python is a small part, and run-to-run load on the shared machine "
        "moves the ratio (compare the best-round ratio). dot's vjp now uses transposed views (it went through "
        "`tensordot`, measured 10-30% slower per product at these shapes). What would close the rest: fewer "
        "dispatched calls in the backward (fused elementwise rules, vjps on raw NumPy at first order)."
    ),
    "memory-vs-numpy": (
        "The tape keeps every primitive's output and arguments alive until the backward pass, including values no "
        "vjp reads: `dot(x, Wx) + dot(h, Wh) + b` keeps both products and the partial sum although add's vjp needs "
        "only shapes. Hand-written code keeps the gates and the cell state. `sigmoid` is now one primitive (the "
        "where()-based formula kept several gate-sized arrays per gate). What would close the rest: each primitive "
        "declares which of its inputs and output its vjp reads, and the tape drops the rest (add, subtract, "
        "negative, reshape and broadcasts need none)."
    ),
    "chain-jit-vs-pytorch": (
        "Under `imperdl.jit(grad(f))` the plan makes one raw NumPy call per forward and backward operation, one "
        "generated Python line each, with no dispatch or tape. What remains is NumPy's own per-call cost on a 10x10 "
        "array (about 1 us per ufunc) times the calls the backward rules make; below that only fewer calls help: "
        "fused backward rules (tanh's g * (1 - y**2) as one call), preallocated `out=` buffers, or a compiled "
        "kernel for the whole chain (what XLA does for `jax.jit`)."
    ),
    "mlp-jit-vs-numpy": (
        "The jitted step runs the same three BLAS products each way as the hand-written code; what it adds is the "
        "elementwise work the hand-written backward fuses or skips (the generic softmax-loss and relu rules, the "
        "gradient w.r.t. the input, broadcasting sums) and a fresh output array per step where NumPy code writes "
        "in place. Preallocated `out=` buffers for the plan's ufunc steps would close most of it."
    ),
    "cnn-jit-vs-gluon": (
        "The plan calls MXNet operator by operator and asks `mxnet.autograd.grad` once per recorded conv and pool "
        "backward. Timed line by line (each line waited for, quiet machine): convolution forward ~4.5 ms, its "
        "backward ~5.5 ms, pooling forward ~1.2 ms and backward ~2.3 ms, the affine layers and relu on NumPy ~5 ms, "
        "transfers ~1 ms. On the same machine MXNet's own hybridized conv-relu-pool block (forward and backward "
        "w.r.t. the weights) takes 16.5 ms where the same calls imperatively take 21.9 ms: the cached graph is the "
        "difference. What would close it: each MXNet segment of the plan replayed as one CachedOp with static "
        "memory (the symbol built from the trace, a symbol twin per MXNet implementation), and the affine layers "
        "kept on MXNet when the segment before them ran there."
    ),
}


def _fmt(v, digits: int = 2) -> str:
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def _ratio(v) -> str:
    return "–" if v is None else f"{v:.2f}x"


def _row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _table(head, rows, align=None) -> list[str]:
    align = align or ["---"] + ["---:"] * (len(head) - 1)
    return [_row(head), "| " + " | ".join(align) + " |", *(_row(r) for r in rows), ""]


def _threads(threads: dict) -> list[str]:
    """One line per worker process: the thread pools it ran with and the variables that set them."""
    out = []
    for fam, th in threads.items():
        parts = []
        if th.get("torch_threads") is not None:
            parts.append(f"torch threads {th['torch_threads']}")
        if "mxnet" in th.get("loaded", []):
            parts.append(f"MXNet engine {th.get('MXNET_ENGINE_TYPE') or 'ThreadedEnginePerDevice (its default)'}")
        parts.append(f"OMP_NUM_THREADS={th.get('OMP_NUM_THREADS') or 'unset'}")
        if th.get("malloc"):
            parts.append(f"malloc: {th['malloc']}")
        if th.get("threadpools"):
            parts.append("pools: " + "; ".join(th["threadpools"]))
        out.append(f"  - {fam} worker (loads {', '.join(th.get('loaded', [])) or 'NumPy only'}): {', '.join(parts)}")
    return out


def _machine(data: dict) -> list[str]:
    m = data["machine"]
    v = m["versions"]
    git = m.get("git", {})
    commit = (git.get("commit") or "unknown") + (" (with uncommitted changes)" if git.get("dirty") else "")
    items = [
        ("CPU", f"{m['cpu']}, {m['cores']} cores ({m.get('cores_usable') or m['cores']} usable)"),
        ("Date (UTC)", m["date"]),
        ("Versions", ", ".join(f"{k} {v[k]}" for k in ("python", "numpy", "mxnet", "torch", "autograd", "imperdl")
                               if v.get(k)) + (f", jax {v['jax']} (its own venv, NumPy >= 2)" if v.get("jax") else "")),
        ("imperdl default policy", f"`{m.get('imperdl_default_policy', 'unknown')}`"),
        ("Commit", commit),
        ("Mode", f"{data['mode']}, {data['wall_seconds']:.0f} s in all"
                 + (" (tiny sizes: a check that everything runs, not a measurement)" if data["mode"] == "smoke"
                    else "")),
        ("Load average (1, 5, 15 min) before → after each workload", "; ".join(
            f"{name} {w['load_average']['before']} → {w['load_average']['after']}" for name, w in _workloads(data))),
    ]
    lines = ["## The machine and the run", "", *(f"- **{k}**: {val}" for k, val in items)]
    if m.get("threads"):
        lines += ["- **Processes and threads**: each library family runs in its own worker process, every library "
                  "with its default thread settings (two OpenMP runtimes in one process spin-wait against each other; "
                  "MXNet peers get MXNet's defaults, not the engine imperdl chooses for itself):",
                  *_threads(m["threads"])]
    return lines + [""]


def _workloads(data: dict):
    for name in ORDER:
        if name in data["workloads"]:
            yield name, data["workloads"][name]


def _targets(data: dict) -> list[str]:
    rows = []
    for t in data["targets"]:
        verdict = {True: "**met**", False: "**missed**", None: "not measured"}[t["met"]]
        unit = "MB" if t["workload"] == "memory" else data["workloads"].get(t["workload"], {}).get("unit", "")
        context = []
        if t.get("best_round_ratio") is not None:
            context.append(f"best rounds {_ratio(t['best_round_ratio'])}")
        if t.get("ratio_vs_1_thread") is not None:
            context.append(f"vs 1-thread PyTorch {_ratio(t['ratio_vs_1_thread'])}")
        row = f" ({t['row']})" if t.get("row") else ""
        rows.append([t["text"], f"{_fmt(t['imperdl'])} {unit}{row}", f"{t['peer']}: {_fmt(t['peer_value'])} {unit}",
                     _ratio(t["ratio"]), f"≤ {t['limit']}x", verdict, ", ".join(context) or "–"])
    jit = (" Targets marked *(imperdl jit)* read the row that runs the whole step under `imperdl.jit` (default "
           "policy) instead." if any(t.get("row") for t in data["targets"]) else "")
    return ["## Targets", "",
            "Read from the imperdl row with the default policy; ratio = imperdl / peer, medians of this run. For "
            "context (not the verdict): the ratio of the two best rounds, which load spikes disturb less, and for "
            f"PyTorch targets the ratio against PyTorch pinned to one thread.{jit}", "",
            *_table(["target", "imperdl", "peer", "ratio", "limit", "verdict", "context"], rows,
                    ["---", "---:", "---", "---:", "---:", "---", "---"]), *_thread_caveat(data)]


def _thread_caveat(data: dict) -> list[str]:
    """Say so when PyTorch at its default thread count was much slower than on one thread (machine load)."""
    slow = []
    for name, w in _workloads(data):
        by = {r["name"]: r for r in w.get("rows", [])}
        a, b = by.get("PyTorch eager", {}).get("median"), by.get("PyTorch eager (1 thread)", {}).get("median")
        if a and b and a > 2 * b:
            slow.append(f"{name} {a / b:.1f}x")
    if not slow:
        return []
    return [f"In this run PyTorch at its default thread count was much slower than on one thread ({', '.join(slow)}"
            "): its OpenMP threads spin-wait at every barrier, and when the machine's other load holds a core, "
            "each barrier waits for a descheduled thread. Targets against PyTorch eager are therefore also shown "
            "against the 1-thread row.", ""]


def _summary(data: dict) -> list[str]:
    rows = []
    for name, w in _workloads(data):
        by = {r["name"]: r for r in w["rows"]}
        cells = [name]
        for peer in PEERS:
            r = by.get(peer)
            cells.append("n/a" if r is None or "na" in r or "error" in r else _ratio(r.get("ratio")))
        rows.append(cells)
    return ["## Summary: imperdl (default policy) / peer", "",
            "Below 1 means imperdl is faster (for memory: uses less). n/a: the peer cannot run that workload "
            "(see its table).", "", *_table(["workload", *PEERS], rows)]


def _timed(name: str, w: dict) -> list[str]:
    unit = w["unit"]
    rows = []
    for r in w["rows"]:
        if "na" in r:
            rows.append([r["name"], "n/a", "", "", "", "", r["na"]])
            continue
        if "error" in r:
            rows.append([r["name"], "failed", "", "", "", "", r["error"][:200]])
            continue
        g = r.get("grad_max_rel_diff")
        rows.append([r["name"], _fmt(r["median"]), f"{_fmt(r['min'])} – {_fmt(r['max'])}", _ratio(r.get("ratio")),
                     "–" if g is None else f"{g:.1e}", r.get("rounds", ""), r.get("note", "")])
    cfg = ", ".join(f"{k}={v}" for k, v in w["config"].items())
    return [f"### {name}: {w['title']}", "", f"Sizes: {cfg}. Unit: {unit}, median of {w['rounds']} rounds.", "",
            *_table(["implementation", f"median ({unit})", "min – max", "default / this", "grad agreement",
                     "rounds", "how"], rows, ["---", "---:", "---:", "---:", "---:", "---:", "---"])]


def _memory(w: dict) -> list[str]:
    rows = []
    for r in w["rows"]:
        if "error" in r:
            rows.append([r["name"], "failed", "", "", "", "", "", r["error"][:200]])
            continue
        trace = ", ".join(f"{k}: {v:.0f}" for k, v in r.get("rss_mb_at_step", {}).items())
        agree = r.get("loss_rel_diff")
        rows.append([r["name"], _fmt(r["baseline_mb"], 1), _fmt(r["peak_mb"], 1), _fmt(r["delta_mb"], 1),
                     _ratio(r.get("ratio")), r.get("steps", ""), _fmt(r.get("seconds"), 1),
                     "–" if agree is None else f"{agree:.1e}", trace])
    cfg = w["config"]
    sizes = ", ".join(f"{k}={v}" for k, v in cfg.items() if k not in ("steps", "context_steps"))
    target_rows = " and ".join(w.get("target_rows", []))
    return ["### memory: " + w["title"], "",
            f"Sizes: {sizes}. One process per implementation, one at a time. {target_rows} train for "
            f"{cfg['steps']} steps, the others for {cfg.get('context_steps', cfg['steps'])} (their RSS is flat "
            "after the first step; see the last column). Baseline: peak RSS (VmHWM) after imports and data, "
            "before the first step; delta = peak after the last step - baseline, which the target compares. "
            "*loss vs NumPy*: relative difference from hand-written NumPy's loss after the same number of steps "
            "(every row trains the same network from the same start).", "",
            *_table(["implementation", "baseline MB", "peak MB", "delta MB", "default / this", "steps",
                     "seconds", "loss vs NumPy", "RSS (MB) after step"], rows,
                    ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"])]


def _missed(data: dict) -> list[str]:
    missed = [t for t in data["targets"] if t["met"] is False]
    if not missed:
        return ["## Missed targets", "", "None in this run.", ""]
    lines = ["## Missed targets: where the time goes and what would close it", ""]
    profiles = data.get("profiles", {})
    for t in missed:
        lines += [f"### {t['text']} ({_ratio(t['ratio'])}, limit {t['limit']}x)", ""]
        lines += [CLOSING_NOTES.get(t["id"], "No analysis recorded for this target yet."), ""]
        row = t.get("row", REFERENCE)
        prof = profiles.get(t["workload"] if row == REFERENCE else f"{t['workload']} {row.removeprefix('imperdl ')}")
        if t["workload"] == "memory":
            lines += _memory_profile(data["workloads"].get("memory", {}), prof)
        elif prof and "error" not in prof:
            lines += _profile(t["workload"], prof, "default policy" if row == REFERENCE else row)
    return lines


def _profile(name: str, prof: dict, row: str = "default policy") -> list[str]:
    lines = [f"Profile of one imperdl step ({name}, {row}): {prof['seconds_per_step'] * 1e3:.1f} ms per "
             f"step; {_ops(prof['ops_per_step'])}; {prof['copies_per_step']} copies between backends and "
             f"{prof['syncs_per_step']} host reads of MXNet data per step."]
    if prof.get("time_by_origin"):
        share = ", ".join(f"{k} {v:.0%}" for k, v in prof["time_by_origin"].items())
        lines += ["", f"Own time by origin (cProfile): {share}."]
    if "ran_on_mxnet" in prof:
        on_mx = ", ".join(prof["ran_on_mxnet"]) or "none"
        lines += ["", f"Operators that ran on MXNet: {on_mx}; everything else ran on NumPy"
                      + (f" (fallbacks: {', '.join(prof['fell_back'])})." if prof.get("fell_back") else ".")]
    busiest = ", ".join(f"{op} {sum(c.values())} ({_where(c)})" for op, c in prof["busiest_ops"].items())
    lines += ["", f"Busiest operators per step: {busiest}.", "",
              f"cProfile, {prof['steps']} steps, top functions by own time:", "", "```text", prof["tottime"],
              "```", ""]
    return lines


def _ops(total: dict) -> str:
    return (f"{sum(total.values())} operator calls per step ({total.get('numpy', 0)} on NumPy, "
            f"{total.get('mxnet', 0)} on MXNet, {total.get('fallback', 0)} fallbacks)")


def _where(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "none"


def _memory_profile(w: dict, prof: dict | None) -> list[str]:
    lines = []
    if prof and "by_line" in prof:
        rows = [[f"{r['mb']:.1f}", f"`{r['where']}`"] for r in prof["by_line"]]
        ops = prof["forward_ops"]
        lines += [f"Where the memory goes ({prof['policy']}): after one forward pass ({sum(ops.values())} operator "
                  f"calls: {ops.get('numpy', 0)} on NumPy, {ops.get('mxnet', 0)} on MXNet) the tape holds "
                  f"{prof['held_after_forward_mb']} MB of NumPy memory, by the line of model code that created it "
                  "(tracemalloc; MXNet's memory is not traced):", "",
                  *_table(["MB", "created by"], rows, ["---:", "---"])]
    by = {r["name"]: r for r in w.get("rows", [])}
    ref = by.get("numpy (hand-written)", {}).get("delta_mb")
    ctx = [f"- {name}: {by[name]['delta_mb']:.1f} MB ({by[name]['delta_mb'] / ref:.2f}x hand-written NumPy)"
           for name in ("imperdl only_numpy", "imperdl prefer_mxnet") if ref and "delta_mb" in by.get(name, {})]
    if ctx:
        lines += ["The same training under the other policies (what the backend choice adds):", "", *ctx, ""]
    return lines


def _chart(base: Path | None) -> list[str]:
    if base is None or not (base / CHART).exists():
        return []
    return [f"![imperdl (default policy) / peer, per workload, log scale; black marks are target limits]({CHART})",
            "", f"*The ratios of the summary table as a chart ({CHART}, drawn from the JSON by `bench/chart.py`).*",
            ""]


def _callgrind(base: Path | None) -> list[str]:
    if base is None or not (base / CALLGRIND).exists():
        return []
    import json

    cg = json.loads((base / CALLGRIND).read_text())
    rows = [[r["name"], f"{r['per_op']:,.0f}" if "per_op" in r else f"skipped: {r['skipped']}"] for r in cg["rows"]]
    return ["## Instructions per op (callgrind)", "",
            f"The tiny chain ({cg['ops_per_step']} elementwise ops on 10x10 float32, forward+backward) under "
            "valgrind's callgrind, which counts instructions whatever the machine's load. Each row runs in its own "
            f"process twice, {cg['steps']} and {2 * cg['steps']} chain steps after the same imports and warm-up; "
            "the difference of the two totals divided by the extra ops is the cost of one op (start-up cancels). "
            f"`python bench/callgrind.py --json docs/{CALLGRIND}` ({cg['date']}"
            + (f", {cg['seconds']} s" if cg.get("seconds") else "") + ").", "",
            *_table(["implementation", "instructions per op"], rows, ["---", "---:"]),
            "", "The counts are not exact repeats: the extra steps meet a varying number of Python garbage "
            "collections and hash orders (measured on 2026-12-04: imperdl's default row 65.7k and 73.6k in two "
            "runs, PyTorch's 30.2k to 46.1k over three); compare rows of one table.", ""]


def _thread_pools(base: Path | None) -> list[str]:
    if base is None or not (base / THREADS).exists():
        return []
    import json

    runs = json.loads((base / THREADS).read_text())
    lines = [
        "## Thread pools", "",
        "**Policy.** The MXNet operators imperdl runs use an OpenMP team of `IMPERDL_MXNET_THREADS` threads if "
        "set, else of `MXNET_OMP_MAX_THREADS` if set, else MXNet's own default (the usable logical CPUs, halved on "
        "x86; 1 on a 2-core machine), **whatever `OMP_NUM_THREADS` says**: imperdl overrides that setting for its "
        "own MXNet work. It does so per call, in the calling thread only (each MXNet call switches the thread's "
        "OpenMP team size and restores it afterwards), so the user's own MXNet code in the same process, and every "
        "other library, keeps the user's settings. Nothing is written to the environment (child processes inherit "
        "nothing from this). Under a threaded MXNet engine chosen by the user (`MXNET_ENGINE_TYPE`), operators run "
        "on MXNet's worker threads and follow MXNet's settings alone. NumPy's BLAS pool is left alone: it does "
        "not start threads for small arrays, and the measurements below show no effect of `OMP_NUM_THREADS` on "
        "imperdl's default policy or on HIPS autograd.", "",
        "**Why.** MXNet sizes its OpenMP teams from `OMP_NUM_THREADS` whenever it is set (and then ignores its own "
        "`MXNET_OMP_MAX_THREADS`). Set to the CPU count, every MXNet operator, however small, starts a team whose "
        "threads spin-wait at the barrier; when other load holds a core, each operator waits for a descheduled "
        "thread to get a time slice. A variational-inference loop that runs its small-array operators on MXNet "
        "(`prefer_mxnet`) went from a fraction of a second to seconds, with a hundred times the context switches "
        "(the *before* row with one core busy).", "",
        "**Measured** with `python bench/threads.py [--busy] --json ...` (black-box SVI: 30 steps on (2000, 2) "
        "arrays, each configuration in its own process, medians of 3 runs; *before* sets "
        "`IMPERDL_MXNET_THREADS` to the user's count, which is what imperdl did before this policy):", ""]
    for key, title in (("as_found", "machine as found (shared with other jobs)"),
                       ("one_core_busy", "one core kept busy by a spinning process")):
        run = runs.get(key)
        if not run:
            continue
        rows = [[r["program"], r["OMP_NUM_THREADS"], f"{r['seconds']:.3f}", f"{r['switches']:.0f}"]
                for r in run["rows"]]
        lines += [f"*{title}, {run['cores']} cores, {run['date']}:*", "",
                  *_table(["program", "OMP_NUM_THREADS", "seconds", "context switches"], rows,
                          ["---", "---:", "---:", "---:"]), ""]
    return lines


def render(data: dict, json_name: str = "performance.json", base: Path | None = None) -> str:
    """The Markdown page for one run's JSON (``base``: the folder holding it, for the sections kept beside it)."""
    if data.get("schema") != SCHEMA:
        raise ValueError(f"gen_performance: expected results schema {SCHEMA}, got {data.get('schema')!r}")
    lines = [
        "# Performance", "",
        "<!-- generated by tools/gen_performance.py from performance.json; do not edit by hand -->", "",
        "imperdl against hand-written NumPy, HIPS autograd, MXNet (imperative and Gluon hybridized), PyTorch "
        "eager and JAX (eager and jit) on the CPU, for a per-op overhead chain, an MLP step, a CNN step, an RNN "
        "and the memory of LSTM training. Every number on this page comes from one run, recorded in "
        f"[{json_name}]({json_name}).",
        "",
        "Reproduce (about 10 minutes on 2 cores):", "",
        "```bash", "make bench                      # installs PyTorch and runs every benchmark, run_all.py included",
        "python bench/run_all.py --docs  # just this suite: writes docs/performance.json and this page",
        "python tools/gen_performance.py # re-render this page from docs/performance.json", "```", "",
        "How to read it: timings are medians over rounds interleaved across implementations (a load spike hits "
        "them all alike), each round calibrated to last a fraction of a second; MXNet results are waited for "
        "inside the timed region. *grad agreement* is the largest difference of an implementation's first-step "
        "gradients from the hand-written NumPy ones, relative to their largest magnitude: it shows that all "
        "rows compute the same thing. The machine is shared and its timings vary 1.5-2x between runs, so compare "
        "rows of one run, not numbers across runs.", "",
    ]
    lines += _machine(data) + _targets(data) + _summary(data) + _chart(base) + _callgrind(base)
    lines += ["## Workloads", ""]
    for name, w in _workloads(data):
        lines += _memory(w) if name == "memory" else _timed(name, w)
    lines += _missed(data) + _thread_pools(base)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    import json

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="results of bench/run_all.py")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="the page to write")
    ap.add_argument("--check", action="store_true", help="exit 1 if the page is not what the JSON renders to")
    args = ap.parse_args(argv)
    data = json.loads(Path(args.json).read_text())
    out = Path(args.out)
    import os

    text = render(data, json_name=os.path.relpath(Path(args.json).resolve(), out.resolve().parent),
                  base=Path(args.json).resolve().parent)
    if args.check:
        if not out.exists() or out.read_text() != text:
            print(f"{out} is out of date: run python tools/gen_performance.py", file=sys.stderr)
            return 1
        return 0
    out.write_text(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
