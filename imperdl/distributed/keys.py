"""KVStore keys that mean the same thing on every worker.

MXNet maps string keys to integers in the order each process first uses them, so two workers that meet their
parameters in a different order would silently add unrelated tensors. imperdl hands out integer keys itself, in
blocks: a dict of tensors gets one key per entry in sorted-name order, and the blocks are allocated in the order of
the (collective) calls, which is the same on every worker. A new block's description (purpose, names, shapes,
dtypes, first key) is fingerprinted, and the fingerprints of all workers are compared once, when the block is made;
a difference is an error naming the ranks and what they disagree on, never a wrong sum.

Ranges: ps-lite picks the server of a small array as ``(key * 9973) % servers`` in a C ``int``, so keys stay below
2**31 / 9973 (~215,000). Keys under 100,000 hold weights the server optimizer updates; 100,000-149,999 hold sums
(gradients, flags: the server stores them unchanged); 150,000-214,999 are written once (broadcasts).
"""
from __future__ import annotations

import hashlib

__all__ = ["KeySpace", "fingerprint", "UPDATED", "SUMMED", "ONCE"]

UPDATED = (0, 100_000)
SUMMED = (100_000, 150_000)
ONCE = (150_000, 215_000)
_RANGES = {"updated": UPDATED, "summed": SUMMED, "once": ONCE}


class KeySpace:
    """Per-process counters for the three key ranges (identical on every worker as long as the calls are)."""

    def __init__(self):
        self._next = {name: lo for name, (lo, _) in _RANGES.items()}

    def take(self, kind: str, n: int) -> list[int]:
        lo = self._next[kind]
        hi = _RANGES[kind][1]
        if lo + n > hi:
            raise RuntimeError(
                f"imperdl.distributed: out of '{kind}' KVStore keys ({hi - _RANGES[kind][0]} in all); each new set "
                "of tensor names or each broadcast takes fresh keys: reuse the same dict keys between steps")
        self._next[kind] = lo + n
        return list(range(lo, lo + n))


def fingerprint(description: str) -> list[float]:
    """A 48-bit hash of ``description`` as three integers below 2**16, exact as float32 values (MXNet's servers
    keep float64 at float32 precision, so one 48-bit float64 would not survive the trip)."""
    h = hashlib.sha256(description.encode()).digest()
    return [float(int.from_bytes(h[i:i + 2], "big")) for i in (0, 2, 4)]
