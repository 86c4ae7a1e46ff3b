"""Ending a worker whose KVStore call does not return in time.

A dead or hung peer leaves the others blocked inside MXNet: in ``dist_sync`` a server answers a pull only after
every worker pushed, and ps-lite has no deadline of its own. The blocked thread is in a C call that Python cannot
interrupt (no exception can be raised into it), so a separate thread watches the clock and, when the call outlives
its timeout, prints which operation on which rank timed out and ends the process with ``os._exit``: the only way
out of a blocked C call, and one that also skips MXNet's exit-time ``ps::Finalize`` barrier, which would block
again on the same dead peer. The launcher sees the non-zero exit and stops the rest of the run.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager

__all__ = ["Watchdog", "EXIT_TIMEOUT"]

EXIT_TIMEOUT = 75  # the exit status of a worker ended by the watchdog (EX_TEMPFAIL: a peer, not this code, failed)


class Watchdog:
    """One daemon thread guarding one blocking operation at a time (``with watchdog.guard(name):``)."""

    def __init__(self, timeout: float, who: str):
        if not timeout > 0:
            raise ValueError(f"imperdl.distributed: the timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        self.who = who
        self._cond = threading.Condition()
        self._op: tuple[str, float] | None = None
        self._thread = threading.Thread(target=self._watch, name="imperdl-distributed-watchdog", daemon=True)
        self._thread.start()

    @contextmanager
    def guard(self, operation: str, timeout: float | None = None):
        """Run the block under a deadline; past it the process ends with a message naming ``operation``."""
        limit = self.timeout if timeout is None else float(timeout)
        with self._cond:
            outer = self._op
            self._op = (operation, time.monotonic() + limit, limit)
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._op = outer
                self._cond.notify()

    def _watch(self) -> None:
        with self._cond:
            while True:
                op = self._op
                if op is None:
                    self._cond.wait()
                    continue
                left = op[1] - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._fire(op[0], op[2])

    def _fire(self, operation: str, limit: float) -> None:
        sys.stderr.write(
            f"imperdl.distributed: {self.who}: {operation} did not finish within {limit:g} s; a peer (worker, "
            f"server or scheduler) has died or hangs. Ending this process (exit status {EXIT_TIMEOUT}); the "
            "timeout is init(timeout=...) or IMPERDL_DIST_TIMEOUT.\n")
        sys.stderr.flush()
        try:
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 - a closed stdout must not stop the exit
            pass
        os._exit(EXIT_TIMEOUT)
