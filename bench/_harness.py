"""Shared machinery of ``bench/run_all.py``: what a benchmark case is, interleaved timing, the machine record and
profiles. Not a benchmark itself (``make bench`` skips files starting with ``_``).

Why interleaved rounds: the project's machines are shared and their load drifts by minutes; timing case A fully,
then case B, would put the drift into the ratio. Here every case runs one round, then every case again, so a load
spike hits all of them alike, and the median over rounds drops the worst rounds.
"""
from __future__ import annotations

import cProfile
import dataclasses
import datetime
import gc
import importlib.metadata
import io
import os
import platform
import pstats
import statistics as stats
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as onp

ROOT = Path(__file__).resolve().parent.parent
LR = 1e-3  # SGD step of every training workload (the value does not matter for timing)
# Each family runs in its own worker process (``_worker.py``): two OpenMP runtimes in one process (PyTorch's and
# MXNet's libgomp) spin-wait for each other's cores, which measured 5-20x slowdowns of both on 2 cores; and MXNet
# peers must run with MXNet's own defaults, not with the engine and shape semantics imperdl sets for itself.
FAMILIES = ("numpy", "imperdl", "mxnet", "torch", "torch1", "jax")  # torch1: PyTorch pinned to one thread
# jax runs from its own virtual environment (bench/.venv-jax: JAX needs a NumPy the project's venv cannot have)
JAX_ROWS = ("JAX eager", "JAX jit")


@dataclasses.dataclass
class Case:
    """One implementation of one workload.

    ``step`` runs the timed unit once (forward, backward and, for training workloads, the update) and waits for
    every asynchronous result. ``grads`` computes the gradients of the first step from the initial parameters and
    returns them as NumPy arrays (key -> array), for the agreement check against the hand-written NumPy code.
    ``policy``: the imperdl policy object installed before each round (None for non-imperdl cases).
    ``na``: why this implementation is not run for this workload (it is then reported as n/a).
    ``check(before, result)``: raises ``WrongResult`` when ``result`` (what ``step`` returned) is not the
    reference's for the state ``before`` (what ``snapshot()`` returned just before that step; None without a
    snapshot). Every round checks the result of its last timed step, so a benchmark that times a wrong result
    fails instead of reporting a time.
    """

    name: str
    kind: str  # "imperdl" | "numpy" | "peer"
    step: Callable[[], object] | None = None
    grads: Callable[[], dict] | None = None
    policy: object = None
    na: str | None = None
    note: str = ""
    check: Callable[[object, object], None] | None = None
    snapshot: Callable[[], object] | None = None


class WrongResult(AssertionError):
    """A timed step returned something other than the reference result."""


def expect_close(got: dict, ref: dict, what: str, rtol: float = 1e-3) -> None:
    """``WrongResult`` unless every array of ``got`` matches ``ref`` (max |g - r| / max |r| <= rtol)."""
    diff = max_rel_diff({k: _host(v) for k, v in got.items()}, ref)
    if not diff <= rtol:  # (NaN fails too)
        raise WrongResult(f"{what}: timed result differs from the reference by {diff:.3g} (relative, limit {rtol})")


def _host(v):
    return v.asnumpy() if hasattr(v, "asnumpy") else onp.asarray(v)


# ------------------------------------------------------------------------------------------------ libraries
def load_torch():
    """PyTorch, or None if not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def load_mxnet():
    """Plain MXNet with its own defaults (engine, legacy shape semantics), or None: for the MXNet peers only."""
    import warnings

    if "bool" not in vars(onp):
        onp.bool = bool  # MXNet 1.9.1 uses the alias NumPy 1.24 removed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mxnet
    except Exception:
        return None
    return mxnet


def load_hips():
    """(autograd, autograd.numpy), or None."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None
    return autograd, anp


def imperdl_policies() -> list[tuple[str, object]]:
    """(case name, policy object) for imperdl's default policy and the two fixed ones reported for context."""
    import imperdl

    default = imperdl.set_global_policy(None)
    return [("imperdl default", default), ("imperdl only_numpy", imperdl.OnlyNumPyPolicy()),
            ("imperdl prefer_mxnet", imperdl.PreferMXNetPolicy())]


class policy_scope:
    """``with policy_scope(p):`` installs imperdl policy ``p`` globally for the block (None: leave as is)."""

    def __init__(self, policy):
        self.policy = policy

    def __enter__(self):
        import imperdl

        self.saved = imperdl.get_global_policy()
        if self.policy is not None:
            imperdl.set_global_policy(self.policy)

    def __exit__(self, *exc):
        import imperdl

        imperdl.set_global_policy(self.saved)


def one_thread_variant(cases: list[Case]) -> list[Case]:
    """The PyTorch cases renamed for the ``torch1`` worker, which runs PyTorch pinned to one thread.

    Why this row: PyTorch's OpenMP threads spin-wait at every barrier. On a shared 2-core machine whose other load
    takes a core, its default 2 threads measured up to 8x slower than 1 thread (MLP step 118 ms vs 14 ms): the
    default row is what a user gets, the 1-thread row shows how much of it is that contention. It needs its own
    process: switching ``torch.set_num_threads`` back and forth between rounds made tiny ops 10-300x slower.
    """
    return [dataclasses.replace(c, name=f"{c.name} (1 thread)", grads=None,
                                note=(c.note + "; " if c.note else "") + "torch.set_num_threads(1)")
            if c.na is None else dataclasses.replace(c, name=f"{c.name} (1 thread)") for c in cases]


def unavailable(name: str, kind: str, why: str) -> Case:
    return Case(name, kind, na=why)


# ------------------------------------------------------------------------------------------------ SGD steps
# The training workloads (mlp, cnn) differ only in their model: these build the step/grads pair of each family
# around a model-specific loss or forward+backward.
def imperdl_grad_cases(g_fn, make_args, ref: dict) -> list[Case]:
    """One case per imperdl policy timing ``g_fn(*make_args())`` (a dict of gradients, waited for), each checked
    against the hand-written ``ref``; the arguments are made once per policy, outside the clock."""
    cases = []
    for name, pol in imperdl_policies():
        args = make_args()

        def step(args=args):
            g = g_fn(*args)
            for v in g.values():
                v.wait_to_read()
            return g

        cases.append(Case(name, "imperdl", policy=pol, step=step,
                          grads=lambda step=step: {k: v.asnumpy() for k, v in step().items()},
                          check=lambda _, g, name=name: expect_close(g, ref, name)))
    return cases


def imperdl_sgd_cases(loss, hx, hy, hp: dict, reference, rtol: float = 1e-3) -> list[Case]:
    """One case per imperdl policy: ``grad_and_loss(loss)(params, x, y)`` then ``params[k] -= LR * g[k]``.
    ``reference(params as NumPy arrays)``: the hand-written gradients every round's last step is checked against
    (``expect_close`` with ``rtol``)."""
    import imperdl.numpy as inp
    from imperdl.core import grad_and_loss

    gl = grad_and_loss(loss)
    cases = []
    for name, pol in imperdl_policies():
        x = inp.array(hx)
        params = {k: inp.array(v) for k, v in hp.items()}

        def step(params=params, x=x):
            g, _ = gl(params, x, hy)
            for k in params:
                params[k] -= LR * g[k]
            for v in params.values():
                v.wait_to_read()
            return g

        def grads(x=x):
            g, _ = gl({k: inp.array(v) for k, v in hp.items()}, x, hy)
            return {k: v.asnumpy() for k, v in g.items()}

        cases.append(Case(name, "imperdl", policy=pol, step=step, grads=grads,
                          snapshot=lambda params=params: {k: v.asnumpy() for k, v in params.items()},
                          check=lambda before, g, name=name: expect_close(g, reference(before), name, rtol)))
    return cases


JIT_ROW = "imperdl jit"


def imperdl_jit_sgd_case(loss, hx, hy, hp: dict, reference, rtol: float = 1e-3) -> Case:
    """imperdl's default policy with the whole step under ``imperdl.jit``: ``grad_and_loss(loss)`` and the SGD
    update in one jitted function, traced once and replayed. The step is functional (new parameters out, rebound
    outside) and also returns its gradients, which every round's last step is checked against ``reference``."""
    import imperdl.numpy as inp
    from imperdl.core import grad_and_loss
    from imperdl.core.capture import jit

    gl = grad_and_loss(loss)

    @jit
    def train_step(params, x, y):
        g, _ = gl(params, x, y)
        return {k: params[k] - LR * g[k] for k in params}, g

    x = inp.array(hx)
    state = {k: inp.array(v) for k, v in hp.items()}

    def step():
        new, g = train_step(state, x, hy)
        state.update(new)
        for v in state.values():
            v.wait_to_read()
        return g

    def grads():
        _, g = train_step({k: inp.array(v) for k, v in hp.items()}, x, hy)
        return {k: v.asnumpy() for k, v in g.items()}

    default = imperdl_policies()[0][1]
    return Case(JIT_ROW, "imperdl", policy=default, step=step, grads=grads, note="imperdl.jit of the whole step",
                snapshot=lambda: {k: v.asnumpy() for k, v in state.items()},
                check=lambda before, g: expect_close(g, reference(before), JIT_ROW, rtol))


def torch_sgd_case(torch, forward_backward, hp: dict, note: str) -> Case:
    """PyTorch eager: ``forward_backward(params)`` fills ``.grad``; manual SGD on leaf tensors."""
    tp = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in hp.items()}

    def step():
        forward_backward(tp)
        with torch.no_grad():
            for v in tp.values():
                v -= LR * v.grad
                v.grad = None

    def grads():
        p = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in hp.items()}
        forward_backward(p)
        return {k: v.grad.numpy() for k, v in p.items()}

    return Case("PyTorch eager", "peer", step=step, grads=grads, note=note)


def mxnet_imperative_sgd(mx, make_params, forward_backward, from_layout):
    """(step, grads) for MXNet imperative: ``make_params()`` gives attached NDArrays in MXNet's layout,
    ``forward_backward(p)`` records and back-propagates, ``nd.sgd_update`` updates; grads back in our layout."""
    nd = mx.nd
    mp = make_params()

    def step():
        forward_backward(mp)
        for v in mp.values():
            nd.sgd_update(v, v.grad, lr=LR, out=v)
        for v in mp.values():
            v.wait_to_read()

    def grads():
        p = make_params()
        forward_backward(p)
        return from_layout({k: v.grad.asnumpy() for k, v in p.items()})

    return step, grads


def gluon_sgd_step(mx, net, x, y):
    """One step of a hybridized Gluon net with softmax cross-entropy and ``gluon.Trainer('sgd')``."""
    gluon = mx.gluon
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR})
    params = list(net.collect_params().values())
    n = x.shape[0]

    def step():
        with mx.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(n)  # gradient of the sum / n: the mean loss's gradient, as everywhere else
        for prm in params:
            prm.data().wait_to_read()

    return step, loss_fn


# ------------------------------------------------------------------------------------------------ timing
def _prepare(case: Case) -> None:
    if case.policy is not None:
        import imperdl

        imperdl.set_global_policy(case.policy)


def _round(case: Case, number: int) -> float:
    """Seconds per call of ``case.step`` over ``number`` calls (garbage collected first, collector left on:
    tapes make reference cycles and collecting them is part of their cost). The last call's result is checked
    (``Case.check``; the snapshot before it and the check are outside the clock)."""
    _prepare(case)
    gc.collect()
    step = case.step
    t0 = time.perf_counter()
    for _ in range(number - 1):
        step()
    spent = time.perf_counter() - t0
    before = case.snapshot() if case.snapshot is not None else None
    t0 = time.perf_counter()
    result = step()
    spent += time.perf_counter() - t0
    if case.check is not None:
        case.check(before, result)
    return spent / number


def calibrate(case: Case, warmup: int, target_s: float) -> int:
    """Warm ``case`` up (caches, oneDNN primitives, policy decisions), then return how many calls make one round
    of about ``target_s`` seconds."""
    _prepare(case)
    for _ in range(warmup):
        case.step()
    once = _round(case, 1)
    return max(1, int(target_s / max(once, 1e-7)))


def summarize(times: list[float], scale: float) -> dict:
    t = [x * scale for x in times]
    return {"median": stats.median(t), "min": min(t), "max": max(t), "rounds": len(t)}


def max_rel_diff(got: dict, ref: dict) -> float:
    """Largest over keys of max|got - ref| / max|ref|: one number saying whether two gradient sets agree."""
    worst = 0.0
    for k, r in ref.items():
        if k not in got:
            raise KeyError(f"gradient {k!r} missing (have {sorted(got)})")
        g = onp.asarray(got[k], dtype=onp.float64)
        r = onp.asarray(r, dtype=onp.float64)
        if g.shape != r.shape:
            raise ValueError(f"gradient {k!r}: shape {g.shape}, expected {r.shape}")
        worst = max(worst, float(onp.max(onp.abs(g - r)) / max(float(onp.max(onp.abs(r))), 1e-30)))
    return worst


# ------------------------------------------------------------------------------------------------ profile
def profile(case: Case, seconds: float, top: int = 15) -> dict:
    """cProfile of ``case.step`` for about ``seconds`` (top functions by own time and by cumulative time) and
    imperdl's per-step operator counts by backend, which say where an imperdl step's time goes."""
    import imperdl

    with policy_scope(case.policy):
        _prepare(case)
        case.step()
        once = _round(case, 1)
        n = max(1, int(seconds / max(once, 1e-7)))
        imperdl.reset_statistics()
        case.step()
        st = imperdl.statistics()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            case.step()
        prof.disable()
    text = {}
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        ps = pstats.Stats(prof, stream=buf)
        ps.sort_stats(key).print_stats(top)
        body = buf.getvalue()
        text[key] = _shorten_paths(body[body.find("   ncalls"):].rstrip())
    total = st["total"]
    by_origin = _time_by_origin(pstats.Stats(prof))
    copies = sum(v["count"] for v in st["copies"].values()) if st["copies"] else 0
    busiest = sorted(st["ops"].items(), key=lambda kv: -sum(kv[1].values()))[:12]
    ran_on = {where: sorted(op for op, c in st["ops"].items() if c.get(where)) for where in ("mxnet", "fallback")}
    return {"steps": n, "seconds_per_step": once, "tottime": text["tottime"], "cumulative": text["cumulative"],
            "ops_per_step": total, "time_by_origin": by_origin, "copies_per_step": copies,
            "syncs_per_step": st.get("syncs", 0),
            "busiest_ops": {k: v for k, v in busiest}, "ran_on_mxnet": ran_on["mxnet"],
            "fell_back": ran_on["fallback"]}


def _origin(filename: str, func: str) -> str:
    if filename.endswith("/imperdl/core/conv_numpy.py"):  # imperdl's NumPy kernels: compute, not overhead
        return "NumPy"
    if "/imperdl/" in filename:
        return "imperdl Python"
    if "/mxnet/" in filename:
        return "MXNet (its Python and the kernels it calls through ctypes)"
    if "/numpy/" in filename or (filename == "~" and "numpy" in func):
        return "NumPy"
    if "/torch/" in filename or "/autograd/" in filename:
        return "other libraries"
    return "other (interpreter, builtins, benchmark)"


def _time_by_origin(ps: pstats.Stats) -> dict:
    """Share of the profiled own time by where the code lives: is an imperdl step busy in imperdl's Python or in
    the kernels it calls?"""
    acc: dict = {}
    for (filename, _, func), (_, _, tottime, _, _) in ps.stats.items():
        key = _origin(filename, func)
        acc[key] = acc.get(key, 0.0) + tottime
    total = sum(acc.values()) or 1.0
    return {k: round(v / total, 3) for k, v in sorted(acc.items(), key=lambda kv: -kv[1])}


def _shorten_paths(text: str) -> str:
    """Site-packages and repository prefixes removed, so the profile reads (and diffs) the same on any machine."""
    for prefix in sorted({str(ROOT) + "/", *(p + "/" for p in _site_dirs())}, key=len, reverse=True):
        text = text.replace(prefix, "")
    return text


def _site_dirs() -> list[str]:
    import site
    import sysconfig

    dirs = list(getattr(site, "getsitepackages", lambda: [])())
    dirs += [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]]
    return [d for d in dirs if d]


# ------------------------------------------------------------------------------------------------ machine
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git() -> dict:
    def run(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = run("rev-parse", "--short", "HEAD")
    return {"commit": commit or None, "dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}


def thread_settings() -> dict:
    """Thread counts each library runs with in this process (their defaults, not tuned), the variables that set
    them, and which of the big libraries this process has loaded (each worker must hold only its own family)."""
    import sys

    torch = sys.modules.get("torch")
    info = {"loaded": sorted(m for m in ("mxnet", "torch", "autograd", "imperdl", "jax") if m in sys.modules),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS"),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
            "MXNET_ENGINE_TYPE": os.environ.get("MXNET_ENGINE_TYPE"),
            "MXNET_OMP_MAX_THREADS": os.environ.get("MXNET_OMP_MAX_THREADS"),
            "torch_threads": torch.get_num_threads() if torch is not None else None}
    if "jax" in sys.modules:
        info["jax"] = sys.modules["jax"].__version__
    if "imperdl" in sys.modules:
        from imperdl.core import allocator

        info["malloc"] = "imperdl's glibc thresholds" if allocator.applied else "glibc's defaults"
    try:
        import threadpoolctl

        info["threadpools"] = sorted({f"{p['internal_api']} ({p.get('prefix')}): {p['num_threads']}"
                                      for p in threadpoolctl.threadpool_info()})
    except Exception:  # threadpoolctl is optional
        info["threadpools"] = None
    return info


def machine() -> dict:
    """The machine and library versions (read from package metadata: this process imports none of the peers)."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "cores_usable": affinity, "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "numpy": onp.__version__, "imperdl": _version("imperdl"),
                     "mxnet": _version("mxnet") or _version("mxnet-cu112"), "torch": _version("torch"),
                     "autograd": _version("autograd")},
        "git": _git(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
