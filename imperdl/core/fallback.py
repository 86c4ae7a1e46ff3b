"""Fallback notification (CuPy's idea): what happens when a call that could prefer MXNet runs on NumPy.

Modes: ``'ignore'`` (default), ``'log'`` (INFO on the ``imperdl.dispatch`` logger), ``'warn'``
(``FallbackWarning``) and ``'raise'`` (``FallbackError``). Set globally or for a ``with`` block.
"""
from __future__ import annotations

import logging
import warnings

from .signature import format_key

MODES = ("ignore", "log", "warn", "raise")
_log = logging.getLogger("imperdl.dispatch")

mode: str | None = None  # None means 'ignore' (checked on the hot path as one global read)


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
    return mode or "ignore"


class fallback_mode:
    """``with imperdl.fallback_mode('warn'):`` — the mode for a block, restored on exit (also on errors)."""

    def __init__(self, new: str):
        if new not in MODES:
            raise ValueError(f"imperdl.fallback_mode: mode must be one of {MODES}, got {new!r}")
        self.new = new
        self.saved: list = []

    def __enter__(self):
        self.saved.append(get_fallback_mode())
        set_fallback_mode(self.new)
        return self

    def __exit__(self, *exc):
        set_fallback_mode(self.saved.pop())
        return False


def notify(prim, key, reason: str) -> None:
    msg = f"{prim.space}.{prim.name} falls back to NumPy for ({format_key(key)}): {reason}"
    if mode == "warn":
        warnings.warn(msg, FallbackWarning, stacklevel=4)
    elif mode == "log":
        _log.info(msg)
    elif mode == "raise":
        raise FallbackError(msg)
