"""Thread pools: a small-array variational-inference loop under the user's OpenMP settings, imperdl against autograd.

Each configuration runs in its own process (thread pools are per process and fixed at start), configurations
interleaved, ``--repeats`` times; the median loop time (imports excluded) and the median context switches of the
process (voluntary + involuntary, all threads) are printed. ``imperdl prefer_mxnet, before`` sets
``IMPERDL_MXNET_THREADS`` to the user's ``OMP_NUM_THREADS``: what imperdl did before it sized its own OpenMP team.

The program: black-box stochastic variational inference of a 2-D density (a diagonal Gaussian fitted by
reparameterised samples, Adam-like updates), some 60 operations on (samples, 2) arrays per step.

    python bench/threads.py [--iters 30] [--samples 2000] [--repeats 3] [--busy]

``--busy`` keeps one core busy with a spinning process meanwhile, as other load on a shared machine does.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

_PROGRAM = r"""
import json, resource, sys, time
lib, policy, iters, samples = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if lib == "autograd":
    import autograd.numpy as np
    import autograd.numpy.random as npr
    from autograd import grad
else:
    import imperdl
    import imperdl.numpy as np
    import imperdl.numpy.random as npr
    from imperdl import grad
    from imperdl.core.backends import mxnet_backend
    mxnet_backend.load()
    if policy == "prefer_mxnet":
        imperdl.set_global_policy(imperdl.PreferMXNetPolicy())

LOG_2PI = float(np.log(2 * np.pi))

def log_normal(x, mu, log_sigma):
    return -0.5 * ((x - mu) / np.exp(log_sigma)) ** 2 - log_sigma - 0.5 * LOG_2PI

def log_density(z):
    mu, log_sigma = z[:, 0], z[:, 1]
    return log_normal(log_sigma, 0.0, np.log(1.35)) + log_normal(mu, 0.0, log_sigma)

rs = npr.RandomState(0)

def objective(params):
    mean, log_std = params[:2], params[2:]
    z = rs.randn(samples, 2) * np.exp(log_std) + mean
    return -(np.sum(log_std) + np.mean(log_density(z)))

g = grad(objective)
params = np.concatenate([-np.ones(2), -5 * np.ones(2)])
m, v = np.zeros(4), np.zeros(4)
before = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
for i in range(iters):
    d = g(params)
    m = 0.9 * m + 0.1 * d
    v = 0.999 * v + 0.001 * d ** 2
    params = params - 0.1 * (m / (1 - 0.9 ** (i + 1))) / (np.sqrt(v / (1 - 0.999 ** (i + 1))) + 1e-8)
seconds = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF)
switches = (after.ru_nvcsw - before.ru_nvcsw) + (after.ru_nivcsw - before.ru_nivcsw)
print(json.dumps({"seconds": seconds, "switches": switches, "loss": float(objective(params))}))
"""

# (label, library, policy, environment changes; None removes the variable)
CONFIGS = [
    ("autograd", "autograd", "-", {"OMP_NUM_THREADS": None}),
    ("autograd", "autograd", "-", {"OMP_NUM_THREADS": "{cores}"}),
    ("imperdl default policy", "imperdl", "default", {"OMP_NUM_THREADS": None}),
    ("imperdl default policy", "imperdl", "default", {"OMP_NUM_THREADS": "{cores}"}),
    ("imperdl prefer_mxnet", "imperdl", "prefer_mxnet", {"OMP_NUM_THREADS": None}),
    ("imperdl prefer_mxnet", "imperdl", "prefer_mxnet", {"OMP_NUM_THREADS": "{cores}"}),
    ("imperdl prefer_mxnet, before", "imperdl", "prefer_mxnet",
     {"OMP_NUM_THREADS": "{cores}", "IMPERDL_MXNET_THREADS": "{cores}"}),
]
VARIABLES = ("OMP_NUM_THREADS", "IMPERDL_MXNET_THREADS", "MXNET_OMP_MAX_THREADS", "OMP_WAIT_POLICY")


def run_one(lib: str, policy: str, env_changes: dict, iters: int, samples: int, cores: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    for k, v in env_changes.items():
        if v is not None:
            env[k] = v.format(cores=cores)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-c", _PROGRAM, lib, policy, str(iters), str(samples)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    if proc.returncode != 0:
        return {"error": (err.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--busy", action="store_true", help="keep one core busy meanwhile")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    burner = None
    if args.busy:
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
    results: dict = {i: [] for i in range(len(CONFIGS))}
    try:
        for _ in range(args.repeats):
            for i, (_, lib, policy, changes) in enumerate(CONFIGS):
                results[i].append(run_one(lib, policy, changes, args.iters, args.samples, cores))
    finally:
        if burner is not None:
            os.killpg(burner.pid, 9)
            burner.wait()
    print(f"{cores} cores, load {os.getloadavg()}, {args.iters} steps of {args.samples} samples, "
          f"median of {args.repeats}{', one core kept busy' if args.busy else ''}")
    print(f"{'program':<32}{'OMP_NUM_THREADS':>16}{'seconds':>10}{'switches':>10}  loss")
    rows = []
    for i, (label, _, _, changes) in enumerate(CONFIGS):
        ok = [r for r in results[i] if "seconds" in r]
        omp = changes.get("OMP_NUM_THREADS")
        omp = "unset" if omp is None else omp.format(cores=cores)
        if not ok:
            print(f"{label:<32}{omp:>16}  FAILED: {results[i][0]['error']}")
            continue
        sec = statistics.median(r["seconds"] for r in ok)
        sw = statistics.median(r["switches"] for r in ok)
        rows.append({"program": label, "OMP_NUM_THREADS": omp, "seconds": sec, "switches": sw,
                     "runs": [r["seconds"] for r in ok]})
        print(f"{label:<32}{omp:>16}{sec:>10.3f}{sw:>10.0f}  {ok[0]['loss']:.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cores": cores, "busy": args.busy, "iters": args.iters, "samples": args.samples,
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
