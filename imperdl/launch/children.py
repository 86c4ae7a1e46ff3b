"""Child processes of the launcher: each in its own session (so its whole process group, grandchildren included,
can be signalled at once), its stdout and stderr forwarded line by line with a prefix, and killed at interpreter
exit whatever happened (``atexit``), so the launcher never leaves a process behind.

A launcher killed by SIGKILL runs no Python at all: on Linux each child is therefore started through a tiny exec
shim that asks the kernel to SIGKILL it when the launcher dies (``PR_SET_PDEATHSIG``, kept across ``exec``; ~40 ms).
That covers the children the launcher started (for ssh: the local ssh, whose death hangs up the remote side), not
processes they started themselves, which the process-group signals reach in every other case.
"""
from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import IO

_live: set[Child] = set()  # every child started and not yet known to be gone with its whole group
_live_lock = threading.Lock()


class Output:
    """Where the forwarded lines go: one lock for both streams, so lines never mix inside a line."""

    def __init__(self, out: IO[str], err: IO[str]):
        self.out, self.err = out, err
        self.lock = threading.Lock()

    def line(self, text: str, stream: IO[str] | None = None) -> None:
        stream = stream or self.err
        with self.lock:
            try:
                stream.write(text if text.endswith("\n") else text + "\n")
                stream.flush()
            except (OSError, ValueError):  # the reader of our output went away: keep supervising anyway
                pass


# exec argv[2:] after asking for SIGKILL when the parent dies; exit at once if the parent (argv[1]) already died
_SHIM = ("import ctypes, os, sys\n"
         "ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)\n"  # PR_SET_PDEATHSIG = 1, SIGKILL = 9
         "if os.getppid() != int(sys.argv[1]):\n    os._exit(137)\n"
         "try:\n    os.execvp(sys.argv[2], sys.argv[2:])\n"
         "except OSError as e:\n"
         "    print(f'cannot run {sys.argv[2]}: {e.strerror}', file=sys.stderr)\n    os._exit(127)\n")


def _with_death_signal(cmd: list[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return cmd
    return [sys.executable, "-I", "-S", "-c", _SHIM, str(os.getpid()), *cmd]


class Child:
    """One started process and the two threads that forward its output."""

    def __init__(self, label: str, cmd: list[str], env: dict[str, str], output: Output, cwd: str | None = None,
                 drop: re.Pattern[bytes] | None = None):
        self.label = label
        self.proc = subprocess.Popen(
            _with_death_signal(cmd), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        self.pgid = self.proc.pid  # the session leader's pid is its group's id
        with _live_lock:
            _live.add(self)
        prefix = f"[{label}] "
        self.threads = [
            threading.Thread(target=_forward, args=(self.proc.stdout, prefix, output, output.out, drop), daemon=True),
            threading.Thread(target=_forward, args=(self.proc.stderr, prefix, output, output.err, drop), daemon=True),
        ]
        for t in self.threads:
            t.start()

    def poll(self) -> int | None:
        return self.proc.poll()

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the child's whole process group (also after the leader exited: its children may live)."""
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def finish(self, timeout: float = 2.0) -> None:
        """Kill whatever is left of the group, reap the leader, let the forwarding threads drain."""
        self.signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        with _live_lock:
            _live.discard(self)


def stop(children: list[Child], grace: float) -> None:
    """SIGTERM to every group still running, SIGKILL to all after ``grace`` seconds (at once if they all ended)."""
    running = [c for c in children if c.poll() is None]
    for c in running:
        c.signal(signal.SIGTERM)
    end = time.monotonic() + grace
    while running and time.monotonic() < end:
        time.sleep(0.02)
        running = [c for c in running if c.poll() is None]
    for c in children:
        c.finish()


def _forward(pipe: IO[bytes], prefix: str, output: Output, stream: IO[str], drop: re.Pattern[bytes] | None) -> None:
    with pipe:
        for raw in iter(pipe.readline, b""):
            if drop is not None and drop.match(raw):
                continue
            text = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
            output.line(prefix + text, stream)


@atexit.register
def _kill_all() -> None:
    with _live_lock:
        children = list(_live)
    for c in children:
        c.signal(signal.SIGKILL)
        try:
            c.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            pass
