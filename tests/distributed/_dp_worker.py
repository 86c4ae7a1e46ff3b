"""A data-parallel test worker (run by tests/distributed/test_data_parallel.py under the launcher).

usage: _dp_worker.py OUTDIR sync|async|die
"""
import os
import signal
import sys

import numpy as onp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _dp_common as common  # noqa: E402

import imperdl.distributed as dist  # noqa: E402

out, mode = sys.argv[1], sys.argv[2]
data = common.digits()

if mode == "sync":
    dist.init("dist_sync")
    rank, size = dist.rank(), dist.world_size()
    for dtype in ("float32", "float64"):
        params = dist.broadcast_parameters(common.init_params(dtype, seed=rank))  # rank 0's values win
        seen = common.sgd_steps(data, params, dtype, rank, size, dist.allreduce_gradients)
        onp.savez(os.path.join(out, f"steps-{dtype}-rank{rank}.npz"),
                  **{f"{t}/{k}": v for t, p in enumerate(seen) for k, v in p.items()})
    # the Solver: 2 epochs with a checkpoint, then a new Solver resumes it for a third
    onp.random.seed(rank)  # different initial parameters on purpose: rank 0's are sent to everyone
    ckpt = os.path.join(out, "solver")
    common.solver(data, ckpt, 2, "dist_sync").train()
    s = common.solver(data, ckpt, 3, "dist_sync", resume=True)
    s.train()
    onp.savez(os.path.join(out, f"solver-rank{rank}.npz"), loss=onp.array(s.loss_history),
              **{k: v.asnumpy() for k, v in s.model.params.items()})
    # the MinPy form: a shuffling iterator seeded differently on each worker; rank 0's order is the one used
    onp.random.seed(rank)
    s = common.iter_solver(data, 1, "dist_sync")
    s.train()
    onp.savez(os.path.join(out, f"iter-rank{rank}.npz"), loss=onp.array(s.loss_history),
              **{k: v.asnumpy() for k, v in s.model.params.items()})
    # a non-finite loss on one worker only stops every worker at the same step
    from imperdl.nn import Solver
    from imperdl.nn.solver import NonFiniteLossError

    s = Solver(common.NaNAt(step=4 if rank == 1 else None), data, batch_size=50, num_epochs=1, seed=3,
               verbose=False, num_train_samples=100, optim_config={"learning_rate": 0.1}, kvstore="dist_sync")
    try:
        s.train()
        stopped = -1
    except NonFiniteLossError as e:
        stopped = e.step
    onp.savez(os.path.join(out, f"nan-rank{rank}.npz"), step=stopped, loss=onp.array(s.loss_history),
              **{k: v.asnumpy() for k, v in s.model.params.items()})
elif mode == "async":
    dist.init("dist_async")
    rank, size = dist.rank(), dist.world_size()
    dist.set_optimizer("sgd", learning_rate=0.5)
    from imperdl.core import Array, grad_and_loss

    params = common.init_params("float32", seed=0)
    X, y = data["X_train"], data["y_train"]
    losses = []
    for t in range(80):
        rows = onp.random.RandomState(1000 * rank + t).choice(X.shape[0], 32, replace=False)
        grads, loss = grad_and_loss(common.loss_fn)(params, Array(X[rows]), Array(y[rows]))
        params = dist.update_on_server(grads, params)
        losses.append(float(loss))
    full = float(common.loss_fn(params, Array(X), Array(y)))
    try:  # the servers would hold float64 weights at float32 precision: refused before anything is sent
        dist.update_on_server(*[{k: v.astype("float64") for k, v in params.items()}] * 2)
        refused = ""
    except TypeError as e:
        refused = str(e)
    print(f"rank {rank} first loss {losses[0]:.4f} final full-data loss {full:.4f}", flush=True)
    onp.savez(os.path.join(out, f"async-rank{rank}.npz"), first=losses[0], final=full, refused=refused)
elif mode == "die":
    dist.init("dist_sync")
    rank = dist.rank()
    params = dist.broadcast_parameters(common.init_params("float32", seed=0))
    for t in range(1000):
        if rank == 1 and t == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        grads = {k: v * 0 + 1 for k, v in params.items()}
        dist.allreduce_gradients(grads)
    print("rank", rank, "finished: the dead peer was not noticed", flush=True)
