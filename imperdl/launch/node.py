"""A ps-lite scheduler or server: ``DMLC_ROLE=scheduler|server python -m imperdl.launch.node``.

MXNet 1.9.1 does the work itself: when a process whose ``DMLC_ROLE`` is not ``worker`` imports ``mxnet``, the
import (``mxnet/kvstore/kvstore_server.py``) creates a ``dist`` KVStore, runs the server or scheduler loop and calls
``sys.exit()`` once the workers have finished. So this module only imports MXNet through imperdl's loader (which
applies the NumPy/distutils shims) and turns what can go wrong into an exit status the launcher understands.
"""
from __future__ import annotations

import os
import socket
import sys

from .plan import BIND_FAILED


def main() -> int:
    role = os.environ.get("DMLC_ROLE")
    if role not in ("scheduler", "server"):
        print(f"imperdl.launch.node runs a ps-lite scheduler or server: DMLC_ROLE must be 'scheduler' or 'server', "
              f"got {role!r}", file=sys.stderr)
        return 2
    if role == "scheduler" and not _port_free(os.environ.get("DMLC_PS_ROOT_PORT", "")):
        print(f"the scheduler could not bind its port ({os.environ.get('DMLC_PS_ROOT_PORT')}): it is in use",
              file=sys.stderr)
        return BIND_FAILED
    from imperdl.core.backends import mxnet_backend

    mxnet_backend.load()  # a scheduler or server stays inside this call until the workers finish, then exits 0
    reason = mxnet_backend.unavailable_reason()
    if reason is None:
        print(f"MXNet was imported but did not run the {role} loop (is DMLC_ROLE read by this MXNet?)",
              file=sys.stderr)
        return 1
    if "bind failed" in reason:
        port = os.environ.get("DMLC_PS_ROOT_PORT")
        print(f"the {role} could not bind its port ({port} for the scheduler): it is in use", file=sys.stderr)
        return BIND_FAILED
    print(f"the {role} could not start: {reason.splitlines()[-1]}", file=sys.stderr)
    return 1


def _port_free(port: str) -> bool:
    """Whether the scheduler's port can be bound here, found in milliseconds (MXNet's own bind comes after a
    seconds-long import; it still fails cleanly if someone takes the port in between)."""
    if not port.isdigit():
        return True  # MXNet reports it
    with socket.socket() as s:
        try:
            s.bind(("", int(port)))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())
