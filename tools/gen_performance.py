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
        "HIPS autograd pays per op one Python tape node around NumPy's call; imperdl pays the same plus its "
        "dispatch (signature, the policy's cached decision, an argument snapshot, wrapping the result) and runs "
        "its backward rules through dispatched calls too (see the profile). The levers of issue #14 item 1 "
        "address exactly this: no snapshot where nothing can mutate, vjps on raw backend arrays when no outer tape "
        "records, a lean tape entry, signature keys computed once."
    ),
    "svi-vs-autograd": (
        "The same per-op overhead as the tiny chain, on ~25 small operations per step (indexing, broadcasts "
        "and reductions included, whose backward rules cost several dispatched calls each); the arithmetic on 2000 "
        "samples is a few microseconds per op. What closes the chain's gap closes this one."
    ),
    "chain-vs-pytorch": (
        "The profile is imperdl's own Python: per primitive call, dispatch (`Primitive.__call__`, the signature, "
        "the policy's cached decision, wrapping the result) and a tape node; the backward pass then runs one Python "
        "vjp rule per op, each made of further dispatched calls (the busiest operators below: the backward's "
        "multiplies outnumber the forward ops). PyTorch does the same work in C++. What would close it: fewer calls "
        "in the backward (one fused primitive per common elementwise rule, e.g. tanh's g * (1 - y**2) as one NumPy "
        "expression instead of three dispatched calls, and vjp rules run on raw NumPy arrays when every input lives "
        "on the host and no higher-order gradient is being recorded), and a thinner path for repeated signatures "
        "(no argument snapshot for plain Arrays, one dict lookup for the decision)."
    ),
    "mlp-vs-numpy": (
        "Both do the same three large matrix products each way. dot's vjp now hands transposed views to BLAS (it "
        "went through `tensordot`, which copied transposed operands), and a float32 input always gets a float32 "
        "gradient (NumPy's rule makes a float32 sum divided by a Python int float64, which used to turn the first "
        "backward ops float64). What remains is dispatch and the tape: a few dozen calls per step."
    ),
    "cnn-vs-gluon": (
        "Gluon hybridized runs the whole step as one cached oneDNN graph with no Python per op; even MXNet's own "
        "imperative mode is well behind it (its row above). imperdl pays one decision and one call per op, plus "
        "transfers when a value crosses between NumPy and MXNet (zero-copy on a CPU, but oneDNN layouts are "
        "converted). The cost table's pooling and ReLU entries are now measured on CNN-shaped batches (an earlier "
        "calibration input, one huge image, priced MXNet's pooling at ~100 ms and kept it and its gradient on "
        "NumPy). Within 1.2x of Gluon needs whole-step capture into a cached graph, as hybridize does; "
        "``imperdl.core.Function`` gives that for the parts written as MXNet symbols."
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
        "The jitted step still calls MXNet operator by operator (`_imperative_invoke` and one `mxnet.autograd.grad` "
        "per recorded conv/pool backward), and the affine layers run on NumPy, so the pooled activations are read "
        "to the host and their gradient sent back every step (the host reads in the profile). Gluon's hybridized "
        "step is one cached graph with static memory. What would close it: replaying each MXNet segment (conv, "
        "relu, pool and their backward) as one cached MXNet graph, as `hybridize()` does (MXNet 1.9.1 has no mode "
        "that turns imperative `mxnet.numpy` calls into one, so this means building the symbol from the trace), "
        "and keeping the affine layers on MXNet when the segment before them ran there."
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
            "", "Counts repeat closely for NumPy, autograd, imperdl and JAX; PyTorch's varied by ~20% between two "
            "runs (38.5k and 46.1k on 2026-12-04; the cause was not investigated).", ""]


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
        "(`prefer_mxnet`) went from under a second to 10 s, with ten times the context switches.", "",
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
