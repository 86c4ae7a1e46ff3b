"""JitError and the user's line it names."""
from __future__ import annotations

import linecache
import sys

# the engine's own frames, skipped when looking for the line the user wrote
_ENGINE = ("numpy", "imperdl.core", "imperdl.numpy")


class JitError(RuntimeError):
    """``jit(f)`` met something it cannot replay exactly: it refuses rather than replay a stale value."""


def user_line(depth: int = 2) -> str:
    """``file:line (source)`` of the innermost frame outside imperdl and NumPy, or ``''``."""
    frame = sys._getframe(depth)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_ENGINE):
        frame = frame.f_back
    if frame is None:
        return ""
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" + (f" ({line})" if line else "")
