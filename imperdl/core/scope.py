"""``with`` blocks over process-wide settings (the policy, the fallback mode), scoped to the thread that enters them.

``set_global_policy`` / ``set_fallback_mode`` are process-wide; a ``with`` block holds only for the thread (more
exactly the ``contextvars`` context: a thread, or an asyncio task) that entered it, as NumPy's ``errstate`` does,
so two threads can compute under different policies at once. The innermost block's value lives in a
``ContextVar``: its ``get()`` is the one cost a block adds to the dispatch hot path (about 20 ns).
"""
from __future__ import annotations

import contextvars


class Blocks:
    """The stack of ``with`` blocks of one setting, per context. ``inner.get()``: the innermost value, or None."""

    __slots__ = ("inner", "_saved")

    def __init__(self, name: str):
        self.inner = contextvars.ContextVar(f"imperdl_{name}", default=None)
        self._saved = contextvars.ContextVar(f"imperdl_{name}_saved", default=())

    def push(self, value) -> None:
        self._saved.set(self._saved.get() + (self.inner.get(),))
        self.inner.set(value)

    def pop(self) -> None:
        saved = self._saved.get()
        self.inner.set(saved[-1])
        self._saved.set(saved[:-1])
