"""Start the scheduler, servers and workers, supervise them, and tear everything down whatever happens."""
from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import socket
import sys
import threading
import time
from typing import IO

from ..core.backends import mxnet_compat
from ..core.backends.mxnet_compat import BANNER
from . import children, plan
from .plan import BIND_FAILED

ATTEMPTS = 5  # starts with a fresh free port when the chosen one was taken before the scheduler bound it
TIMED_OUT = 124  # exit status after --timeout (as GNU timeout)
_HANDLED = ("SIGINT", "SIGTERM", "SIGHUP")


class LaunchError(RuntimeError):
    """The processes could not be started as asked (e.g. the port given is in use)."""


class _Retry(Exception):
    """The scheduler's port was taken between choosing it and binding it: start again with another."""


def run(argv: list[str], workers: int, servers: int = 1, hostfile: str | None = None, env: dict | None = None,
        timeout: float | None = None, output: IO[str] | None = None, *, errors: IO[str] | None = None,
        port: int | None = None, ssh: str | None = None, python: str | None = None, grace: float = 3.0,
        finish_grace: float = 5.0) -> int:
    """Run ``python argv...`` as ``workers`` data-parallel workers with ``servers`` parameter servers and one
    scheduler (MXNet's ps-lite roles); return the exit status: 0 when every worker exited 0, else the first failing
    worker's status (128+N for death by signal N), 124 after ``timeout`` seconds, 130/143/129 after
    SIGINT/SIGTERM/SIGHUP to the launcher. Every started process is stopped before this returns.

    ``output``/``errors``: where the children's stdout/stderr lines go, each prefixed ``[worker 0] `` ...
    (default: this process's stdout; ``errors`` defaults to ``output``); the launcher's own messages (``[launch]
    ...``) go to ``errors``. ``env``: extra variables for every process (also sent to remote hosts).
    ``port``: the scheduler's port (default: a free one). ``hostfile``/``ssh``/``python``: see ``imperdl.launch``.
    ``grace``: seconds between SIGTERM and SIGKILL at teardown; ``finish_grace``: seconds the scheduler and servers
    get to exit by themselves once every worker exited 0.
    Raises ValueError for bad arguments, LaunchError when the given port is in use or (a local run with this
    interpreter) MXNet is not installed.
    """
    argv = list(argv)
    if not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError(f"argv must be a non-empty list of strings (the script and its arguments), got {argv!r}")
    for name, value in (("workers", workers), ("servers", servers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    if port is not None and not (isinstance(port, int) and 0 < port < 65536):
        raise ValueError(f"port must be an integer in 1..65535 or None, got {port!r}")
    extra = {str(k): str(v) for k, v in (env or {}).items()}
    hosts = plan.read_hostfile(hostfile) if hostfile is not None else None
    if hosts is None and python is None and not mxnet_installed():
        raise LaunchError("imperdl.launch runs MXNet's parameter server (scheduler, servers and the workers' "
                          f"KVStore), and MXNet is not installed here: {mxnet_compat.INSTALL_HINT}")
    out = output if output is not None else sys.stdout
    launch = _Launch(argv, workers, servers, hosts, extra, timeout, children.Output(out, errors or out), port,
                     shlex.split(ssh if ssh is not None else os.environ.get("IMPERDL_SSH", "ssh")),
                     python or sys.executable, grace, finish_grace)
    return launch.main()


def mxnet_installed() -> bool:
    """Whether this interpreter has an ``mxnet`` package (found without importing it: seconds saved per launch)."""
    return importlib.util.find_spec("mxnet") is not None


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice). Another process may take it before the
    scheduler binds it: the launcher notices (the scheduler exits ``BIND_FAILED``) and starts again."""
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    """Whether binding ``port`` on every interface fails here (as the scheduler's ``tcp://*:port`` would)."""
    with socket.socket() as s:
        try:
            s.bind(("", port))
        except OSError:
            return True
    return False


def exit_status(rc: int) -> int:
    return 128 - rc if rc < 0 else rc


def describe(label: str, rc: int) -> str:
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "unknown"
        return f"{label} was killed by signal {-rc} ({name})"
    return f"{label} exited with status {rc}"


class _Launch:
    def __init__(self, argv, workers, servers, hosts, extra, timeout, output, port, ssh, python, grace,
                 finish_grace):
        self.argv, self.workers, self.servers, self.hosts = argv, workers, servers, hosts
        self.extra, self.timeout, self.output, self.port = extra, timeout, output, port
        self.ssh, self.python, self.grace, self.finish_grace = ssh, python, grace, finish_grace
        self.nodes = plan.place(workers, servers, hosts)
        self.children: list[children.Child] = []
        self.signalled: int | None = None
        self.wake = threading.Event()
        if hosts is not None:
            self.addresses = {h.name: plan.address(h.name) for h in hosts}
            plan.check_reachable(self.addresses)

    def say(self, text: str) -> None:
        self.output.line(f"[launch] {text}")

    def main(self) -> int:
        previous = self._install_handlers()
        start = time.monotonic()
        self.deadline = start + self.timeout if self.timeout is not None else None
        try:
            for attempt in range(1, ATTEMPTS + 1):
                port = self.port
                if port is None:
                    port = free_port()
                elif self.hosts is None and port_in_use(port):
                    raise LaunchError(f"port {port} is already in use on this machine: pass another --port, or none "
                                      "to let the launcher pick a free one")
                try:
                    self._start(port)
                    return self._supervise()
                except _Retry:
                    self._teardown()
                    if self.port is not None:
                        raise LaunchError(f"the scheduler could not bind port {port} (in use): pass another --port, "
                                          "or none to let the launcher pick a free one") from None
                    self.say(f"port {port} was taken before the scheduler bound it; starting again "
                             f"(attempt {attempt + 1} of {ATTEMPTS})")
            raise LaunchError(f"the scheduler could not bind a free port in {ATTEMPTS} attempts")
        finally:
            self._teardown()
            self._restore_handlers(previous)

    # -- start

    def _start(self, port: int) -> None:
        local = self.hosts is None
        root = "127.0.0.1" if local else self.addresses[self.nodes[0].host]
        self.children = []
        for node in self.nodes:
            if self.signalled is not None:
                return
            host = "127.0.0.1" if local else self.addresses[node.host]
            variables = plan.node_env(node, root_uri=root, port=port, workers=self.workers, servers=self.servers,
                                      node_host=host, local=local)
            cmd = plan.command(node, self.argv, self.python)
            if local:
                env = {**os.environ, **self.extra, **variables}
            else:
                env = {**os.environ, **self.extra}  # for the local ssh; the remote side gets only what follows
                cmd = plan.remote_command(self.ssh, node.host, os.getcwd(),
                                          {**plan.forwarded_env(self.extra), **variables}, cmd)
            # MXNet's import runs the scheduler/server loop, so imperdl's loader cannot hide the engine banner there
            drop = BANNER if node.role != "worker" else None
            try:
                self.children.append(children.Child(node.label, cmd, env, self.output, drop=drop))
            except OSError as e:
                raise LaunchError(f"cannot start the {node.label}: {cmd[0]}: {e.strerror or e}") from None
        where = "on this machine" if local else f"over ssh ({len(self.hosts)} host(s))"
        self.say(f"started the scheduler, {self.servers} server(s) and {self.workers} worker(s) {where}, "
                 f"scheduler port {port}")

    # -- supervise

    def _supervise(self) -> int:
        done: set[int] = set()
        workers = [(n, c) for n, c in zip(self.nodes, self.children) if n.role == "worker"]
        others = [(n, c) for n, c in zip(self.nodes, self.children) if n.role != "worker"]
        while True:
            if self.signalled is not None:
                name = signal.Signals(self.signalled).name
                self.say(f"got {name}{self._stopping()}")
                return 128 + self.signalled
            if self.deadline is not None and time.monotonic() >= self.deadline:
                waiting = [c.label for n, c in workers if n.index not in done] or ["the scheduler and servers"]
                self.say(f"timed out after {self.timeout:g} s; still running: {', '.join(waiting)}{self._stopping()}")
                return TIMED_OUT
            for node, child in others:
                rc = child.poll()
                if rc is None or rc == 0:  # 0: ps-lite finished; a worker may still be exiting
                    continue
                if node.role == "scheduler" and rc == BIND_FAILED:
                    raise _Retry
                self.say(f"{describe(child.label, rc)} while the workers were running{self._stopping()}")
                return exit_status(rc) or 1
            for node, child in workers:
                rc = child.poll()
                if rc is None or node.index in done:
                    continue
                if rc != 0:
                    self.say(f"{describe(child.label, rc)}{self._stopping()}")
                    return exit_status(rc)
                done.add(node.index)
            if len(done) == len(workers):
                return self._finish(others)
            self.wake.wait(0.05)

    def _finish(self, others) -> int:
        """Every worker exited 0: the scheduler and servers normally exit by themselves right after."""
        end = time.monotonic() + self.finish_grace
        while time.monotonic() < end and self.signalled is None:
            if all(c.poll() is not None for _, c in others):
                break
            self.wake.wait(0.05)
        if self.signalled is not None:
            self.say(f"got {signal.Signals(self.signalled).name} after the workers finished: stopping")
            return 128 + self.signalled
        late = [c.label for _, c in others if c.poll() is None]
        if late:
            self.say(f"every worker exited 0, but {', '.join(late)} did not stop within {self.finish_grace:g} s "
                     "(did the workers create a dist KVStore?): stopping them")
        failed = [(c.label, c.poll()) for _, c in others if c.poll() not in (None, 0)]
        for label, rc in failed:
            self.say(f"{describe(label, rc)} after the workers finished")
        return 0

    def _stopping(self) -> str:
        running = [c.label for c in self.children if c.poll() is None]
        return f"; stopping {', '.join(running)}" if running else ""

    # -- teardown and signals

    def _teardown(self) -> None:
        if self.children:
            children.stop(self.children, self.grace)
        self.children = []

    def _on_signal(self, signum, frame) -> None:
        if self.signalled is None:
            self.signalled = signum
        self.wake.set()

    def _install_handlers(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}  # only the main thread may set handlers; the caller handles its own signals there
        previous = {}
        for name in _HANDLED:
            sig = getattr(signal, name, None)
            if sig is not None:
                previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    def _restore_handlers(self, previous: dict) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)  # None: one set outside Python
