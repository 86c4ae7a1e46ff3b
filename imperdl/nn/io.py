"""Minibatch iteration in MXNet's and MinPy's shape: ``NDArrayIter`` yields ``DataBatch`` objects.

Data is kept on the host as NumPy arrays and each batch is gathered there and handed out as imperdl Arrays, so
an iterator costs one host gather per batch whatever backend later runs the model.

Semantics follow MXNet's ``mx.io.NDArrayIter``: iteration does not rewind by itself (call ``reset()`` before each
epoch, as the Solver does); ``shuffle=True`` draws a new order at every ``reset()`` from the iterator's own
``numpy.random.RandomState`` (seeded by ``seed``, or from NumPy's global generator when ``seed`` is None, so
``np.random.seed`` makes runs repeatable). ``get_state()``/``set_state()`` capture the position, order and
generator, which is what a checkpointed Solver needs to resume in the middle of an epoch.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy

from imperdl.core import Array

from .checkpoint import random_state_from_tree, random_state_to_tree

__all__ = ["DataBatch", "DataDesc", "NDArrayIter"]

_HANDLES = ("pad", "discard", "roll_over")


class DataDesc(NamedTuple):
    """Name and batch shape of one input (compares equal to a plain ``(name, shape)`` tuple)."""

    name: str
    shape: tuple


class DataBatch:
    """One minibatch: ``data`` and ``label`` are lists of Arrays (MXNet's convention, so ``batch.data[0]``).

    ``pad`` counts the samples at the end that were repeated to fill the batch (``last_batch_handle='pad'``);
    ``index`` holds the sample indices the batch was drawn from.
    """

    def __init__(self, data, label=None, pad: int = 0, index=None):
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index

    def __repr__(self) -> str:
        shapes = [tuple(d.shape) for d in self.data] if isinstance(self.data, (list, tuple)) else self.data
        return f"DataBatch(data shapes={shapes}, pad={self.pad})"


def _host(x, what: str) -> numpy.ndarray:
    if type(x) is Array:
        return x.asnumpy()
    a = numpy.asarray(x)
    if a.dtype == object:
        raise TypeError(f"NDArrayIter: {what} must be a numeric array, got dtype=object")
    if a.ndim == 0:
        raise ValueError(f"NDArrayIter: {what} must have a sample axis, got a 0-d value")
    return a


def _named(x, default: str, what: str) -> list[tuple[str, numpy.ndarray]]:
    """``x`` (array, list of arrays or dict name -> array) as a list of (name, host array)."""
    if x is None:
        return []
    if isinstance(x, dict):
        return [(str(k), _host(v, f"{what}[{k!r}]")) for k, v in sorted(x.items())]
    if isinstance(x, (list, tuple)) and x and not numpy.isscalar(x[0]) and numpy.ndim(x[0]) > 0:
        if len(x) == 1:
            return [(default, _host(x[0], what))]
        return [(f"_{i}_{default}", _host(v, f"{what}[{i}]")) for i, v in enumerate(x)]
    return [(default, _host(x, what))]


class NDArrayIter:
    """Iterate over arrays in minibatches.

    - ``data``: an array (NumPy or imperdl), a list of arrays, or a dict name -> array (MinPy's ``{'data': X}``);
    - ``label``: the same kinds, or None;
    - ``batch_size``: samples per batch (> 0);
    - ``shuffle``: draw a new sample order at every ``reset()``;
    - ``last_batch_handle``: what to do with the final incomplete batch: 'pad' fills it with samples from the
      start of the order and sets ``batch.pad``; 'discard' drops it; 'roll_over' keeps its samples for the start
      of the next epoch;
    - ``seed``: seed of the iterator's shuffling generator.
    """

    def __init__(self, data, label=None, batch_size: int = 1, shuffle: bool = False,
                 last_batch_handle: str = "pad", seed: int | None = None,
                 data_name: str = "data", label_name: str = "softmax_label"):
        if last_batch_handle not in _HANDLES:
            raise ValueError(f"NDArrayIter: last_batch_handle must be one of {_HANDLES}, got {last_batch_handle!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size <= 0:
            raise ValueError(f"NDArrayIter: batch_size must be a positive integer, got {batch_size!r}")
        self.data = _named(data, data_name, "data")
        if not self.data:
            raise ValueError("NDArrayIter: data is empty (got None or an empty dict/list)")
        self.label = _named(label, label_name, "label")
        lengths = {name: a.shape[0] for name, a in self.data + self.label}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"NDArrayIter: data and label must have the same number of samples, got {lengths}")
        self.num_data = next(iter(lengths.values()))
        if self.num_data == 0:
            raise ValueError("NDArrayIter: data has no samples")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.last_batch_handle = last_batch_handle
        if seed is None:
            seed = int(numpy.random.randint(0, 2**31 - 1))
        self._rng = numpy.random.RandomState(seed)
        self._order = numpy.arange(self.num_data)
        self._carry = numpy.zeros(0, dtype=numpy.int64)  # roll_over: samples left from the previous epoch
        self._cursor = 0  # position in the current epoch's index stream (carry followed by order)
        self._new_epoch()

    # ------------------------------------------------------------------ description
    @property
    def provide_data(self) -> list[DataDesc]:
        return [DataDesc(n, (self.batch_size, *a.shape[1:])) for n, a in self.data]

    @property
    def provide_label(self) -> list[DataDesc]:
        return [DataDesc(n, (self.batch_size, *a.shape[1:])) for n, a in self.label]

    def getnumiterations(self) -> int:
        """How many batches the current epoch yields in all (counting those already served)."""
        n = len(self._carry) + self.num_data
        if self.last_batch_handle == "pad":
            return -(-n // self.batch_size)
        return n // self.batch_size

    def __len__(self) -> int:
        return self.getnumiterations()

    # ------------------------------------------------------------------ iteration
    def _new_epoch(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(self.num_data)
        self._stream = numpy.concatenate([self._carry, self._order]).astype(numpy.int64)
        self._cursor = 0

    def reset(self) -> None:
        """Start a new epoch (reshuffling when ``shuffle``); under 'roll_over' the unserved tail carries over."""
        if self.last_batch_handle == "roll_over":
            rest = self._stream[self._cursor:]
            # only a finished epoch rolls its tail over; a reset in the middle of an epoch starts clean
            self._carry = rest if len(rest) < self.batch_size else numpy.zeros(0, dtype=numpy.int64)
        self._new_epoch()

    def iter_next(self) -> bool:
        """Whether another batch is available."""
        left = len(self._stream) - self._cursor
        if self.last_batch_handle == "pad":
            return left > 0
        return left >= self.batch_size

    def next(self) -> DataBatch:
        """The next batch; raises StopIteration at the end of the epoch."""
        if not self.iter_next():
            raise StopIteration
        start, stop = self._cursor, self._cursor + self.batch_size
        idx = self._stream[start:stop]
        pad = self.batch_size - len(idx)
        if pad:  # 'pad': wrap around to the start of this epoch's order (repeatedly if the data is tiny)
            idx = numpy.concatenate([idx, numpy.resize(self._stream, pad)])
        self._cursor = min(stop, len(self._stream))
        data = [Array(numpy.ascontiguousarray(a[idx])) for _, a in self.data]
        label = [Array(numpy.ascontiguousarray(a[idx])) for _, a in self.label]
        return DataBatch(data, label, pad=pad, index=idx)

    def __next__(self) -> DataBatch:
        return self.next()

    def __iter__(self):
        return self

    # ------------------------------------------------------------------ checkpointing
    def get_state(self) -> dict[str, Any]:
        """Position, order and generator state (arrays and JSON-able values), for ``set_state``."""
        return {
            "cursor": int(self._cursor),
            "stream": self._stream.copy(),
            "carry": self._carry.copy(),
            "order": self._order.copy(),
            "rng": random_state_to_tree(self._rng),
            "num_data": self.num_data,
            "batch_size": self.batch_size,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what ``get_state`` returned (from this iterator or one built over the same data)."""
        if int(state["num_data"]) != self.num_data or int(state["batch_size"]) != self.batch_size:
            raise ValueError(
                f"NDArrayIter.set_state: state is for {state['num_data']} samples in batches of "
                f"{state['batch_size']}, this iterator has {self.num_data} in batches of {self.batch_size}"
            )
        self._rng.set_state(random_state_from_tree(state["rng"]))
        self._stream = numpy.asarray(state["stream"], dtype=numpy.int64)
        self._carry = numpy.asarray(state["carry"], dtype=numpy.int64)
        self._order = numpy.asarray(state["order"], dtype=numpy.int64)
        self._cursor = int(state["cursor"])
