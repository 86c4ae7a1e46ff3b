"""The optimizer object MXNet's servers (or a local store) run: the user's optimizer for weight keys, a plain
store for every other key.

A KVStore has one updater for all keys, and once one is set, every push goes through it: imperdl's own sums
(gradients of ``allreduce_gradients``, the workers' agreement checks, the Solver's loss) would be "optimised"
too. ``KeyRouter`` wraps the user's optimizer and stores the pushed sum unchanged for keys outside the
weight range (``keys.UPDATED``). The servers unpickle it, so this module must import on them: it loads MXNet
through imperdl's loader, as the launcher's server processes do.
"""
from __future__ import annotations

import sys

from imperdl.core.backends import mxnet_backend as _mxb

from .keys import UPDATED

if _mxb._mx is None and "mxnet.optimizer" in sys.modules:
    # a server unpickling us: MXNet runs its server loop inside its own ``import mxnet``, so the package is only
    # partly initialised there (no ``mxnet.nd`` yet) but its optimizer module is complete
    _optimizer = sys.modules["mxnet.optimizer"]
else:
    _optimizer = _mxb.require("imperdl.distributed.set_optimizer").optimizer

__all__ = ["KeyRouter"]


class KeyRouter(_optimizer.Optimizer):
    """``inner`` for keys below ``UPDATED[1]``; for the others the (summed) push replaces the stored value."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.multi_precision = getattr(inner, "multi_precision", False)

    def create_state_multi_precision(self, index, weight):
        if isinstance(index, int) and index >= UPDATED[1]:
            return None
        return self.inner.create_state_multi_precision(index, weight)

    def create_state(self, index, weight):
        return self.create_state_multi_precision(index, weight)

    def update_multi_precision(self, index, weight, grad, state):
        if isinstance(index, int) and index >= UPDATED[1]:
            grad.copyto(weight)
            return
        self.inner.update_multi_precision(index, weight, grad, state)

    def update(self, index, weight, grad, state):
        self.update_multi_precision(index, weight, grad, state)
