"""The MXNet backend adapter: importing it lazily, moving data, and hiding MXNet's environment quirks.

Every workaround for MXNet 1.9.1 that concerns the whole process lives here and in ``mxnet_compat`` (the import:
NumPy >= 1.24 and Python >= 3.12 shims, the engine banner, GPUs MXNet cannot run kernels on):
- the threaded engine makes each host->device copy cost ~80 us on CPU (NaiveEngine: ~13 us), so the CPU wheel
  defaults to NaiveEngine unless the user chose an engine;
- MXNet's engine is created once per process, from ``MXNET_ENGINE_TYPE`` as it is at its first use: if the
  user's own MXNet code ran before imperdl loaded, the variable says nothing about the engine that runs. So
  imperdl asks the engine itself (``engine_type``: the dynamic type of ``mxnet::Engine::Get()``, read through
  the C++ RTTI that libmxnet exports) and decides zero-copy from that, never from the variable;
- NumPy shape semantics (zero-size and 0-d arrays) are MXNet state of the calling thread, which the user's own
  Gluon code reads too (and ``npx.set_np`` would also reset the user's array semantics: a Gluon net of the
  ``mx.np`` flavour then fails its deferred initialisation). imperdl never sets them for the process: every
  place that runs MXNet operators for imperdl does so inside ``section``, which switches them on and restores
  the caller's state afterwards (one C call each way, ~0.2-0.5 us) and lets one thread at a time in. Reading
  shapes or copying to the host does not depend on them.
- MXNet's OpenMP team size follows ``OMP_NUM_THREADS`` when the user set it: at the CPU count, every tiny
  operator starts a team that spin-waits, which on a busy machine costs a time slice per operator (7.5-16 s
  instead of 0.5-0.8 s for a variational-inference loop under ``prefer_mxnet`` on 2 cores). ``section`` also
  runs imperdl's MXNet work with ``THREADS`` OpenMP threads (``mxnet_compat.omp_threads``: MXNet's own default
  unless ``IMPERDL_MXNET_THREADS`` says otherwise), in the calling thread only, restoring the caller's count
  afterwards: the user's own MXNet code keeps the user's settings. Operators run in the calling thread under
  the synchronous engine imperdl starts on CPU; under a threaded engine they run on MXNet's worker threads,
  which follow MXNet's settings alone.

Zero-copy on CPU contexts (``share_from_host`` / ``share_to_host``): with the synchronous engine, an MXNet
array on ``cpu(0)`` and a NumPy array may share one buffer, so a transfer costs ~3-10 us whatever the size
(a copy of 1e6 floats costs ~150-300 us). The engine treats an Array's two copies as one value and replaces
the list on every write, so sharing is safe for it; what is not safe is MXNet rewriting an input in place
(oneDNN convolution in inference mode re-lays out its weight inside its own buffer), so a buffer the host can
see is marked (``_imperdl_host``) and such operators get a private copy (``Array._get``,
``Primitive.mx_rewrites``). Sharing needs the synchronous engine that actually runs (``NaiveEngine``): under a
threaded engine a host write could race an MXNet operator still reading the buffer, and a host
read could see a result still being
written, with no error. There every transfer goes through MXNet's own copies (``asnumpy`` waits for pending
writes, ``_sync_copyfrom`` waits for pending reads and writes). ``IMPERDL_ZERO_COPY=0`` turns sharing off.
"""
from __future__ import annotations

import ctypes
import functools
import os
import threading

import numpy

from . import mxnet_compat

mxnet_compat.install_import_hook()  # the user's own later ``import mxnet`` works on NumPy 1.24-1.26 too

NAME = "MXNet"
_mx = None  # the mxnet module once loaded
_mnp = None  # mxnet.numpy
_failed: str | None = None
ndarray = None  # mxnet.numpy.ndarray once loaded
pending_seed: int | None = None  # the last seed given to imperdl.numpy.random.seed
# share buffers between NumPy and MXNet on cpu(0) (decided when MXNet loads: synchronous engine only)
ZERO_COPY = False
# the class name of the engine MXNet runs ('NaiveEngine', 'ThreadedEnginePerDevice', 'ThreadedEnginePooled'),
# or None where it cannot be read (then imperdl assumes an asynchronous engine)
ENGINE: str | None = None
# the OpenMP team size imperdl's MXNet work runs with (set when MXNet loads; see ``section``)
THREADS: int | None = None

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
    global _mx, _mnp, _failed, ndarray, ZERO_COPY, ENGINE, THREADS
    if _mx is not None or _failed is not None:
        return _mx
    threads = mxnet_compat.omp_threads()  # (a malformed IMPERDL_MXNET_THREADS fails here, before anything loads)
    os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
    if "MXNET_ENGINE_TYPE" not in os.environ and not _is_cuda_build():
        os.environ["MXNET_ENGINE_TYPE"] = "NaiveEngine"
    try:
        mxnet = mxnet_compat.import_mxnet()  # NumPy >= 1.24 / Python >= 3.12 shims, quiet engine start
    except Exception as e:  # depends on the install: imperdl runs on NumPy alone
        _failed = f"{type(e).__name__}: {e}"
        return None
    _init_np_shape(mxnet)
    THREADS = threads if _init_omp(mxnet) else None
    _mx, _mnp, ndarray = mxnet, mxnet.numpy, mxnet.numpy.ndarray
    if pending_seed is not None:  # imperdl.numpy.random.seed ran before MXNet loaded
        mxnet.random.seed(pending_seed)
    ENGINE = engine_type(mxnet)
    ZERO_COPY = ENGINE == "NaiveEngine" and os.environ.get("IMPERDL_ZERO_COPY") != "0"
    _init_sharing(mxnet)
    return _mx


def engine_type(mx) -> str | None:
    """The class of the engine MXNet runs in this process (creating it, from the environment, if no operator
    has run yet), or None where libmxnet does not expose it.

    ``mxnet::Engine::Get()`` is exported by libmxnet; the object's vtable points (one slot before its start, in
    the Itanium C++ ABI that Linux and macOS builds use) to its ``type_info``, whose second word is the mangled
    class name, e.g. ``N5mxnet6engine11NaiveEngineE``. Neither ``MXNET_ENGINE_TYPE`` nor "is mxnet already
    imported" says this: importing mxnet does not create the engine, running any operator does.
    """
    try:
        get = mx.base._LIB._ZN5mxnet6Engine3GetEv
    except AttributeError:
        return None
    get.restype, get.argtypes = ctypes.c_void_p, []
    word = ctypes.sizeof(ctypes.c_void_p)
    engine = get()
    if not engine:
        return None
    vtable = ctypes.c_void_p.from_address(engine).value
    info = ctypes.c_void_p.from_address(vtable - word).value
    mangled = ctypes.c_char_p.from_address(info + word).value or b""
    names, i = [], mangled.startswith(b"N")
    while i < len(mangled) and mangled[i:i + 1].isdigit():  # <length><identifier> pairs
        j = i
        while mangled[j:j + 1].isdigit():
            j += 1
        n = int(mangled[i:j])
        names.append(mangled[j:j + n].decode())
        i = j + n
    return names[-1] if names and names[0] == "mxnet" else None


# ------------------------------------------------------------------ NumPy shape semantics and threads, per call
_set_np_shape = None
_c_int, _byref = ctypes.c_int, ctypes.byref
_unused = ctypes.c_int()
_unused_ref = ctypes.byref(_unused)
_omp_get = _omp_set = None  # omp_get_max_threads / omp_set_num_threads of the OpenMP runtime libmxnet uses


def _init_omp(mx) -> bool:
    """Bind the calling thread's OpenMP team size controls of the runtime libmxnet links (found through
    libmxnet's own handle: another OpenMP runtime in the process, e.g. scikit-learn's, is not MXNet's)."""
    global _omp_get, _omp_set
    try:  # (own function pointers without argtypes, as for ``_init_np_shape``: int in, int out)
        get, put = mx.base._LIB["omp_get_max_threads"], mx.base._LIB["omp_set_num_threads"]
    except AttributeError:  # a build without OpenMP: nothing to size
        return False
    put.restype = None
    _omp_get, _omp_set = get, put
    return True


def _init_np_shape(mx) -> None:
    """Bind ``MXSetIsNumpyShape`` as a function pointer of our own without ``argtypes``: called twice per section,
    ctypes' argument conversion cost 2.5x the call itself (the arguments are always an int and a prebuilt
    ``byref(c_int)``, which ctypes passes as they are)."""
    global _set_np_shape
    _set_np_shape = mx.base._LIB["MXSetIsNumpyShape"]


class _Section:
    """``with section:`` around every piece of MXNet work imperdl does (operators, copies, binding, backward).

    - One thread at a time: MXNet's NaiveEngine runs each operation in the calling thread but shares state
      between threads without synchronisation (its completion flag, the temporary-space resources). Python
      holds most of a small MXNet call's time anyway; uncontended, the lock costs ~0.1 us of a ~10 us call.
    - NumPy shape semantics (0-d and zero-size arrays) on for the section and the caller's state back after
      it: they are per-thread MXNet state that the user's own MXNet code reads too.
    - OpenMP team size ``THREADS`` for the section, the caller's back after it (a per-thread OpenMP setting;
      one C call when it already is ``THREADS``, the usual case when the user left ``OMP_NUM_THREADS`` unset).

    Re-entrant: only the outermost section of a thread switches the semantics (the lock is held meanwhile, so
    the depth and saved state need no per-thread storage).
    """

    __slots__ = ("_lock", "_depth", "_prev", "_prev_ref", "_threads")

    def __init__(self):
        self._lock = threading.RLock()
        self._depth = 0
        # the caller's semantics, written by MXNet; one buffer and one pointer to it serve every section (the
        # outermost section of a thread fills and reads it while holding the lock)
        self._prev = _c_int(1)
        self._prev_ref = _byref(self._prev)
        self._threads = 0  # the caller's OpenMP team size to restore, 0: nothing to restore

    def __enter__(self):
        self._lock.acquire()
        if not self._depth:
            _set_np_shape(1, self._prev_ref)
            if _omp_get is not None:
                n = _omp_get()
                if n != THREADS:
                    _omp_set(THREADS)
                    self._threads = n
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if not self._depth:
            if not self._prev.value:
                _set_np_shape(0, _unused_ref)
            if self._threads:
                _omp_set(self._threads)
                self._threads = 0
        self._lock.release()
        return False


section = _Section()


def in_section(fn):
    """``fn`` run inside ``section``: for entry points that do MXNet work of their own outside dispatch
    (``Function``: binding, shape inference, backward)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with section:
            return fn(*args, **kwargs)

    return run


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
    """GPUs MXNet can run kernels on (0 without MXNet, and 0 with a warning for a GPU too new for MXNet). A machine
    without a GPU driver has none, and MXNet is not imported to say so (see ``mxnet_compat.no_gpu_driver``)."""
    global _gpus
    if _gpus is None:
        if mxnet_compat.no_gpu_driver():
            _gpus = 0
            return 0
        mx = load()
        _gpus = 0 if mx is None else mxnet_compat.usable_gpus(mx)
    return _gpus


def from_host(x: numpy.ndarray, ctx):
    """Copy a host array into a new MXNet array on ``ctx`` (a ``imperdl.context.Context``)."""
    if x.dtype not in SUPPORTED:
        raise TypeError(f"MXNet cannot hold dtype {x.dtype}")
    with section:  # 0-d and zero-size shapes
        out = _mnp.empty(x.shape, dtype=x.dtype, ctx=ctx.as_mxnet())
        if x.size:  # (ascontiguousarray would turn a 0-d array into shape (1,))
            out._sync_copyfrom(x if x.flags.c_contiguous else x.copy())
    return out


def to_host(x) -> numpy.ndarray:
    """A host copy of ``x`` (waits for pending work on it)."""
    return x.asnumpy()


def move(x, ctx):
    """The same data on another device."""
    with section:
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

