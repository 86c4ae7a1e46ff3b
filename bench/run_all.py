"""Every speed workload of the project against its peers, in one command: medians, ratios and targets.

Workloads (sizes and peers in each ``bench/_wl_*.py``):

- ``chain``: 50 elementwise ops on 10x10 float32, forward+backward, microseconds per op;
- ``mlp``: one SGD step of a 3072-512-10 softmax MLP, batch 128;
- ``cnn``: one SGD step of CS231n's ThreeLayerConvNet on 3x32x32, batch 50;
- ``rnn``: a vanilla RNN unrolled 50 steps (batch 64, input 512, hidden 512), forward+backward;
- ``svi``: a small-array program written for autograd (black-box SVI gradient, 2000 samples in 2-D, float64);
- ``memory``: peak RSS of 200 SGD steps of an LSTM (sequences of 50), one subprocess per implementation.

Peers: hand-written NumPy (forward + manual backward), HIPS autograd, MXNet imperative (``mx.autograd``), MXNet
Gluon hybridized (``static_alloc``/``static_shape``) and PyTorch eager on the CPU (at its default thread count, and
pinned to one thread for context). imperdl runs its default policy (the row the targets are read from) plus
``only_numpy`` and ``prefer_mxnet`` for context.

Each library family runs in its own worker process (``_worker.py``: numpy + HIPS autograd, imperdl, MXNet,
PyTorch, PyTorch on one thread) with that library's default settings: PyTorch's and MXNet's OpenMP runtimes in one
process spin-wait against each other (5-20x slowdowns measured on 2 cores), and MXNet's peers must not inherit the
engine and shape semantics imperdl sets for itself. Timings are medians over rounds interleaved across all
implementations and processes (a load spike hits them alike); MXNet results are waited for inside the timed
region. Before timing, every implementation's first-step gradients are compared with the hand-written NumPy ones
(``grad agree``: max |g - g_numpy| / max |g_numpy|), so the peers are known to compute the same thing.

    python bench/run_all.py                 # full run (~10 min on 2 cores): bench/results.json and .md
    python bench/run_all.py --quick         # fewer, shorter rounds; memory over 20 steps
    python bench/run_all.py --smoke         # tiny sizes, a round or two: checks that everything runs
    python bench/run_all.py --docs          # full run written to docs/performance.json + docs/performance.md
    python bench/run_all.py --only cnn rnn  # a subset
"""
# ruff: noqa: E402
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")

import argparse
import concurrent.futures
import importlib.util
import json
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import _harness as H

SCHEMA = 1
ROOT = Path(_HERE).parent
TIMED = ("chain", "mlp", "cnn", "rnn", "svi")
WORKLOADS = (*TIMED, "memory")
REFERENCE = "imperdl default"
JIT = H.JIT_ROW  # imperdl.jit of the whole step, default policy: the row the jit targets read (issue #14 item 3)
# (rounds, seconds per round, warm-up calls) per mode; the memory workload's steps come from its config
MODES = {"full": (7, 0.4, 2), "quick": (3, 0.1, 1), "smoke": (2, 0.0, 1)}
TARGETS = [
    {"id": "chain-vs-autograd", "workload": "chain", "peer": "HIPS autograd", "limit": 1.0,
     "text": "tiny chain: per-op cost at or below HIPS autograd's"},
    {"id": "chain-vs-pytorch", "workload": "chain", "peer": "PyTorch eager", "limit": 1.0,
     "text": "tiny chain: per-op cost at or below PyTorch eager's"},
    {"id": "mlp-vs-numpy", "workload": "mlp", "peer": "numpy (hand-written)", "limit": 1.1,
     "text": "MLP step within 1.1x hand-written NumPy"},
    {"id": "cnn-vs-gluon", "workload": "cnn", "peer": "MXNet Gluon hybridized", "limit": 1.2,
     "text": "CNN step within 1.2x MXNet Gluon hybridized"},
    {"id": "cnn-vs-pytorch", "workload": "cnn", "peer": "PyTorch eager", "limit": 0.5,
     "text": "CNN step at most 0.5x PyTorch eager"},
    {"id": "svi-vs-autograd", "workload": "svi", "peer": "HIPS autograd", "limit": 1.0,
     "text": "small-array program written for autograd (black-box SVI gradient) no slower than under autograd"},
    {"id": "rnn-vs-numpy", "workload": "rnn", "peer": "numpy (hand-written)", "limit": 1.3,
     "text": "RNN forward+backward within 1.3x hand-written NumPy"},
    {"id": "chain-jit-vs-pytorch", "workload": "chain", "peer": "PyTorch eager", "limit": 0.5, "row": JIT,
     "text": "tiny chain under imperdl.jit: per-op cost at most 0.5x PyTorch eager's"},
    {"id": "mlp-jit-vs-numpy", "workload": "mlp", "peer": "numpy (hand-written)", "limit": 1.0, "row": JIT,
     "text": "MLP step under imperdl.jit at or below hand-written NumPy"},
    {"id": "cnn-jit-vs-gluon", "workload": "cnn", "peer": "MXNet Gluon hybridized", "limit": 1.0, "row": JIT,
     "text": "CNN step under imperdl.jit at or below MXNet Gluon hybridized"},
    {"id": "memory-vs-numpy", "workload": "memory", "peer": "numpy (hand-written)", "limit": 1.3,
     "text": "LSTM training memory (peak RSS above the post-import baseline) within 1.3x hand-written NumPy"},
]


def _module(name: str):
    return __import__(f"_wl_{'lstm_memory' if name == 'memory' else name}")


# ------------------------------------------------------------------------------------------------ workers
# canonical row order of every table
ORDER = ("numpy (hand-written)", "imperdl default", "imperdl only_numpy", "imperdl prefer_mxnet", JIT, "HIPS autograd",
         "PyTorch eager", "PyTorch eager (1 thread)", "MXNet imperative", "MXNet Gluon hybridized", *H.JAX_ROWS)
JAX_VENV = Path(_HERE) / ".venv-jax"
JAX_PACKAGES = ("jax[cpu]",)


def jax_python(create: bool, log) -> tuple[str | None, str | None]:
    """(the Python of JAX's own virtual environment, None), or (None, why JAX is skipped).

    JAX needs NumPy >= 2 where MXNet 1.9.1 needs NumPy < 2, so JAX never goes into the project's venv: it gets
    ``bench/.venv-jax``, created here on first use (``create``) with the interpreter running this script."""
    py = JAX_VENV / "bin" / "python"
    if not py.exists():
        if not create:
            return None, f"no JAX environment ({JAX_VENV.relative_to(ROOT)}; a full run creates it)"
        log(f"creating {JAX_VENV.relative_to(ROOT)} for the JAX peers (once; needs the package index)")
        base = getattr(sys, "_base_executable", sys.executable)
        try:
            subprocess.run([base, "-m", "venv", str(JAX_VENV)], check=True, capture_output=True, timeout=300)
            subprocess.run([str(py), "-m", "pip", "install", "-q", *JAX_PACKAGES], check=True, capture_output=True,
                           timeout=1200, text=True)
        except (OSError, subprocess.SubprocessError) as exc:
            tail = (getattr(exc, "stderr", "") or "").strip().splitlines()[-1:] or [str(exc)]
            return None, f"JAX could not be installed for {sys.version.split()[0]}: {tail[0][:200]}"
    probe = subprocess.run([str(py), "-c", "import jax, jax.numpy as j; print(jax.__version__, j.ones(2).sum())"],
                           capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        return None, f"JAX does not import in {JAX_VENV.relative_to(ROOT)}: {probe.stderr.strip()[-200:]}"
    return str(py), None


class Workers:
    """One ``_worker.py`` process per library family, each driven by one JSON line per command."""

    def __init__(self, tmp: str, jax: str | None, jax_skipped: str | None):
        self.tmp = tmp
        self.procs, self.logs = {}, {}
        self.skipped = {} if jax else {"jax": jax_skipped}  # family -> why it does not run
        self.families = [f for f in H.FAMILIES if f not in self.skipped]
        script = os.path.join(_HERE, "_worker.py")
        for fam in self.families:
            self.logs[fam] = open(os.path.join(tmp, f"worker-{fam}.log"), "w+")
            self.procs[fam] = subprocess.Popen([jax if fam == "jax" else sys.executable, script, fam],
                                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.logs[fam],
                                               text=True, cwd=ROOT)

    def send(self, fam: str, **msg) -> None:
        proc = self.procs[fam]
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()

    def recv(self, fam: str) -> dict:
        proc = self.procs[fam]
        for line in proc.stdout:
            if line.startswith("@@"):
                reply = json.loads(line[2:])
                if "fatal" in reply:
                    raise RuntimeError(f"{fam} worker: {reply['fatal']}\n{reply.get('traceback', '')}")
                return reply
        self.logs[fam].seek(0)
        tail = "".join(self.logs[fam].read().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"{fam} worker exited ({proc.wait()}):\n{tail}")

    def ask(self, fam: str, **msg) -> dict:
        self.send(fam, **msg)
        return self.recv(fam)

    def close(self) -> None:
        for fam, proc in self.procs.items():
            try:
                self.send(fam, cmd="quit")
                proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                proc.kill()
            self.logs[fam].close()


# ------------------------------------------------------------------------------------------------ timed workloads
def run_timed(name: str, mode: str, workers: Workers, log, profile_all: bool) -> dict:
    mod = _module(name)
    cfg = mod.CONFIGS["smoke" if mode == "smoke" else "full"]
    rounds, target_s, warmup = MODES[mode]
    load_before, t0 = H.load_average(), time.perf_counter()
    rows, threads, family_of = {}, {}, {}
    if "jax" in workers.skipped:
        rows.update({n: {"name": n, "kind": "peer", "na": workers.skipped["jax"]} for n in H.JAX_ROWS})
    for fam in workers.families:  # one after another: calibration is a measurement
        try:
            reply = workers.ask(fam, cmd="build", workload=name, config=cfg, warmup=warmup, target_s=target_s,
                                grads_dir=workers.tmp)
        except RuntimeError as exc:
            rows[f"({fam} worker)"] = {"name": f"({fam} worker)", "kind": "peer", "error": str(exc)[:2000]}
            continue
        threads[fam] = reply["threads"]
        for r in reply["cases"]:
            rows[r["name"]] = r
            family_of[r["name"]] = fam
    times = {n: [] for n, r in rows.items() if "number" in r}
    live = [fam for fam in workers.families if any(family_of.get(n) == fam for n in times)]
    for _ in range(rounds):
        for fam in live:  # rounds interleave across families too
            reply = workers.ask(fam, cmd="round")
            for n, t in reply["times"].items():
                times[n].append(t)
            for n, err in reply["errors"].items():
                rows[n]["error"] = err
    per = mod.per_call(cfg)
    for n, r in rows.items():
        if "number" in r and "error" not in r and times[n]:
            r.update(H.summarize(times[n], mod.SCALE / per))
    _agreement(rows)
    ordered = sorted(rows.values(), key=lambda r: ORDER.index(r["name"]) if r["name"] in ORDER else len(ORDER))
    _add_ratios(ordered, "median")
    result = {"title": mod.TITLE, "unit": mod.UNIT, "config": cfg, "rounds": rounds, "rows": ordered,
              "threads": threads, "load_average": {"before": load_before, "after": H.load_average()}}
    log(format_workload(name, result))
    missed = {t.get("row", REFERENCE) for t in evaluate_targets({name: result})
              if t["workload"] == name and t["met"] is False}
    for row in (REFERENCE, JIT):  # the profile of each imperdl row that missed a target
        if (row in missed or profile_all) and "number" in rows.get(row, {}):
            key = "profile" if row == REFERENCE else "profile_jit"
            try:
                result[key] = workers.ask("imperdl", cmd="profile", name=row,
                                          seconds=0.2 if mode == "smoke" else 3.0)
            except RuntimeError as exc:
                result[key] = {"error": str(exc)[:2000]}
    for fam in workers.families:
        if fam in threads:
            workers.ask(fam, cmd="drop")
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def _agreement(rows: dict) -> None:
    """grad_max_rel_diff of every row: its first-step gradients against the hand-written NumPy ones."""
    import numpy as onp

    ref_row = rows.get("numpy (hand-written)", {})
    ref = dict(onp.load(ref_row["grads"])) if "grads" in ref_row else None
    for r in rows.values():
        path = r.pop("grads", None)
        r["grad_max_rel_diff"] = None
        if path is None or ref is None:
            continue
        try:
            r["grad_max_rel_diff"] = H.max_rel_diff(dict(onp.load(path)), ref)
        except (KeyError, ValueError) as exc:
            r["grad_error"] = f"{type(exc).__name__}: {exc}"


def _add_ratios(rows: list[dict], key: str) -> None:
    """``ratio``: imperdl default's value over this row's (the 'imperdl / peer' of the targets)."""
    ref = next((r.get(key) for r in rows if r["name"] == REFERENCE), None)
    for r in rows:
        v = r.get(key)
        r["ratio"] = ref / v if ref is not None and v else None


# ------------------------------------------------------------------------------------------------ memory
def run_memory(mode: str, log, profile_all: bool) -> dict:
    mod = _module("memory")
    cfg = dict(mod.CONFIGS["smoke" if mode == "smoke" else "full"])
    if mode == "quick":
        cfg.update(steps=20, context_steps=20)
    load_before, t0 = H.load_average(), time.perf_counter()
    script = os.path.join(_HERE, "_wl_lstm_memory.py")

    def one(impl: str) -> dict:
        cmd = [sys.executable, script, impl, "--config", json.dumps(cfg)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return {"name": impl, "error": "timed out after 900 s"}
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return {"name": impl, "error": f"exit {proc.returncode}: {tail}"}
        return json.loads(lines[-1])

    # one process per implementation (peak RSS only grows), one at a time: two at once on 2 cores made the
    # libraries' spin-waiting thread pools 3-10x slower (a smoke run, which measures nothing, runs two at once)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2 if mode == "smoke" else 1) as pool:
        got = dict(zip(mod.IMPLEMENTATIONS, pool.map(one, mod.IMPLEMENTATIONS)))
    rows = []
    ref_losses = got.get("numpy (hand-written)", {}).get("loss_at_step", {})
    for impl in mod.IMPLEMENTATIONS:
        r = got[impl]
        r["kind"] = "numpy" if impl.startswith("numpy") else "imperdl" if impl.startswith("imperdl") else "peer"
        ref = ref_losses.get(str(r.get("steps")))
        if ref is not None and "final_loss" in r:  # same training run: same loss after the same number of steps
            r["loss_rel_diff"] = abs(r["final_loss"] - ref) / abs(ref)
        rows.append(r)
    _add_ratios(rows, "delta_mb")
    result = {"title": mod.TITLE, "unit": "MB", "config": cfg, "target_rows": list(mod.TARGET_ROWS), "rows": rows,
              "load_average": {"before": load_before, "after": H.load_average()}}
    log(format_memory(result))
    missed = any(t["met"] is False for t in evaluate_targets({"memory": result}) if t["workload"] == "memory")
    if missed or profile_all:
        got = one("tape-profile")
        result["profile"] = got if "error" in got else {k: v for k, v in got.items() if k != "name"}
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return result


# ------------------------------------------------------------------------------------------------ targets, profiles
def profile_key(workload: str, row: str) -> str:
    """Where the JSON's ``profiles`` keeps the profile of ``row`` in ``workload``: the workload's name for the
    default policy's row, '<workload> jit' for the jit row."""
    return workload if row == REFERENCE else f"{workload} {row.removeprefix('imperdl ')}"


def evaluate_targets(workloads: dict) -> list[dict]:
    """Each target with imperdl's and the peer's medians (memory: deltas), their ratio and the verdict; plus, for
    context, the ratio of the best rounds (less sensitive to load spikes) and, for PyTorch targets, the ratio
    against PyTorch pinned to one thread."""
    out = []
    for t in TARGETS:
        res = workloads.get(t["workload"])
        row = dict(t, imperdl=None, peer_value=None, ratio=None, met=None, best_round_ratio=None)
        if res is not None:
            key = "delta_mb" if t["workload"] == "memory" else "median"
            rows = {r["name"]: r for r in res["rows"]}
            mine, peer = rows.get(t.get("row", REFERENCE), {}), rows.get(t["peer"], {})
            row.update(imperdl=mine.get(key), peer_value=peer.get(key))
            if row["imperdl"] is not None and row["peer_value"]:
                row["ratio"] = row["imperdl"] / row["peer_value"]
                row["met"] = row["ratio"] <= t["limit"]
            if mine.get("min") is not None and peer.get("min"):
                row["best_round_ratio"] = mine["min"] / peer["min"]
            one = rows.get(t["peer"] + " (1 thread)", {}).get(key)
            if row["imperdl"] is not None and one:
                row["ratio_vs_1_thread"] = row["imperdl"] / one
        out.append(row)
    return out


# ------------------------------------------------------------------------------------------------ console output
def _num(v, width=10, digits=2) -> str:
    if v is None:
        return f"{'-':>{width}}"
    if abs(v) >= 1000:
        return f"{v:>{width}.0f}"
    return f"{v:>{width}.{digits}f}"


def _x(v, width=13) -> str:
    return f"{'-':>{width}} " if v is None else f"{v:>{width}.2f}x"


def format_workload(name: str, res: dict) -> str:
    lines = [f"\n== {name}: {res['title']} [{res['unit']}, median of {res['rounds']} rounds]",
             f"{'implementation':<26}{'median':>10}{'min':>10}{'max':>10}{'default/this':>14}{'grad agree':>12}"]
    for r in res["rows"]:
        if "na" in r or "error" in r:
            what = f"n/a: {r['na']}" if "na" in r else f"FAILED: {r['error']}"
            lines.append(f"{r['name']:<26}  {what[:110]}")
            continue
        g = r.get("grad_max_rel_diff")
        agree = f"{g:>12.1e}" if g is not None else f"{'-':>12}"
        lines.append(f"{r['name']:<26}{_num(r['median'])}{_num(r['min'])}{_num(r['max'])}"
                     f"{_x(r['ratio'])}{agree}")
    return "\n".join(lines)


def format_memory(res: dict) -> str:
    lines = [f"\n== memory: {res['title']}",
             f"{'implementation':<26}{'baseline MB':>12}{'peak MB':>10}{'delta MB':>10}{'default/this':>14}"
             f"{'steps':>7}{'seconds':>9}{'loss vs numpy':>15}"]
    for r in res["rows"]:
        if "error" in r:
            lines.append(f"{r['name']:<26}  FAILED: {r['error'][:110]}")
            continue
        lines.append(f"{r['name']:<26}{_num(r['baseline_mb'], 12, 1)}{_num(r['peak_mb'], 10, 1)}"
                     f"{_num(r['delta_mb'], 10, 1)}{_x(r['ratio'])}{r['steps']:>7}{_num(r['seconds'], 9, 1)}"
                     + (f"{r['loss_rel_diff']:>15.1e}" if r.get("loss_rel_diff") is not None else f"{'-':>15}"))
    return "\n".join(lines)


def format_targets(targets: list[dict]) -> str:
    lines = ["\n== targets (imperdl default policy; ratio = imperdl / peer medians, same run; best = ratio of the "
             "best rounds)"]
    for t in targets:
        verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        ratio = f"{t['ratio']:.2f}" if t["ratio"] is not None else "-"
        extra = f", best {t['best_round_ratio']:.2f}" if t.get("best_round_ratio") is not None else ""
        if t.get("ratio_vs_1_thread") is not None:
            extra += f", vs 1-thread PyTorch {t['ratio_vs_1_thread']:.2f}"
        lines.append(f"{verdict:<7}{t['text']:<90} ratio {ratio} (limit {t['limit']}{extra})")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ driver
def load_renderer():
    """tools/gen_performance.py as a module (it renders the Markdown from the JSON)."""
    spec = importlib.util.spec_from_file_location("gen_performance", ROOT / "tools" / "gen_performance.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="fewer, shorter rounds; memory over 50 steps")
    group.add_argument("--smoke", action="store_true", help="tiny sizes and repetitions: checks that all runs")
    ap.add_argument("--json", metavar="PATH", help="results as JSON (default bench/results.json)")
    ap.add_argument("--markdown", metavar="PATH", help="results as Markdown (default bench/results.md)")
    ap.add_argument("--docs", action="store_true",
                    help="write docs/performance.json and docs/performance.md (the published results)")
    ap.add_argument("--only", nargs="+", choices=WORKLOADS, metavar="WORKLOAD",
                    help=f"run only these workloads ({', '.join(WORKLOADS)})")
    ap.add_argument("--profile-all", action="store_true", help="profile every workload, not only missed targets")
    ap.add_argument("--no-jax", action="store_true", help="leave out the JAX peers (and their environment)")
    args = ap.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    out_dir, stem = (ROOT / "docs", "performance") if args.docs else (ROOT / "bench", "results")
    json_path = Path(args.json or out_dir / f"{stem}.json")
    md_path = Path(args.markdown or out_dir / f"{stem}.md")
    warnings.simplefilter("ignore", DeprecationWarning)
    t0 = time.perf_counter()

    info = H.machine()
    print(f"{info['cpu']}, {info['cores']} cores; " + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
          + f"; mode {mode}; load {H.load_average()}", flush=True)

    def log(text):
        print(text, flush=True)

    workloads = {}
    with tempfile.TemporaryDirectory(prefix="imperdl-bench-") as tmp:
        names = args.only or WORKLOADS
        workers = None
        if any(n in TIMED for n in names):
            jax, why = (None, "--no-jax") if args.no_jax else jax_python(create=mode != "smoke", log=log)
            if why:
                log(f"JAX peers skipped: {why}")
            workers = Workers(tmp, jax, why)
        try:
            if workers is not None:
                for fam in workers.families:  # imports overlap
                    workers.send(fam, cmd="load")
                info["threads"] = {fam: workers.recv(fam)["threads"] for fam in workers.families}
                if "jax" in info["threads"]:
                    info["versions"]["jax"] = info["threads"]["jax"].get("jax")
                info["imperdl_default_policy"] = workers.ask("imperdl", cmd="default_policy")["policy"]
            for name in names:
                if name != "memory":
                    workloads[name] = run_timed(name, mode, workers, log, args.profile_all)
        finally:
            if workers is not None:
                workers.close()
    if "memory" in names:  # after the timed workloads, whose workers are gone by then
        workloads["memory"] = run_memory(mode, log, args.profile_all)
    targets = evaluate_targets(workloads)
    log(format_targets(targets))
    profiles = {name: res.pop("profile") for name, res in workloads.items() if "profile" in res}
    profiles.update({profile_key(name, JIT): res.pop("profile_jit") for name, res in workloads.items()
                     if "profile_jit" in res})
    for name, prof in profiles.items():
        if "error" in prof:
            log(f"\nprofile of {name} failed: {prof['error']}")
        elif "by_line" in prof:
            log(f"\n== memory held by imperdl's tape after one forward pass ({prof['policy']}): "
                f"{prof['held_after_forward_mb']} MB, by model line")
            log("\n".join(f"{r['mb']:>8.1f} MB  {r['where']}" for r in prof["by_line"]))
        else:
            row = JIT if name.endswith(" jit") else REFERENCE
            log(f"\n== profile: {name}, {row}, {prof['steps']} steps, top by own time\n{prof['tottime']}")
    result = {"schema": SCHEMA, "mode": mode, "machine": info, "workloads": workloads, "targets": targets,
              "profiles": profiles, "wall_seconds": round(time.perf_counter() - t0, 1),
              "load_average_end": H.load_average()}
    text = json.dumps(result, indent=1, default=_jsonable) + "\n"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(text)
    md_path.parent.mkdir(parents=True, exist_ok=True)  # rendered from the JSON as written (tuples become lists)
    md_path.write_text(load_renderer().render(json.loads(text), json_name=_relative(json_path, md_path.parent),
                                              base=json_path.resolve().parent))
    log(f"\nwrote {json_path} and {md_path} ({result['wall_seconds']:.0f} s)")
    return 0


def _relative(path: Path, start: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), start.resolve())
    except ValueError:
        return str(path)


def _jsonable(v):
    if hasattr(v, "tolist"):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


if __name__ == "__main__":
    sys.exit(main())
