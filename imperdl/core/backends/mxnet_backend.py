"""The MXNet backend adapter: importing it lazily, moving data, and hiding MXNet's environment quirks.

Every workaround for MXNet 1.9.1 that concerns the whole process lives here and in ``mxnet_compat`` (the import:
NumPy >= 1.24 and Python >= 3.12 shims, the engine banner, GPUs MXNet cannot run kernels on):
- the threaded engine makes each host->device copy cost ~80 us on CPU (NaiveEngine: ~13 us), so the CPU wheel
  defaults to NaiveEngine unless the user chose an engine;
- NumPy shape semantics (zero-size and 0-d arrays) must be switched on globally.

Zero-copy on CPU contexts (``share_from_host`` / ``share_to_host``): with the synchronous engine, an MXNet
array on ``cpu(0)`` and a NumPy array may share one buffer, so a transfer costs ~3-10 us whatever the size
(a copy of 1e6 floats costs ~150-300 us). The engine treats an Array's two copies as one value and replaces
the list on every write, so sharing is safe for it; what is not safe is MXNet rewriting an input in place
(oneDNN convolution in inference mode re-lays out its weight inside its own buffer), so a buffer the host can
see is marked (``_imperdl_host``) and such operators get a private copy (``Array._get``,
``Primitive.mx_rewrites``). Threaded engines are not shared with (a host write could race an MXNet op still
reading); ``IMPERDL_ZERO_COPY=0`` turns sharing off.
"""
from __future__ import annotations

import ctypes
import logging
import os

import numpy

from . import mxnet_compat

NAME = "MXNet"
_mx = None  # the mxnet module once loaded
_mnp = None  # mxnet.numpy
_failed: str | None = None
ndarray = None  # mxnet.numpy.ndarray once loaded
pending_seed: int | None = None  # the last seed given to imperdl.numpy.random.seed
# share buffers between NumPy and MXNet on cpu(0) (decided when MXNet loads: synchronous engine only)
ZERO_COPY = False

# dtypes MXNet stores; anything else (complex, int16, uint16+, object, str) stays on the host.
SUPPORTED = frozenset(
    numpy.dtype(t) for t in ("float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool")
)
# dtypes that can share a buffer (DLPack has no bool in NumPy 1.23)
SHAREABLE = SUPPORTED - {numpy.dtype(bool)}
# primitives whose MXNet implementation rewrites inputs in place -> those argument positions (read by
# ``Primitive.mx_rewrites``): oneDNN convolution in inference mode re-lays out its weight inside its own buffer
REWRITES_INPUTS = {"conv2d": (1,)}


def _is_cuda_build() -> bool:
    import importlib.metadata  # (here, not at the top: it costs ~15% of ``import imperdl.numpy``)

    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith("mxnet-cu"):
            return True
    return False


def load():
    """Import MXNet once; return the ``mxnet`` module, or None if it cannot be imported here."""
    global _mx, _mnp, _failed, ndarray, ZERO_COPY
    if _mx is not None or _failed is not None:
        return _mx
    os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
    if "MXNET_ENGINE_TYPE" not in os.environ and not _is_cuda_build():
        os.environ["MXNET_ENGINE_TYPE"] = "NaiveEngine"
    try:
        mxnet = mxnet_compat.import_mxnet()  # NumPy >= 1.24 / Python >= 3.12 shims, quiet engine start
    except Exception as e:  # depends on the install: imperdl runs on NumPy alone
        _failed = f"{type(e).__name__}: {e}"
        return None
    npx = mxnet.npx
    # set_np logs through logging.info, which installs a root handler when there is none: a user's later
    # logging.basicConfig() would then do nothing. Keep the root logger as the user left it.
    handlers = list(logging.root.handlers)
    npx.set_np(shape=True, array=False)
    logging.root.handlers[:] = handlers
    _mx, _mnp, ndarray = mxnet, mxnet.numpy, mxnet.numpy.ndarray
    if pending_seed is not None:  # imperdl.numpy.random.seed ran before MXNet loaded
        mxnet.random.seed(pending_seed)
    ZERO_COPY = os.environ.get("MXNET_ENGINE_TYPE") == "NaiveEngine" and os.environ.get("IMPERDL_ZERO_COPY") != "0"
    _init_sharing(mxnet)
    return _mx


def available() -> bool:
    return load() is not None


def unavailable_reason() -> str | None:
    load()
    return _failed


def require(feature: str):
    """The ``mxnet`` module, or ``MXNetUnavailableError`` saying in one line that ``feature`` needs MXNet."""
    mx = load()
    if mx is None:
        raise mxnet_compat.MXNetUnavailableError(
            f"{feature} needs MXNet, which cannot be imported here ({_failed}): {mxnet_compat.INSTALL_HINT}")
    return mx


_gpus: int | None = None


def num_gpus() -> int:
    """GPUs MXNet can run kernels on (0 without MXNet, and 0 with a warning for a GPU too new for MXNet)."""
    global _gpus
    if _gpus is None:
        mx = load()
        _gpus = 0 if mx is None else mxnet_compat.usable_gpus(mx)
    return _gpus


def from_host(x: numpy.ndarray, ctx):
    """Copy a host array into a new MXNet array on ``ctx`` (a ``imperdl.context.Context``)."""
    if x.dtype not in SUPPORTED:
        raise TypeError(f"MXNet cannot hold dtype {x.dtype}")
    out = _mnp.empty(x.shape, dtype=x.dtype, ctx=ctx.as_mxnet())
    if x.size:  # (ascontiguousarray would turn a 0-d array into shape (1,))
        out._sync_copyfrom(x if x.flags.c_contiguous else x.copy())
    return out


def to_host(x) -> numpy.ndarray:
    """A host copy of ``x`` (waits for pending work on it)."""
    return x.asnumpy()


def move(x, ctx):
    """The same data on another device."""
    return x.as_in_context(ctx.as_mxnet())


def context_of(x):
    from ...context import Context

    c = x.ctx
    return Context(c.device_type if c.device_type in ("cpu", "gpu") else "cpu", c.device_id)


# ------------------------------------------------------------------ zero-copy (CPU, synchronous engine)
_capsule_pointer = _capsule_rename = _capsule_keep = _from_dlpack = _get_data = _check = _Handle = None


def _init_sharing(mx) -> None:
    global _capsule_pointer, _capsule_rename, _capsule_keep, _from_dlpack, _get_data, _check, _Handle
    api = ctypes.pythonapi
    _capsule_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
        ("PyCapsule_GetPointer", api))
    _capsule_rename = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_char_p)(("PyCapsule_SetName", api))
    _capsule_keep = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_void_p)(
        ("PyCapsule_SetDestructor", api))
    _from_dlpack = mx.base._LIB.MXNDArrayFromDLPackEx
    _get_data = mx.base._LIB.MXNDArrayGetData
    _check = mx.base.check_call
    _Handle = mx.base.NDArrayHandle


def share_from_host(x: numpy.ndarray, ctx):
    """An MXNet array on ``ctx`` backed by ``x``'s own memory, or None where sharing is not possible or safe.

    MXNet takes a reference to ``x`` (released when its array dies). Declined: other contexts, dtypes DLPack
    or MXNet lack, non-contiguous, unaligned, read-only or empty arrays (the caller copies those).
    """
    if not ZERO_COPY or ctx.device_type != "cpu" or ctx.device_id != 0:
        return None
    flags = x.flags
    if not (flags.c_contiguous and flags.aligned and flags.writeable) or x.dtype not in SHAREABLE or not x.size:
        return None
    cap = x.__dlpack__()
    handle = _Handle()
    _check(_from_dlpack(ctypes.c_void_p(_capsule_pointer(cap, b"dltensor")), False, ctypes.byref(handle)))
    _capsule_rename(cap, b"used_dltensor")  # MXNet owns the tensor now: the capsule must not free it
    _capsule_keep(cap, None)
    out = ndarray(handle=handle)
    out._imperdl_host = True
    return out


class _HostView:
    """Keeps an MXNet array alive for as long as a NumPy array uses its memory (NumPy's ``base``)."""

    __slots__ = ("owner", "__array_interface__")

    def __init__(self, owner, pointer: int, shape: tuple, dtype: numpy.dtype):
        self.owner = owner
        self.__array_interface__ = {"data": (pointer, False), "shape": shape, "typestr": dtype.str, "version": 3}


def share_to_host(x, shape: tuple, dtype: numpy.dtype, ctx):
    """A writable NumPy array over ``x``'s memory (no copy), or None where sharing is not possible.

    MXNet hands out the pointer after turning a oneDNN-blocked layout back into the plain one (and waiting
    for that); ``x`` is marked as visible to the host so that operators rewriting inputs get a private copy.
    """
    if not ZERO_COPY or dtype not in SHAREABLE or ctx.device_type != "cpu" or ctx.device_id != 0:
        return None
    n = 1
    for s in shape:
        n *= s
    if not n:
        return None
    ptr = ctypes.c_void_p()
    _check(_get_data(x.handle, ctypes.byref(ptr)))
    if not ptr.value or ptr.value % dtype.alignment:
        return None
    x._imperdl_host = True
    return numpy.asarray(_HostView(x, ptr.value, shape, dtype))

