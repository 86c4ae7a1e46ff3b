"""Importing MXNet 1.9.1 on today's Pythons and NumPys, quietly, leaving the user's namespaces as they were.

MXNet 1.9.1 is the last release (the project is retired), so imperdl owns every workaround, all of them here:

- ``numpy.bool``: NumPy 1.24 removed the alias, MXNet reads it when it imports and in a few functions later.
  It is put into NumPy only for the duration of the import; afterwards MXNet's own modules see NumPy through a
  copy of its namespace that has ``bool`` (``_numpy_with_bool``), so the user's ``numpy`` never gains the name
  and NumPy 1.23 stops warning about it on every MXNet boolean index.
- ``distutils``: Python 3.12 removed it, MXNet imports ``distutils.version`` when it imports. Where no
  ``distutils`` can be found (no setuptools), a stand-in with the two version classes MXNet uses serves that
  import and is taken out of ``sys.modules`` again; where a real one exists it is used.
- warnings MXNet emits while importing (NumPy's financial functions, distutils) are silenced for the import only.
- the line "MXNet start using engine: ..." that MXNet's C++ layer prints on stderr when the engine starts under
  ``MXNET_ENGINE_TYPE``: the engine is started here with the stderr file descriptor captured, and everything
  else written meanwhile is passed on.
- a GPU MXNet sees but cannot run kernels on (every MXNet 1.9.1 CUDA wheel carries kernels for compute
  capability 5.0-8.6 and no PTX, so nothing runs on Hopper or newer): ``usable_gpus`` tries a kernel in a child
  process, warns once and reports no GPU, so imperdl stays on the CPU instead of crashing.
- ``OMP_NUM_THREADS``: MXNet sizes its OpenMP teams from it when it is set (and ignores its own
  ``MXNET_OMP_MAX_THREADS`` then), otherwise uses half the logical CPUs on x86. Set to the CPU count, every tiny
  MXNet operator starts a full team whose threads spin-wait at the barrier; on a machine whose other cores are
  busy each operator then waits for a time slice (a variational-inference loop under ``prefer_mxnet`` ran
  7.5-16 s instead of 0.5-0.8 s on 2 cores). ``omp_threads`` is the team size imperdl runs its own MXNet work
  with instead (``mxnet_backend.section`` switches the calling thread to it and back; docs/performance.md).

This file imports only the standard library and NumPy: the GPU probe runs it as a script.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.machinery
import importlib.util
import os
import re
import sys
import types
import warnings

import numpy

BANNER = re.compile(rb"^\[[0-9:]+\] \S*engine\.cc:\d+: MXNet start using engine: \w+\r?\n?$")
INSTALL_HINT = "pip install 'imperdl[mxnet]' (Python 3.10-3.13, NumPy < 2); see docs/install.md"


class GPUUnusableWarning(UserWarning):
    """MXNet sees a GPU whose kernels it cannot run; imperdl uses the CPU."""


class MXNetUnavailableError(ImportError):
    """A feature that only MXNet provides was asked for where MXNet cannot be imported."""


def import_mxnet():
    """``import mxnet`` with the shims above, its engine started quietly; raises what the import raises."""
    remove_import_hook()
    mxnet = sys.modules.get("mxnet")  # imported by the user (or earlier by us): leave it as it is
    if mxnet is None:
        with _import_shims(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mxnet
            import mxnet.numpy  # noqa: F401  (the modules that read numpy.bool at run time)
    _give_numpy_with_bool(mxnet)
    with filtered_stderr(BANNER):
        mxnet.nd.waitall()  # the first engine call creates the engine (and prints the banner)
    return mxnet


def _needs_shims() -> bool:
    """Whether a plain ``import mxnet`` fails here: NumPy 1.24-1.26 (no ``numpy.bool``), or no distutils."""
    version = tuple(int(p) for p in re.findall(r"\d+", numpy.__version__)[:2])
    if (1, 24) <= version < (2, 0) and "bool" not in vars(numpy):
        return True
    return sys.version_info >= (3, 12) and "distutils" not in sys.modules and (
        importlib.util.find_spec("distutils") is None)


class _ImportHook:
    """A ``sys.meta_path`` entry, from ``import imperdl`` until MXNet is imported: the user's own first
    ``import mxnet`` (or ``from mxnet import gluon``) then runs MXNet's package code under the same shims as
    ``import_mxnet``, so it works on NumPy 1.24-1.26 and Python 3.12+ as well (MXNet fails there on its own). It
    answers for the name ``mxnet`` only, once: MXNet's own spec with a loader that wraps MXNet's. (MXNet
    imported before imperdl is the user's business: it fails on those NumPys without a shim of the user's own.)
    """

    def find_spec(self, name, path=None, target=None):
        if name != "mxnet":
            return None
        remove_import_hook()
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _ShimmedLoader(spec.loader)
        return spec


class _ShimmedLoader:
    """MXNet's loader, its package code run under ``_import_shims``; MXNet's modules then see ``numpy.bool``
    through ``_numpy_with_bool`` and the loader is MXNet's own again."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        with _import_shims(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.loader.exec_module(module)
            import mxnet.numpy  # noqa: F401  (the modules that read numpy.bool at run time)
        _give_numpy_with_bool(module)


_hook = _ImportHook()


def install_import_hook() -> None:
    """Put ``_ImportHook`` on ``sys.meta_path`` where MXNet is not imported yet and would fail without shims."""
    if "mxnet" not in sys.modules and _hook not in sys.meta_path and _needs_shims():
        sys.meta_path.insert(0, _hook)


def remove_import_hook() -> None:
    if _hook in sys.meta_path:
        sys.meta_path.remove(_hook)


@contextlib.contextmanager
def _import_shims():
    added_bool = "bool" not in vars(numpy)  # (hasattr would trip NumPy 1.23's DeprecationWarning)
    if added_bool:
        numpy.bool = bool
    real = "distutils" in sys.modules or importlib.util.find_spec("distutils") is not None
    stubs = {} if real else _distutils_stand_in()
    sys.modules.update(stubs)
    try:
        yield
    finally:
        if added_bool:
            del numpy.bool
        for name, module in stubs.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


@functools.total_ordering
class _Version:
    """What MXNet asks of distutils' StrictVersion/LooseVersion: compare NumPy version strings."""

    def __init__(self, text: str):
        self.parts = tuple(int(p) for p in re.findall(r"\d+", str(text).split("+")[0]))

    def __eq__(self, other):
        return self.parts == _Version(other).parts if isinstance(other, str) else self.parts == other.parts

    def __lt__(self, other):
        return self.parts < (_Version(other).parts if isinstance(other, str) else other.parts)

    __hash__ = None


def _distutils_stand_in() -> dict:
    package = types.ModuleType("distutils")
    package.__path__ = []
    version = types.ModuleType("distutils.version")
    version.StrictVersion = version.LooseVersion = _Version
    package.version = version
    return {"distutils": package, "distutils.version": version}


@functools.lru_cache(maxsize=1)
def _numpy_with_bool() -> types.ModuleType:
    view = types.ModuleType("numpy", numpy.__doc__)
    view.__dict__.update(vars(numpy))
    view.bool = bool
    view.__getattr__ = lambda name: getattr(numpy, name)  # names NumPy makes lazily (submodules)
    return view


def _give_numpy_with_bool(mxnet) -> None:
    """Point every ``numpy`` global of MXNet's modules at ``_numpy_with_bool()`` (same objects, plus ``bool``)."""
    if "bool" in vars(numpy):  # NumPy 2 has numpy.bool again (and an older NumPy may have been patched)
        return
    view = _numpy_with_bool()
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "mxnet" or name.startswith("mxnet.")):
            continue
        g = vars(module)
        for key, value in list(g.items()):
            if value is numpy:
                g[key] = view


@contextlib.contextmanager
def filtered_stderr(drop: re.Pattern):
    """Capture what C/C++ code writes to file descriptor 2 meanwhile; pass on every line but those ``drop`` matches."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no stderr to speak of
        yield
        return
    import tempfile  # (imported on first need, like everything MXNet: ``import imperdl.numpy`` stays light)

    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = b"".join(line for line in tmp.read().splitlines(keepends=True) if not drop.match(line))
            if kept:
                os.write(2, kept)


# ------------------------------------------------------------------ OpenMP team size of imperdl's MXNet work
THREADS_VARIABLE = "IMPERDL_MXNET_THREADS"


def omp_threads(environ=os.environ, cpus: int | None = None, machine: str | None = None) -> int:
    """The OpenMP team size for the MXNet operators imperdl runs, whatever ``OMP_NUM_THREADS`` says.

    ``IMPERDL_MXNET_THREADS`` if set (the user's explicit choice for imperdl), else ``MXNET_OMP_MAX_THREADS`` (an
    explicit choice for MXNet, which MXNet itself drops as soon as ``OMP_NUM_THREADS`` is set), else what MXNet
    picks when ``OMP_NUM_THREADS`` is unset: the usable logical CPUs, halved on x86 (hyper-threads), at least 1.
    """
    for name in (THREADS_VARIABLE, "MXNET_OMP_MAX_THREADS"):
        text = environ.get(name, "").strip()
        if text:
            try:
                n = int(text)
            except ValueError:
                raise ValueError(f"{name}={text!r}: expected a positive whole number of threads") from None
            if n < 1:
                raise ValueError(f"{name}={text!r}: expected a positive whole number of threads")
            return n
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if machine is None:
        import platform

        machine = platform.machine()
    if machine.lower() in ("x86_64", "amd64", "i386", "i686", "x86"):
        cpus //= 2
    return max(1, cpus)


# ------------------------------------------------------------------ GPUs MXNet sees but cannot use
PROBE_TIMEOUT_S = 180


def no_gpu_driver() -> bool:
    """True where no GPU can be visible: Linux without the NVIDIA driver listing a device. MXNet reaches GPUs only
    through that driver, which lists each one under /proc/driver/nvidia/gpus; asking MXNet instead means importing it
    (1.5-3 s), which a small-array program on a CPU machine never needs otherwise."""
    if not sys.platform.startswith("linux"):
        return False  # (no such listing to read: ask MXNet)
    try:
        return not os.listdir("/proc/driver/nvidia/gpus")
    except OSError:
        return True


def usable_gpus(mxnet) -> int:
    """How many GPUs MXNet can run kernels on: all it sees, or 0 (with one warning) when a kernel fails on GPU 0."""
    try:
        n = mxnet.context.num_gpus()
    except Exception:  # a CUDA build without a usable driver
        return 0
    if n == 0:
        return 0
    failure = probe_gpu()
    if failure is None:
        return n
    warnings.warn(
        f"imperdl: MXNet sees {n} GPU(s) but cannot run a kernel on gpu(0) ({failure}); using cpu(). "
        "MXNet 1.9.1's CUDA wheels carry kernels for compute capability 5.0-8.6 only (no Hopper or newer): "
        "see docs/install.md",
        GPUUnusableWarning,
        stacklevel=2,
    )
    return 0


def probe_gpu(command: list[str] | None = None) -> str | None:
    """None if a trivial MXNet kernel runs on gpu(0), else why not (in one line).

    The kernel runs in a child process: a CUDA failure may abort the process that meets it.
    """
    import subprocess

    command = command or [sys.executable, os.path.abspath(__file__), "--probe-gpu"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as e:
        return f"the GPU probe did not finish: {type(e).__name__}"
    if done.returncode == 0 and done.stdout.strip().endswith("ok"):
        return None
    text = done.stdout + done.stderr
    if "no kernel image" in text:
        return "no kernel image is available for execution on the device"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[-1] if lines else f"exit status {done.returncode}"
    return re.sub(r"\s+", " ", reason)[:200]


def _probe_main() -> int:
    mxnet = import_mxnet()
    x = mxnet.nd.ones((4,), ctx=mxnet.gpu(0))
    (x * 2 + 1).asnumpy()
    print("ok")
    return 0


if __name__ == "__main__" and sys.argv[1:] == ["--probe-gpu"]:
    sys.exit(_probe_main())
