"""Updates applied by the KVStore instead of by every worker: ``set_optimizer`` and ``update_on_server``.

With ``set_optimizer(mx.optimizer.SGD(...))`` the servers hold the weights and run the optimizer: a worker
pushes gradients and pulls weights. In ``dist_sync`` the server adds the gradients of all workers and applies
one update per step (so set ``rescale_grad=1/world_size`` for the mean); in ``dist_async`` it applies each
worker's push as it arrives, which is the only way ``dist_async`` trains (it has no step at which a sum exists).
"""
from __future__ import annotations

import numpy

from . import tensors
from .collectives import _entries, _pull_into, group_keys
from .world import barrier, current

__all__ = ["set_optimizer", "update_on_server"]


def set_optimizer(optimizer, **kwargs) -> None:
    """Run ``optimizer`` (an ``mx.optimizer.Optimizer`` or its registered name plus keyword arguments) on the
    servers (on a local store: in this process). Rank 0's optimizer is the one the servers get; every worker must
    call it, before the first ``update_on_server`` (``dist_async``: before any push)."""
    w = current("set_optimizer()")
    if w.kv is None:
        raise RuntimeError("imperdl.distributed.set_optimizer: needs MXNet's KVStore, and MXNet cannot be imported")
    from .server_optimizer import KeyRouter, _optimizer

    if isinstance(optimizer, str):
        optimizer = _optimizer.create(optimizer, **kwargs)
    elif kwargs:
        raise TypeError("imperdl.distributed.set_optimizer: keyword arguments go with an optimizer name only")
    if not isinstance(optimizer, _optimizer.Optimizer):
        raise TypeError(f"imperdl.distributed.set_optimizer: expected an mx.optimizer.Optimizer or a name, got "
                        f"{type(optimizer).__name__}")
    with w.guard("set_optimizer (sending the optimizer to the servers)"):
        w.kv.set_optimizer(KeyRouter(optimizer))
    barrier()  # no worker pushes before every server has the updater
    w.optimizer = optimizer


def update_on_server(grads: dict, params: dict) -> dict:
    """Push ``grads``, let the store's optimizer update the weights, and return the new weights (a new dict of
    Arrays in ``params``'s dtypes). On the first call with these names the store's weights are set to rank 0's
    ``params`` (so the workers start identical); later calls ignore ``params``'s values."""
    w = current("update_on_server()")
    if w.optimizer is None:
        raise RuntimeError("imperdl.distributed.update_on_server: call set_optimizer(...) first (the store has no "
                           "optimizer to apply the gradients with)")
    p_entries = _entries(params, "update_on_server")
    g_entries = _entries(grads, "update_on_server")
    if [(n, c[0].shape) for n, c in p_entries] != [(n, c[0].shape) for n, c in g_entries]:
        raise ValueError("imperdl.distributed.update_on_server: grads and params must have the same names and "
                         f"shapes; got grads {[(n, c[0].shape) for n, c in g_entries]} and params "
                         f"{[(n, c[0].shape) for n, c in p_entries]}")
    wide = [n for n, c in p_entries + g_entries if c[0].dtype == numpy.float64]
    if w.distributed and wide:
        raise TypeError(
            f"imperdl.distributed.update_on_server: {sorted(set(wide))} are float64, and MXNet 1.9.1's parameter "
            "servers hold and update every value at float32 precision. Train float32 parameters on the servers, or "
            "keep float64 and use allreduce_gradients (exact for float64) with the update on every worker.")
    keys = group_keys(w, "update_on_server", "updated", p_entries, "update_on_server",
                      init_values=[tensors.to_mx(c[0]) for _, c in p_entries])
    push = [[tensors.to_send(g) for g in copies] for _, copies in g_entries]
    with w.guard(f"update_on_server (push of {len(keys)} gradients)"):
        w.kv.push(keys, push)
    outs = _pull_into(w, keys, p_entries, "update_on_server (pull of the weights)")
    result = {}
    for (name, copies), got in zip(p_entries, outs):
        arrays = [tensors.from_mx(o, a.shape, a.dtype, a.context) for a, o in zip(copies, got)]
        result[name] = arrays if isinstance(params[name], (list, tuple)) else arrays[0]
    return result
