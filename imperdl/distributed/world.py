"""The process's place in a data-parallel run: its KVStore, rank, world size and watchdog.

``init()`` reads the launcher's environment (``imperdl.distributed.environment``): in a launched worker it joins
the ps-lite run through ``mx.kv.create(kvstore)``; with no launcher variables it is a world of one process on a
``local`` store (or on no store at all where MXNet cannot be imported), so the same script runs under plain
``python``. Every blocking KVStore call runs under the watchdog (``watchdog.py``).
"""
from __future__ import annotations

import atexit
import os
import sys
from contextlib import contextmanager

from imperdl.core.backends import mxnet_backend as mxb

from . import environment
from .keys import KeySpace
from .watchdog import Watchdog

__all__ = ["init", "is_initialized", "rank", "world_size", "barrier", "kvstore_type", "shutdown", "current"]

DIST = frozenset(("dist_sync", "dist_async", "dist_device_sync", "dist_sync_device"))
LOCAL = frozenset(("local", "device"))


class World:
    """What ``init`` set up; one per process (``current()``)."""

    def __init__(self, kind: str, kv, rank: int, size: int, timeout: float, watchdog: Watchdog | None = None):
        self.kind, self.kv, self.rank, self.size, self.timeout = kind, kv, rank, size, timeout
        self.keys = KeySpace()
        self.groups: dict = {}
        self.optimizer = None  # the optimizer given to set_optimizer, if any
        self.watchdog = watchdog
        if watchdog is not None:
            watchdog.who = f"rank {rank} of {size} ({kind})"

    @property
    def distributed(self) -> bool:
        return self.kind in DIST

    @property
    def sync(self) -> bool:
        return self.kind != "dist_async"

    @contextmanager
    def guard(self, operation: str):
        """``operation`` under the watchdog (a distributed store) and inside imperdl's MXNet section."""
        if self.watchdog is None:
            with mxb.section:
                yield
            return
        with self.watchdog.guard(operation), mxb.section:
            yield


_world: World | None = None


def current(what: str = "this call") -> World:
    if _world is None:
        raise RuntimeError(f"imperdl.distributed: {what} needs imperdl.distributed.init() first")
    return _world


def init(kvstore: str = "dist_sync", timeout: float | None = None) -> None:
    """Join the run (launched worker) or set up a world of one process; a second call with the same store is a no-op.

    ``kvstore``: 'dist_sync' (gradients summed over all workers at every step), 'dist_async' (each push applied
    by the server as it arrives: needs ``set_optimizer``), 'dist_device_sync', or 'local'/'device' (one process,
    several contexts). Outside a launched run a 'dist_*' store becomes 'local'. ``timeout`` (default
    ``IMPERDL_DIST_TIMEOUT`` or 120 s): how long one KVStore call may block before the worker ends itself.
    """
    global _world
    if kvstore not in DIST | LOCAL:
        raise ValueError(f"imperdl.distributed.init: kvstore must be one of {sorted(DIST | LOCAL)}, got {kvstore!r}")
    launched = environment.launched()
    kind = kvstore if launched or kvstore in LOCAL else "local"
    if _world is not None:
        if _world.kind != kind:
            raise RuntimeError(f"imperdl.distributed.init: already initialised with {_world.kind!r}, asked for "
                               f"{kind!r}; one process has one KVStore")
        return
    timeout = environment.default_timeout() if timeout is None else float(timeout)
    if kind in DIST:
        mx = mxb.require(f"imperdl.distributed.init({kvstore!r})")
        # joining waits for every node to register with the scheduler: a missing peer must not hang us forever
        dog = Watchdog(timeout, f"worker slot {os.environ.get('IMPERDL_LAUNCH_INDEX', '?')}")
        with dog.guard(f"init({kvstore!r}) (joining the scheduler at {os.environ['DMLC_PS_ROOT_URI']}:"
                       f"{os.environ['DMLC_PS_ROOT_PORT']})"):
            kv = mx.kv.create(kind)
        _world = World(kind, kv, kv.rank, kv.num_workers, timeout, dog)
        atexit.register(shutdown)
        _watch_uncaught()
    else:
        mx = mxb.load()
        kv = None if mx is None else mx.kv.create(kind)
        _world = World(kind, kv, 0, 1, timeout)


_failed = False


def _watch_uncaught() -> None:
    """Remember an uncaught exception, so that ``shutdown`` leaves without MXNet's exit barrier (the others are not
    coming to it: this worker's traceback and exit status should reach the launcher now, not after a timeout)."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        global _failed
        _failed = True
        previous(kind, value, tb)

    sys.excepthook = hook


def shutdown() -> None:
    """Leave the run: MXNet's store says goodbye through a barrier with every node (under the watchdog, so a
    dead peer ends this process with a message instead of a hang at exit). Registered with ``atexit``."""
    global _world
    w = _world
    if w is None:
        return
    _world = None
    if w.kv is not None and w.distributed and _failed:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # (what Python's exit status for an uncaught exception is)
    if w.kv is not None and w.distributed:
        import gc

        with w.watchdog.guard("shutdown (ps-lite's exit barrier with every worker and server)"):
            kv, w.kv = w.kv, None
            del kv
            gc.collect()


def is_initialized() -> bool:
    return _world is not None


def rank() -> int:
    """This worker's KVStore rank (0 .. world_size()-1); rank 0 writes checkpoints and prints."""
    return current("rank()").rank


def world_size() -> int:
    """How many workers take part (1 outside a launched run)."""
    return current("world_size()").size


def kvstore_type() -> str:
    return current("kvstore_type()").kind


def barrier() -> None:
    """Wait until every worker reached this point (a no-op in a world of one)."""
    w = current("barrier()")
    if w.distributed:
        with w.guard("barrier()"):
            w.kv._barrier()
