"""Collective operations through the KVStore: broadcast from rank 0 and the data-parallel gradient sum.

Every worker must make the same calls in the same order with dicts of the same names, shapes and dtypes (that is
what makes the keys agree: see ``keys.py``; the first call with a new set of tensors checks it on all workers).
A dict value may also be a list of Arrays, one per context of this process (``local``/``device`` stores, or
``dist_device_sync``): they are summed too and every copy receives the result on its own context.

Large tensors: MXNet splits an array of more than ``MXNET_KVSTORE_BIGARRAY_BOUND`` elements (default 1,000,000)
into equal parts, one per server, so with ``-s S`` servers the traffic of big layers is spread over S processes
(and machines); smaller arrays go whole to one server chosen from the key.

float64: MXNet 1.9.1's parameter servers keep every value at float32 precision (measured: ``1 + 1e-12`` pushed or
initialised as float64 comes back as ``1.0``). So float64 tensors never travel as float64 values: their bytes go
as 16-bit words carried by float32 values (integers below 2**16, exact), broadcasts directly, and gradient sums as
a gather (each worker writes its words into its own row of zeros; the server's sum of one non-zero and zeros is
exact) followed by a float64 sum in rank order on every worker. Exact and identical on all workers, at twice the
bytes per worker and ``world_size`` times the bytes pulled.
"""
from __future__ import annotations

import numpy

from imperdl.context import cpu
from imperdl.core import Array
from imperdl.core.backends import mxnet_backend as mxb

from . import tensors
from .keys import fingerprint
from .world import World, current

__all__ = ["allreduce_gradients", "broadcast_parameters", "broadcast_bytes", "group_keys"]

_OPS = ("mean", "sum")


def _entries(tensors_: dict, what: str) -> list[tuple[str, list[Array]]]:
    """The dict's entries in sorted-name order, each as a list of per-context copies."""
    if not isinstance(tensors_, dict):
        raise TypeError(f"imperdl.distributed.{what}: expected a dict name -> array, got {type(tensors_).__name__}")
    out = []
    for name in sorted(tensors_, key=str):
        if not isinstance(name, str):
            raise TypeError(f"imperdl.distributed.{what}: keys must be strings, got {name!r}")
        v = tensors_[name]
        copies = list(v) if isinstance(v, (list, tuple)) else [v]
        if not copies:
            raise ValueError(f"imperdl.distributed.{what}: {name!r} is an empty list")
        copies = [tensors.as_array(c, name, what) for c in copies]
        first = copies[0]
        for c in copies[1:]:
            if c.shape != first.shape or c.dtype != first.dtype:
                raise ValueError(f"imperdl.distributed.{what}: the copies of {name!r} differ: {first.shape} "
                                 f"{first.dtype} vs {c.shape} {c.dtype}")
        out.append((name, copies))
    return out


def _describe(purpose: str, entries) -> str:
    return purpose + "|" + ";".join(f"{n}:{tuple(c[0].shape)}:{c[0].dtype}:{len(c)}" for n, c in entries)


def _check_agreement(w: World, description: str, what: str) -> None:
    """All workers are about to use the same keys for the same tensors, or every worker raises."""
    if not w.distributed or w.size == 1:
        return
    mine = fingerprint(description)  # 3 integers below 2**16: exact in float32, the precision the servers keep
    if w.sync:  # one-hot blocks summed: every worker sees every fingerprint
        key = w.keys.take("summed", 1)[0]
        mx = mxb.load()
        with w.guard(f"{what} (checking that every worker passes the same tensors)"):
            w.kv.init(key, mx.nd.zeros((w.size, 3), dtype="float32"))
            vec = numpy.zeros((w.size, 3), dtype=numpy.float32)
            vec[w.rank] = mine
            out = mx.nd.zeros((w.size, 3), dtype="float32")
            w.kv.push(key, mx.nd.array(vec, dtype="float32"))
            w.kv.pull(key, out=out)
            seen = out.asnumpy()
        if (seen != mine).any():
            ranks = [r for r in range(w.size) if (seen[r] != mine).any()]
            raise RuntimeError(
                f"imperdl.distributed.{what}: workers disagree on the tensors: rank {w.rank} and rank(s) {ranks} "
                f"passed different names, shapes, dtypes or call orders. Rank {w.rank} has "
                f"{description[:400]!r}. Every worker must pass dicts with the same entries, in the same calls.")
    else:  # dist_async cannot sum: compare with rank 0's fingerprint
        got = broadcast_bytes(numpy.asarray(mine, dtype=numpy.float32).tobytes())
        if (numpy.frombuffer(got, dtype=numpy.float32) != mine).any():
            raise RuntimeError(
                f"imperdl.distributed.{what}: rank {w.rank} passes other tensors than rank 0 (names, shapes, "
                f"dtypes or call order): {description[:400]!r}")


def group_keys(w: World, purpose: str, kind: str, entries, what: str, init_values=None) -> list[int]:
    """The keys of this set of tensors, made (checked on every worker, then initialised) on first use."""
    description = _describe(purpose, entries)
    keys = w.groups.get(description)
    if keys is not None:
        return keys
    _check_agreement(w, description, what)
    keys = w.keys.take(kind, len(entries))
    if w.kv is not None:
        mx = mxb.load()
        if init_values is None:
            values = [mx.nd.zeros(c[0].shape or (1,), dtype=c[0].dtype) for _, c in entries]
        else:
            values = init_values
        with w.guard(f"{what} (initialising {len(keys)} keys on the servers)"):
            w.kv.init(keys, values)
    w.groups[description] = keys
    return keys


def _pull_into(w: World, keys, entries, what: str, push=None) -> list[list]:
    """Push ``push`` (if given) then pull every key into fresh buffers shaped like the entries."""
    outs = [[tensors.empty_like(a) for a in copies] for _, copies in entries]
    nbytes = sum(c[0].nbytes for _, c in entries)
    with w.guard(f"{what} ({len(keys)} tensors, {nbytes} bytes)"):
        if push is not None:  # (not kv.pushpull: on CPU it writes the sum into the pushed arrays, the caller's)
            w.kv.push(keys, push)
        w.kv.pull(keys, out=outs)
        for copies in outs:
            for o in copies:
                o.wait_to_read()
    return outs


def _host_sum(copies) -> numpy.ndarray:
    """The float64 sum of a tensor's per-context copies, on the host."""
    total = copies[0].asnumpy()
    for c in copies[1:]:
        total = total + c.asnumpy()
    return total


def _exact_f64(w: World, entries, op: str) -> list[list[Array]]:
    """The float64 entries summed over the workers exactly: a gather of their bytes, then a sum in rank order."""
    mx = mxb.load()
    local = [_host_sum(copies) for _, copies in entries]
    words = [_pack(x.tobytes()) for x in local]
    shapes = [(w.size, v.size) for v in words]
    keys = group_keys(w, "allreduce_gradients/float64", "summed", entries, "allreduce_gradients",
                      init_values=[mx.nd.zeros(sh, dtype="float32") for sh in shapes])
    push = []
    for v, sh in zip(words, shapes):
        block = numpy.zeros(sh, dtype=numpy.float32)
        block[w.rank] = v
        push.append(mx.nd.array(block, dtype="float32"))
    outs = [mx.nd.empty(sh, dtype="float32") for sh in shapes]
    with w.guard(f"allreduce_gradients ({len(keys)} float64 tensors, gathered exactly)"):
        w.kv.push(keys, push)
        w.kv.pull(keys, out=outs)
        rows = [o.asnumpy() for o in outs]
    result = []
    for (_, copies), x, got in zip(entries, local, rows):
        parts = [numpy.frombuffer(_unpack(r, x.nbytes), dtype=numpy.float64) for r in got]
        total = parts[0].copy()
        for part in parts[1:]:
            total += part
        total = total.reshape(x.shape)
        if op == "mean" and w.size * len(copies) > 1:
            total = total / (w.size * len(copies))
        result.append([_on(total, c.context) for c in copies])
    return result


def _on(x: numpy.ndarray, ctx) -> Array:
    """``x`` as an Array on ``ctx`` (a host array for cpu(0), an MXNet copy on any other context)."""
    if ctx == cpu():
        return Array(x)
    mx = mxb.load()
    held = mx.nd.array(x.reshape(x.shape or (1,)), ctx=ctx.as_mxnet(), dtype=x.dtype)
    return tensors.from_mx(held, x.shape, x.dtype, ctx)


def _one_process(entries, listed: set, op: str) -> dict:
    out = {}
    for name, copies in entries:
        if name not in listed:
            out[name] = copies[0]
            continue
        total = copies[0]
        for c in copies[1:]:
            total = total + c
        if op == "mean" and len(copies) > 1:
            total = (total / len(copies)).astype(copies[0].dtype)
        out[name] = [total] * len(copies)
    return out


def allreduce_gradients(grads: dict, op: str = "mean") -> dict:
    """The sum (``op='sum'``) or mean (``op='mean'``, the default) of ``grads`` over all workers (and over the
    per-context copies of a list value), as a new dict of Arrays in the same dtypes; ``grads`` is not modified.

    The mean is what data parallelism needs when each worker's loss is a mean over its own equal-sized shard:
    the mean of the workers' gradients is then the gradient of the mean loss over the concatenated batch. Every
    worker receives the same bits (one server adds, everyone pulls that sum).
    """
    if op not in _OPS:
        raise ValueError(f"imperdl.distributed.allreduce_gradients: op must be 'mean' or 'sum', got {op!r}")
    w = current("allreduce_gradients()")
    entries = _entries(grads, "allreduce_gradients")
    if w.distributed and not w.sync:
        raise RuntimeError("imperdl.distributed.allreduce_gradients: a 'dist_async' store has no step at which a sum "
                           "of all workers exists; train with set_optimizer(...) and update_on_server(grads, params)")
    listed = {n for n, v in grads.items() if isinstance(v, (list, tuple))}
    if w.size == 1 and (w.kv is None or not listed):  # a world of one process and one copy: nothing to add
        return _one_process(entries, listed, op)
    exact = [e for e in entries if w.distributed and e[1][0].dtype == numpy.float64]
    result = {}
    if exact:  # (not through the servers' float32 arithmetic: see the module docstring)
        for (name, _), arrays in zip(exact, _exact_f64(w, exact, op)):
            result[name] = arrays if name in listed else arrays[0]
        entries = [e for e in entries if e[0] not in result]
        if not entries:
            return result
    keys = group_keys(w, "allreduce_gradients", "summed", entries, "allreduce_gradients")
    push = [[tensors.to_send(a) for a in copies] for _, copies in entries]
    outs = _pull_into(w, keys, entries, "allreduce_gradients", push)
    for (name, copies), got in zip(entries, outs):
        n = w.size * len(copies)
        arrays = []
        for a, o in zip(copies, got):
            if op == "mean" and n > 1:
                with w.guard("allreduce_gradients (mean)"):
                    o /= n
            arrays.append(tensors.from_mx(o, a.shape, a.dtype, a.context))
        result[name] = arrays if name in listed else arrays[0]
    return result


def broadcast_parameters(params: dict) -> dict:
    """Give every worker rank 0's values: the dict's entries are replaced (in place) by Arrays holding rank 0's
    values, and the dict is returned. A no-op in a world of one. Takes fresh keys each call (call it at the
    start of training and after a resume, not every step)."""
    w = current("broadcast_parameters()")
    entries = _entries(params, "broadcast_parameters")
    if not w.distributed:
        return params
    _check_agreement(w, _describe("broadcast_parameters", entries), "broadcast_parameters")
    keys = w.keys.take("once", len(entries))
    mx = mxb.load()
    # float64 as its bytes in float32-carried words (the servers keep float32 precision: see the module docstring)
    hosts = [c[0].asnumpy() if c[0].dtype == numpy.float64 else None for _, c in entries]
    values = [tensors.to_mx(c[0]) if h is None else mx.nd.array(_pack(h.tobytes()), dtype="float32")
              for (_, c), h in zip(entries, hosts)]
    with w.guard(f"broadcast_parameters ({len(keys)} tensors from rank 0)"):
        w.kv.init(keys, values)  # only rank 0's values reach the servers; then a barrier
        outs = [[tensors.empty_like(a) for a in c] if h is None else [mx.nd.empty(v.shape, dtype="float32")]
                for (_, c), h, v in zip(entries, hosts, values)]
        w.kv.pull(keys, out=outs)
        for copies in outs:
            for o in copies:
                o.wait_to_read()
    for (name, copies), h, got in zip(entries, hosts, outs):
        if h is None:
            arrays = [tensors.from_mx(o, a.shape, a.dtype, a.context) for a, o in zip(copies, got)]
        else:
            x = numpy.frombuffer(_unpack(got[0].asnumpy(), h.nbytes), dtype=numpy.float64).reshape(h.shape)
            arrays = [_on(x.copy(), a.context) for a in copies]
        params[name] = arrays if isinstance(params[name], (list, tuple)) else arrays[0]
    return params


def _pack(data: bytes) -> numpy.ndarray:
    """Bytes as float32 values, 2 bytes each (integers below 2**16: exact in every dtype the store keeps)."""
    return numpy.frombuffer(data + b"\0" * (len(data) % 2), dtype="<u2").astype(numpy.float32)


def _unpack(values: numpy.ndarray, n: int) -> bytes:
    return values.astype("<u2").tobytes()[:n]


def broadcast_bytes(data: bytes | None) -> bytes:
    """Rank 0's ``data`` on every worker (the others may pass None); for small states such as a Solver's."""
    w = current("broadcast_bytes()")
    if not w.distributed:
        if data is None:
            raise ValueError("imperdl.distributed.broadcast_bytes: rank 0 must pass the bytes")
        return data
    if w.rank == 0 and data is None:
        raise ValueError("imperdl.distributed.broadcast_bytes: rank 0 must pass the bytes")
    mx = mxb.load()
    k_len, k_data = w.keys.take("once", 2)
    with w.guard("broadcast_bytes (length)"):
        n = len(data) if w.rank == 0 else 0
        w.kv.init(k_len, mx.nd.array([n >> 16, n & 0xFFFF], dtype="float32"))  # (exact below 2**16 each)
        n_out = mx.nd.zeros((2,), dtype="float32")
        w.kv.pull(k_len, out=n_out)
        hi, lo = (int(v) for v in n_out.asnumpy())
        n = (hi << 16) | lo
    size = max(-(-n // 2), 1)
    packed = _pack(data) if w.rank == 0 else numpy.zeros(size, dtype=numpy.float32)
    with w.guard(f"broadcast_bytes ({n} bytes)"):
        w.kv.init(k_data, mx.nd.array(numpy.resize(packed, size), dtype="float32"))
        out = mx.nd.zeros((size,), dtype="float32")
        w.kv.pull(k_data, out=out)
        got = out.asnumpy()
    return _unpack(got, n)
