"""Devices. A Context names where MXNet-side data lives; NumPy data is always on the host.

The current context is process-global (like MinPy's) and restored exactly by ``with`` blocks. Unlike a
``with policy:`` block, a ``with ctx:`` block changes it for every thread: the default policy and the cost-aware
decisions follow the device type process-wide, so per-thread devices would need per-thread policies too.
"""
from __future__ import annotations


class Context:
    """A device: ``cpu()`` or ``gpu(i)``. Hashable, comparable, usable as ``with ctx:``."""

    __slots__ = ("device_type", "device_id", "_mx", "_saved")

    def __init__(self, device_type: str, device_id: int = 0):
        if device_type not in ("cpu", "gpu"):
            raise ValueError(f"imperdl.context: device_type must be 'cpu' or 'gpu', got {device_type!r}")
        self.device_type = device_type
        self.device_id = int(device_id)
        self._mx = None
        self._saved = []

    def as_mxnet(self):
        """The equivalent ``mxnet.Context`` (made on first use, so importing imperdl stays light)."""
        if self._mx is None:
            import mxnet

            self._mx = mxnet.Context(self.device_type, self.device_id)
        return self._mx

    def __eq__(self, other):
        return isinstance(other, Context) and (self.device_type, self.device_id) == (
            other.device_type,
            other.device_id,
        )

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __repr__(self):
        return f"{self.device_type}({self.device_id})"

    def __enter__(self):
        self._saved.append(current_context())
        set_context(self)
        return self

    def __exit__(self, *exc):
        set_context(self._saved.pop())
        return False


def cpu(device_id: int = 0) -> Context:
    """The host."""
    return Context("cpu", device_id)


def gpu(device_id: int = 0) -> Context:
    """GPU ``device_id``; MXNet must be a CUDA build (``mxnet-cu112``) for data to go there."""
    return Context("gpu", device_id)


def num_gpus() -> int:
    """GPUs MXNet can see (0 with the CPU wheel, or without MXNet)."""
    from .core.backends import mxnet_backend

    return mxnet_backend.num_gpus()


_current: Context | None = None


def current_context() -> Context:
    """The context new MXNet data goes to: ``gpu(0)`` when MXNet sees a GPU, else ``cpu()``."""
    global _current
    if _current is None:
        _current = gpu(0) if num_gpus() > 0 else cpu()
    return _current


def set_context(ctx: Context) -> None:
    """Make ``ctx`` current for the whole process (the default policy follows it: see ``imperdl.core.policy``)."""
    global _current
    if not isinstance(ctx, Context):
        raise TypeError(f"imperdl.set_context: expected a Context (cpu() or gpu(i)), got {type(ctx).__name__}")
    changed = _current is None or _current.device_type != ctx.device_type
    _current = ctx
    if changed:
        from .core import policy

        policy._context_changed(ctx)
