"""Instructions per op of the tiny chain (50 elementwise ops on 10x10, forward+backward) under valgrind's callgrind.

Instruction counts do not depend on the machine's load, so this table compares libraries on a shared machine where
timings drift. The difference method: each implementation runs in its own process under
``valgrind --tool=callgrind`` twice, with ``N`` and ``2N`` chain steps after the same imports and warm-up; the
difference of the two totals over ``N * ops`` is the cost of one op, start-up and warm-up cancelling out.

    python bench/callgrind.py [--steps N] [--json PATH] [--only NAME ...]

Rows: imperdl under its default policy, ``only_numpy`` and ``prefer_mxnet``, ``imperdl.jit(grad(f))`` (default
policy), HIPS autograd, PyTorch eager (one thread), plain NumPy (the hand-written forward and backward) and JAX
eager (from ``bench/.venv-jax``, see run_all.py). A row whose library is missing is reported as skipped. Under
valgrind every program runs ~50x slower: a full table takes several minutes on an idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIG = {"shape": (10, 10), "ops": 50}
# row name -> (workload family that builds it, the case's name there)
ROWS = {
    "numpy (hand-written)": ("numpy", "numpy (hand-written)"),
    "imperdl default": ("imperdl", "imperdl default"),  # the default policy (cost_aware): the eager targets' row
    "imperdl only_numpy": ("imperdl", "imperdl only_numpy"),
    "imperdl prefer_mxnet": ("imperdl", "imperdl prefer_mxnet"),
    "imperdl jit": ("imperdl", "imperdl jit"),  # jit(grad(f)) under the default policy: the replayed plan
    "HIPS autograd": ("numpy", "HIPS autograd"),
    "PyTorch eager (1 thread)": ("torch", "PyTorch eager"),
    "JAX eager": ("jax", "JAX eager"),
}
TOTAL = re.compile(rb"^(?:summary|totals):\s*(\d+)", re.M)


def child(name: str, steps: int) -> int:
    """Build row ``name``'s chain step, warm it up, run it ``steps`` times (the measured process)."""
    sys.path.insert(0, str(HERE))
    import _harness as H
    import _wl_chain as C

    family, case_name = ROWS[name]
    if family == "jax":
        import jax

        jax.config.update("jax_platforms", "cpu")
        cases = C.jax_cases(CONFIG)
    else:
        if family == "torch":
            torch = H.load_torch()
            if torch is None:
                raise SystemExit("skip: torch is not installed")
            torch.set_num_threads(1)
        if family == "imperdl":
            from imperdl.core.backends import mxnet_backend

            mxnet_backend.load()
        cases = C.build(CONFIG, family)
    case = next(c for c in cases if c.name == case_name)
    if case.na:
        raise SystemExit(f"skip: {case.na}")
    H._prepare(case)
    for _ in range(3):
        case.step()
    for _ in range(steps):
        case.step()
    return 0


def instructions(python: str, name: str, steps: int, tmp: str) -> int:
    out = os.path.join(tmp, f"cg-{abs(hash(name))}-{steps}.out")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", MXNET_SUBGRAPH_VERBOSE="0")
    proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python, __file__,
                           "--child", name, str(steps)], env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        skip = [ln for ln in proc.stdout.splitlines() + proc.stderr.splitlines() if ln.startswith("skip:")]
        raise RuntimeError(skip[0] if skip else (proc.stderr.strip().splitlines() or ["failed"])[-1][:200])
    m = TOTAL.search(Path(out).read_bytes())
    if m is None:
        raise RuntimeError("no instruction total in callgrind's output")
    return int(m.group(1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10, help="N: chain steps of the shorter run (default 10)")
    ap.add_argument("--json", metavar="PATH", help="write the table as JSON")
    ap.add_argument("--only", nargs="+", choices=list(ROWS), metavar="NAME")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child[0], int(args.child[1]))
    jax_py = HERE / ".venv-jax" / "bin" / "python"
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="imperdl-callgrind-") as tmp:
        for name in args.only or ROWS:
            python = str(jax_py) if ROWS[name][0] == "jax" else sys.executable
            if ROWS[name][0] == "jax" and not jax_py.exists():
                rows.append({"name": name, "skipped": "no bench/.venv-jax (bench/run_all.py creates it)"})
            else:
                try:
                    one = instructions(python, name, args.steps, tmp)
                    two = instructions(python, name, 2 * args.steps, tmp)
                    rows.append({"name": name, "per_op": (two - one) / (args.steps * CONFIG["ops"]),
                                 "total_n": one, "total_2n": two})
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    rows.append({"name": name, "skipped": str(exc)})
            r = rows[-1]
            print(f"{name:<28}" + (f"{r['per_op']:>12,.0f} instructions/op" if "per_op" in r
                                   else f"  skipped: {r['skipped']}"), flush=True)
    result = {"steps": args.steps, "ops_per_step": CONFIG["ops"], "rows": rows,
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": round(time.perf_counter() - t0)}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
