"""``python -m imperdl.launch``: the command line of ``imperdl.launch.run``."""
from __future__ import annotations

import argparse
import sys

from .runner import LaunchError, run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m imperdl.launch",
        description="Run a Python script as data-parallel workers on MXNet's parameter server (ps-lite): one "
                    "scheduler, SERVERS servers and WORKERS workers, on this machine or over ssh.")
    p.add_argument("-n", "--workers", type=int, required=True, help="number of worker processes")
    p.add_argument("-s", "--servers", type=int, default=1, help="number of server processes (default 1)")
    p.add_argument("--hostfile", help="start the processes over ssh on these hosts (one per line, host[:slots])")
    p.add_argument("--port", type=int, help="the scheduler's port (default: a free one)")
    p.add_argument("--timeout", type=float, help="stop everything after this many seconds (exit status 124)")
    p.add_argument("--ssh", help="the ssh command for --hostfile (default: $IMPERDL_SSH or 'ssh')")
    p.add_argument("--python", help="the Python interpreter to run (default: this one, same path on every host)")
    p.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set a variable for every process (repeatable; also sent to remote hosts)")
    p.add_argument("script", help="the worker's Python script")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    return p


def main(args: list[str] | None = None) -> int:
    p = parser()
    ns = p.parse_args(args)
    env = {}
    for item in ns.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            p.error(f"--env takes NAME=VALUE, got {item!r}")
        env[name] = value
    try:
        return run([ns.script, *ns.args], ns.workers, ns.servers, hostfile=ns.hostfile, env=env,
                   timeout=ns.timeout, output=sys.stdout, errors=sys.stderr, port=ns.port, ssh=ns.ssh,
                   python=ns.python)
    except (ValueError, LaunchError) as e:
        print(f"imperdl.launch: error: {e}", file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 1


if __name__ == "__main__":
    sys.exit(main())
