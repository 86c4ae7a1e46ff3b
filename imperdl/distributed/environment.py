"""What the launcher (``python -m imperdl.launch``) tells a worker through its environment.

ps-lite reads the ``DMLC_*`` variables itself when the KVStore is created; imperdl only needs to know whether
they are there (a launched worker) or not (a plain ``python script.py``: a world of one process).
"""
from __future__ import annotations

import os

__all__ = ["launched", "default_timeout", "REQUIRED"]

# what ps-lite needs to join a run (DMLC_NODE_HOST/DMLC_INTERFACE are optional: ps-lite guesses them)
REQUIRED = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER", "DMLC_NUM_WORKER")
DEFAULT_TIMEOUT = 120.0


def launched() -> bool:
    """True in a worker the launcher (or a hand-made ps-lite setup) started; a clear error for a half-set one."""
    present = [k for k in REQUIRED if os.environ.get(k)]
    if not present:
        return False
    missing = [k for k in REQUIRED if not os.environ.get(k)]
    if missing:
        raise RuntimeError(
            f"imperdl.distributed: the environment sets {present} but not {missing}; start workers with "
            "`python -m imperdl.launch -n N script.py`, or unset the DMLC_* variables to run as one process")
    role = os.environ["DMLC_ROLE"]
    if role != "worker":
        raise RuntimeError(f"imperdl.distributed: DMLC_ROLE is {role!r}; only a worker can call init() (the "
                           "launcher starts schedulers and servers itself)")
    return True


def default_timeout() -> float:
    """``IMPERDL_DIST_TIMEOUT`` (seconds) or 120."""
    raw = os.environ.get("IMPERDL_DIST_TIMEOUT")
    if raw is None or raw == "":
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"imperdl.distributed: IMPERDL_DIST_TIMEOUT must be a number of seconds, got {raw!r}") \
            from None
    if not value > 0:
        raise ValueError(f"imperdl.distributed: IMPERDL_DIST_TIMEOUT must be positive, got {raw!r}")
    return value
