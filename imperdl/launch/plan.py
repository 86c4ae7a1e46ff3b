"""Who runs where: the hostfile, the placement of the ps-lite roles on hosts, each process's command and environment.

Pure functions (no process is started here), so the rules can be tested and read on their own.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import shlex
import socket

ROLES = ("scheduler", "server", "worker")
BIND_FAILED = 98  # a node's exit status when it cannot bind its port (EADDRINUSE's number on Linux)


@dataclasses.dataclass(frozen=True)
class Host:
    name: str
    slots: int = 1


@dataclasses.dataclass(frozen=True)
class Node:
    """One process to start: its ps-lite role, its launch slot within the role, and its host (None: this machine,
    started directly; otherwise started over ssh)."""

    role: str
    index: int
    host: str | None = None

    @property
    def label(self) -> str:
        return "scheduler" if self.role == "scheduler" else f"{self.role} {self.index}"


def read_hostfile(path: str) -> list[Host]:
    """Hosts from a file: one per line, ``host`` or ``host:slots`` (slots: how many workers it takes per round),
    ``#`` starts a comment. A bad line is an error naming the file and line."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ValueError(f"cannot read the hostfile {path!r}: {e.strerror or e}") from None
    hosts = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if len(line.split()) != 1:
            raise ValueError(f"{path}:{number}: expected 'host' or 'host:slots', got {raw.strip()!r}")
        name, slots = line, 1
        head, sep, tail = line.rpartition(":")
        if sep and ":" not in head:  # host:slots (an IPv6 literal has more colons and no slots)
            if not tail.isdigit() or int(tail) < 1:
                raise ValueError(f"{path}:{number}: slots must be a positive integer, got {tail!r} in {raw.strip()!r}")
            name, slots = head, int(tail)
        if not name:
            raise ValueError(f"{path}:{number}: no host name in {raw.strip()!r}")
        hosts.append(Host(name, slots))
    if not hosts:
        raise ValueError(f"the hostfile {path!r} names no host")
    return hosts


def place(workers: int, servers: int, hosts: list[Host] | None = None) -> list[Node]:
    """The processes in start order: scheduler, servers, workers.

    Without hosts everything runs here. With hosts: the scheduler on the first host; servers round-robin over
    the hosts; workers round-robin too, a host with ``slots`` s taking part in the first s rounds, so
    ``a:2, b:1`` gives a, b, a and then wraps (a host gets more workers than slots only when the total exceeds the
    sum of slots)."""
    if hosts is None:
        return ([Node("scheduler", 0)] + [Node("server", i) for i in range(servers)]
                + [Node("worker", i) for i in range(workers)])
    rounds = max(h.slots for h in hosts)
    order = [h.name for r in range(rounds) for h in hosts if h.slots > r]
    return ([Node("scheduler", 0, hosts[0].name)]
            + [Node("server", i, hosts[i % len(hosts)].name) for i in range(servers)]
            + [Node("worker", i, order[i % len(order)]) for i in range(workers)])


def address(host: str) -> str:
    """The address other machines reach ``host`` at: its IPv4 address where this machine can resolve it, else the
    name itself (an ssh alias this machine cannot resolve; ZeroMQ resolves it where it connects)."""
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


def check_reachable(addresses: dict[str, str]) -> None:
    """Refuse a hostfile that mixes loopback names (localhost) with other machines: the remote processes would be
    told to reach 127.0.0.1, which is themselves, and wait forever."""
    loopback = sorted(h for h, a in addresses.items() if _is_loopback(a))
    other = sorted(h for h, a in addresses.items() if not _is_loopback(a))
    if loopback and other:
        raise ValueError(
            f"the hostfile mixes loopback hosts ({', '.join(loopback)}) with other machines ({', '.join(other)}): "
            "every process must be able to reach every host at its address, so name this machine by an address "
            "the others can reach")


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return addr == "localhost"


def node_env(node: Node, *, root_uri: str, port: int, workers: int, servers: int, node_host: str,
             local: bool) -> dict[str, str]:
    """The variables one process needs on top of its inherited environment (the launcher's contract; see
    ``imperdl.launch``)."""
    env = {
        "DMLC_PS_ROOT_URI": root_uri,
        "DMLC_PS_ROOT_PORT": str(port),
        "DMLC_NUM_SERVER": str(servers),
        "DMLC_NUM_WORKER": str(workers),
        "DMLC_ROLE": node.role,
        "DMLC_NODE_HOST": node_host,
        "PYTHONUNBUFFERED": "1",  # so each line the process prints is forwarded when it is printed
    }
    if local:
        env["DMLC_INTERFACE"] = "lo"
    if node.role == "worker":
        env["IMPERDL_LAUNCH"] = "1"
        env["IMPERDL_LAUNCH_INDEX"] = str(node.index)
    return env


def command(node: Node, argv: list[str], python: str) -> list[str]:
    """What the process runs: the node module for the scheduler and servers, the user's script for workers."""
    if node.role == "worker":
        return [python, *argv]
    return [python, "-m", "imperdl.launch.node"]


def remote_command(ssh: list[str], host: str, cwd: str, env: dict[str, str], cmd: list[str]) -> list[str]:
    """``cmd`` run on ``host`` over ssh, in ``cwd``, with ``env`` set. ``-tt`` gives the remote command a terminal,
    so it gets SIGHUP when the local ssh dies (the launcher's only way to stop it); BatchMode makes a host that
    asks for a password fail instead of waiting for an answer nobody gives."""
    assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    remote = f"cd {shlex.quote(cwd)} && exec env {assignments} {shlex.join(cmd)}"
    return [*ssh, "-o", "BatchMode=yes", "-tt", host, remote]


def forwarded_env(extra: dict[str, str] | None) -> dict[str, str]:
    """What a remote process gets from this machine besides the launcher's variables: ``PYTHONPATH`` when it is
    set here, and the variables the caller passed (``env=``/``--env``). The rest of the local environment stays
    here (the remote shell has its own)."""
    env = {}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra or {})
    return env
