"""Fallback notification (CuPy's idea): what happens when a call that could prefer MXNet runs on NumPy.

Modes: ``'ignore'`` (default), ``'log'`` (INFO on the ``imperdl.dispatch`` logger), ``'warn'``
(``FallbackWarning``) and ``'raise'`` (``FallbackError``). Set process-wide (``set_fallback_mode``) or for a
``with`` block, which holds for its own thread only (as ``with policy:`` blocks do).
"""
from __future__ import annotations

import logging
import warnings

from .scope import Blocks
from .signature import format_key

MODES = ("ignore", "log", "warn", "raise")
_log = logging.getLogger("imperdl.dispatch")

mode: str | None = None  # the process-wide mode; None means 'ignore'


_blocks = Blocks("fallback_mode")  # this thread's with-block modes (none: the process-wide mode holds)


def now() -> str | None:
    """The mode in force in this thread (None: 'ignore'). Read only when a call falls back."""
    m = _blocks.inner.get()
    return mode if m is None else (None if m == "ignore" else m)


class FallbackWarning(UserWarning):
    """A call ran on NumPy although the policy prefers MXNet."""


class FallbackError(RuntimeError):
    """Raised in ``'raise'`` mode instead of falling back."""


def set_fallback_mode(new: str) -> None:
    """Choose how fallbacks are reported: 'ignore' | 'log' | 'warn' | 'raise'."""
    global mode
    if new not in MODES:
        raise ValueError(f"imperdl.set_fallback_mode: mode must be one of {MODES}, got {new!r}")
    mode = None if new == "ignore" else new


def get_fallback_mode() -> str:
    """The mode in force in this thread: its innermost ``with fallback_mode`` block's, else the process-wide one."""
    return now() or "ignore"


class fallback_mode:
    """``with imperdl.fallback_mode('warn'):`` — the mode for a block of this thread, restored on exit (also on
    errors)."""

    def __init__(self, new: str):
        if new not in MODES:
            raise ValueError(f"imperdl.fallback_mode: mode must be one of {MODES}, got {new!r}")
        self.new = new

    def __enter__(self):
        _blocks.push(self.new)
        return self

    def __exit__(self, *exc):
        _blocks.pop()
        return False


def notify(prim, key, reason: str) -> None:
    mode = now()
    msg = f"{prim.space}.{prim.name} falls back to NumPy for ({format_key(key)}): {reason}"
    if mode == "warn":
        warnings.warn(msg, FallbackWarning, stacklevel=4)
    elif mode == "log":
        _log.info(msg)
    elif mode == "raise":
        raise FallbackError(msg)
