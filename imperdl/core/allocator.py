"""glibc's malloc kept from returning a training step's buffers to the OS, so the next step need not fault them in.

A step allocates and frees the same large buffers every time (activations, their gradients, MXNet's outputs).
glibc serves a buffer above its mmap threshold with a fresh ``mmap`` and unmaps it on free, and it trims the
heap's free top beyond its trim threshold: the next step then touches new pages, one page fault per 4 KiB.
Measured on the CS231n convnet step (batch 50, 3x32x32, 32 7x7 filters), 6,400 faults per step: 38 ms under
``imperdl.jit`` and 40 ms eager; with the mmap threshold at glibc's 32 MiB maximum and a 64 MiB trim threshold, 40
faults, 25 and 26 ms. The price is that up to 64 MiB of freed memory stays mapped in the process (jemalloc and
tcmalloc, which PyTorch's CPU tuning guide suggests preloading, keep freed pages around too).

Applied once, when imperdl is imported (this module tunes on import), where the C library is glibc, and never
over a choice of the user's: not when ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or a
``glibc.malloc`` tunable in ``GLIBC_TUNABLES`` is set, nor with ``IMPERDL_MALLOC=system``.
"""
from __future__ import annotations

import ctypes
import os

MMAP_THRESHOLD = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
OPT_OUT = "IMPERDL_MALLOC"

applied = False  # whether this process runs with imperdl's settings (shown by the benchmarks)


def _users_choice(environ) -> bool:
    if environ.get(OPT_OUT, "").strip().lower() == "system":
        return True
    if "MALLOC_MMAP_THRESHOLD_" in environ or "MALLOC_TRIM_THRESHOLD_" in environ:
        return True
    return "glibc.malloc" in environ.get("GLIBC_TUNABLES", "")


def tune(environ=os.environ) -> bool:
    """Set glibc's mmap and trim thresholds (see the module docstring); True if they were set."""
    global applied
    try:
        libc_name = os.confstr("CS_GNU_LIBC_VERSION")  # ('glibc 2.36'; absent or unset elsewhere)
    except (AttributeError, ValueError, OSError):
        return False
    if not libc_name or not libc_name.startswith("glibc") or _users_choice(environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return applied


tune()
