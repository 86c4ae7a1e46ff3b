"""Data-parallel training on loopback: step time and bytes moved per step, 1 process vs 1, 2 and 4 workers.

    python bench/distributed.py                  # hidden 512, 30 timed steps per run (~1-2 min on 2 cores)
    python bench/distributed.py --quick          # 10 timed steps
    python bench/distributed.py --hidden 2048 --workers 1,2

Every run trains the same MLP (64 -> hidden -> 10, float32, global batch 256 split as rows rank::N) with plain SGD
through ``imperdl.distributed.allreduce_gradients``. "one process" is the script under plain ``python`` (a world of
one: the sum is skipped); the others run under ``imperdl.launch`` with one server. Per step a worker pushes its
gradients (G bytes) and pulls the sum (G bytes); the server receives N*G and sends N*G. On loopback all of it
shares this machine's cores, so the measured overhead is mostly CPU (serialisation, ps-lite's threads, the
server's sum), not bandwidth; the last table predicts the transfer time on a real network from G alone.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time

import numpy as onp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "BENCH-RESULT "


def worker(hidden: int, steps: int, warmup: int, split: bool) -> None:
    import imperdl.distributed as dist
    from imperdl.core import Array, grad_and_loss
    from imperdl.nn import layers

    dist.init("dist_sync")
    rank, size = dist.rank(), dist.world_size()
    rs = onp.random.RandomState(0)
    params = {"W1": Array((rs.randn(64, hidden) * 0.05).astype("float32")), "b1": Array(onp.zeros(hidden, "f4")),
              "W2": Array((rs.randn(hidden, 10) * 0.05).astype("float32")), "b2": Array(onp.zeros(10, "f4"))}
    X = rs.randn(256, 64).astype("float32")
    y = rs.randint(0, 10, 256)
    Xs, ys = Array(X[rank::size]), Array(y[rank::size])

    def loss_fn(p, X, y):
        h = layers.relu(layers.affine(X, p["W1"], p["b1"]))
        return layers.softmax_loss(layers.affine(h, p["W2"], p["b2"]), y)

    comm = wait = 0.0
    for t in range(warmup + steps):
        if t == warmup:
            dist.barrier()
            start, comm, wait = time.perf_counter(), 0.0, 0.0
        grads, _ = grad_and_loss(loss_fn)(params, Xs, ys)
        c0 = time.perf_counter()
        if split and size > 1:  # wait for the slowest worker first, so the allreduce time is the transfer alone
            dist.barrier()
            c1 = time.perf_counter()
            wait += c1 - c0
            c0 = c1
        grads = dist.allreduce_gradients(grads)
        comm += time.perf_counter() - c0
        params = {k: params[k] - 0.1 * grads[k] for k in params}
    params["W1"].asnumpy()
    elapsed = time.perf_counter() - start
    nbytes = sum(v.nbytes for v in params.values())
    if rank == 0:
        print(MARK + json.dumps({"workers": size, "launched": bool(os.environ.get("IMPERDL_LAUNCH")),
                                 "step_ms": 1e3 * elapsed / steps, "allreduce_ms": 1e3 * comm / steps,
                                 "wait_ms": 1e3 * wait / steps,
                                 "grad_bytes": nbytes}), flush=True)


def _parse(text: str) -> dict:
    for line in text.splitlines():
        i = line.find(MARK)
        if i >= 0:
            return json.loads(line[i + len(MARK):])
    raise RuntimeError(f"no result in the run's output:\n{text[-2000:]}")


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--quick", action="store_true", help="10 timed steps")
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--split", action="store_true",
                   help="a barrier before each allreduce: shows waiting for the slowest worker apart from the transfer")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    steps = 10 if args.quick else args.steps
    if args.worker:
        worker(args.hidden, steps, warmup=3, split=args.split)
        return []

    import subprocess

    from imperdl.launch import run

    env = {"PYTHONPATH": os.pathsep.join(x for x in (ROOT, os.environ.get("PYTHONPATH", "")) if x),
           "OMP_NUM_THREADS": "1"}
    cmd = [os.path.abspath(__file__), "--worker", "--hidden", str(args.hidden), "--steps", str(steps)]
    if args.split:
        cmd.append("--split")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_") and k != "IMPERDL_LAUNCH"}
    one = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, timeout=600, env={**clean, **env})
    results = [{**_parse(one.stdout + one.stderr), "label": "one process"}]
    for n in (int(x) for x in args.workers.split(",")):
        out = io.StringIO()
        rc = run(cmd, workers=n, servers=1, timeout=600, output=out, env=env)
        if rc != 0:
            raise RuntimeError(f"{n} workers: exit status {rc}\n{out.getvalue()[-2000:]}")
        results.append({**_parse(out.getvalue()), "label": f"{n} worker(s), loopback"})

    base = results[0]["step_ms"]
    g = results[0]["grad_bytes"]
    print(f"MLP 64-{args.hidden}-10 float32, global batch 256, gradients G = {g / 1e3:.1f} kB per step\n")
    print(f"{'run':24s} {'step ms':>9s} {'wait ms':>8s} {'allreduce ms':>13s} {'overhead ms':>12s} "
          f"{'bytes/step/worker':>18s} {'server bytes/step':>18s}")
    for r in results:
        n = r["workers"] if r["launched"] and r["workers"] > 1 else 0  # (a world of one sends nothing)
        print(f"{r['label']:24s} {r['step_ms']:9.2f} {r['wait_ms']:8.2f} {r['allreduce_ms']:13.2f} "
              f"{r['step_ms'] - base:12.2f} {2 * g if n else 0:18d} {2 * n * g:18d}")
    print("\nPredicted transfer time per step on a real network (one server; with S servers, big arrays split "
          "S ways: divide the server column by S):")
    print(f"{'gradients':>12s} {'workers':>8s} {'link':>10s} {'worker ms':>10s} {'server ms':>10s}")
    for size, name in ((g, "this MLP"), (25.6e6 * 4, "ResNet-50")):
        for n in (2, 8):
            for gbit in (1, 10, 25):
                bw = gbit * 1e9 / 8
                print(f"{name:>12s} {n:8d} {gbit:7d} Gb {1e3 * 2 * size / bw:10.2f} {1e3 * 2 * n * size / bw:10.2f}")
    return results


if __name__ == "__main__":
    main()
