"""The per-thread stack of active recorders: tapes (``tape``) and jit tracers (``capture``).

It lives apart from both so that ``array`` can test it (``if state.stack:``) on the conversions a tracer must see
without importing the tape: with nothing recording, that test is the whole cost.
"""
from __future__ import annotations

import threading


class _State(threading.local):
    def __init__(self):
        self.stack = []  # active recorders of this thread, innermost last


state = _State()


def value_read(a, what: str) -> None:
    """Tell the active jit tracers that ``a``'s value is being read into Python (``what``: ``float()``...)."""
    for r in state.stack:
        if r.capturing:
            r.value_read(a, what)


def capturing() -> bool:
    """A jit tracer is recording in this thread."""
    for r in state.stack:
        if r.capturing:
            return True
    return False


def refuse(what: str) -> None:
    """Something jit cannot replay happened while a tracer records: it raises (tapes ignore it)."""
    for r in state.stack:
        if r.capturing:
            r.refuse(what)
