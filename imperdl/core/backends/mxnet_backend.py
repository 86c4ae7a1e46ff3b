"""The MXNet backend adapter: importing it lazily, moving data, and hiding MXNet's environment quirks.

Every workaround for MXNet 1.9.1 that concerns the whole process lives here, in one place:
- NumPy >= 1.24 removed ``numpy.bool``, which MXNet's Python code still uses;
- the threaded engine makes each host->device copy cost ~80 us on CPU (NaiveEngine: ~13 us), so the CPU wheel
  defaults to NaiveEngine unless the user chose an engine;
- NumPy shape semantics (zero-size and 0-d arrays) must be switched on globally.
"""
from __future__ import annotations

import importlib.metadata
import os
import warnings

import numpy

NAME = "MXNet"
_mx = None  # the mxnet module once loaded
_mnp = None  # mxnet.numpy
_failed: str | None = None
ndarray = None  # mxnet.numpy.ndarray once loaded

# dtypes MXNet stores; anything else (complex, int16, uint16+, object, str) stays on the host.
SUPPORTED = frozenset(
    numpy.dtype(t) for t in ("float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool")
)


def _is_cuda_build() -> bool:
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith("mxnet-cu"):
            return True
    return False


def load():
    """Import MXNet once; return the ``mxnet`` module, or None if it cannot be imported here."""
    global _mx, _mnp, _failed, ndarray
    if _mx is not None or _failed is not None:
        return _mx
    if "bool" not in vars(numpy):  # (hasattr would trip NumPy 1.23's DeprecationWarning)
        numpy.bool = bool  # MXNet 1.9.1 uses the alias NumPy 1.24 removed
    os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
    if "MXNET_ENGINE_TYPE" not in os.environ and not _is_cuda_build():
        os.environ["MXNET_ENGINE_TYPE"] = "NaiveEngine"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mxnet
            from mxnet import npx
    except Exception as e:  # pragma: no cover - depends on the install
        _failed = f"{type(e).__name__}: {e}"
        return None
    npx.set_np(shape=True, array=False)
    _mx, _mnp, ndarray = mxnet, mxnet.numpy, mxnet.numpy.ndarray
    return _mx


def available() -> bool:
    return load() is not None


def unavailable_reason() -> str | None:
    load()
    return _failed


def num_gpus() -> int:
    mx = load()
    if mx is None:
        return 0
    try:
        return mx.context.num_gpus()
    except Exception:  # a CUDA build without a usable driver
        return 0


def from_host(x: numpy.ndarray, ctx):
    """Copy a host array into a new MXNet array on ``ctx`` (a ``imperdl.context.Context``)."""
    if x.dtype not in SUPPORTED:
        raise TypeError(f"MXNet cannot hold dtype {x.dtype}")
    out = _mnp.empty(x.shape, dtype=x.dtype, ctx=ctx.as_mxnet())
    if x.size:  # (ascontiguousarray would turn a 0-d array into shape (1,))
        out._sync_copyfrom(x if x.flags.c_contiguous else x.copy())
    return out


def to_host(x) -> numpy.ndarray:
    return x.asnumpy()


def move(x, ctx):
    """The same data on another device."""
    return x.as_in_context(ctx.as_mxnet())


def context_of(x):
    from ...context import Context

    c = x.ctx
    return Context(c.device_type if c.device_type in ("cpu", "gpu") else "cpu", c.device_id)
