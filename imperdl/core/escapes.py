"""Ways a traced value can leave the tape: each one keeps the gradient or raises, never drops it silently.

A value on a tape that is recording (inside ``grad`` and friends) turned into a NumPy array or a Python number is a
constant to whatever computes with it next: ``numpy_array.dot(w)`` converts ``w`` through ``__array__`` (NumPy's
methods have no dispatch hook) and trains nothing. So those conversions raise ``TracedConversionError``, naming the
user's line and what to write instead, as HIPS autograd does for ``float()`` of a traced value. Displaying a value
never computes with it: ``repr``/``str``/``format`` read the host data directly, and conversions made from inside
the display libraries below (a log record formatted with ``%f``, a plot) are let through.
"""
from __future__ import annotations

import linecache
import sys

from .tape import state

# top-level packages that only display what they are given (their conversions cannot feed a gradient)
DISPLAY_PACKAGES = frozenset(("matplotlib", "logging", "tqdm", "IPython", "pprint", "reprlib"))
# the engine's own frames, skipped when looking for the line the user wrote
_ENGINE = ("numpy", "imperdl.core", "imperdl.numpy")

_ADVICE = {
    "array": "write the call with imperdl.numpy (np.dot(a, x), a @ x, np.asarray(x)), which records it",
    "number": "keep it an array (np.sum(x), x * 2), print it with print(x) or f'{x:.4f}'",
    "write": "write it by indexing (out[...] = x, which is recorded) or build the result functionally (np.where)",
}


class TracedConversionError(TypeError):
    """A value being differentiated was turned into a NumPy array or a Python value: its gradient would be lost."""


def is_traced(a) -> bool:
    """``a`` is on a tape that is recording now (an Array whose ``_node`` names an active tape)."""
    node = a._node
    return node is not None and any(t in node for t in state.stack)


def leaving(a, what: str, kind: str) -> None:
    """Raise if ``a`` is traced and the conversion ``what`` was not asked for by a display library."""
    if not is_traced(a):
        return
    frame = _user_frame(sys._getframe(2))
    where = ""
    if frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".", 1)[0] in DISPLAY_PACKAGES:
            return
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        where = f" at {frame.f_code.co_filename}:{frame.f_lineno}" + (f" ({line})" if line else "")
    raise TracedConversionError(
        f"{what} of an imperdl Array (shape {a.shape}, dtype {a.dtype}) that is being differentiated{where}: the "
        f"result would be a constant and its gradient would be silently lost. Instead, {_ADVICE[kind]}; to use the "
        "value as a constant on purpose, convert imperdl.core.stop_gradient(x)."
    )


def leaving_tree(x, what: str, kind: str = "array") -> None:
    """``leaving`` for every Array inside ``x`` (lists, tuples, dicts), for NumPy functions run on host data."""
    from .array import Array

    t = type(x)
    if t is Array:
        leaving(x, what, kind)
    elif t is list or t is tuple:
        for e in x:
            leaving_tree(e, what, kind)
    elif t is dict:
        for e in x.values():
            leaving_tree(e, what, kind)


def _user_frame(frame):
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_ENGINE):
        frame = frame.f_back
    return frame
