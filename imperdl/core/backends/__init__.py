"""Backend adapters: one module per backend, indexed by a small integer used everywhere on the hot path.

Adding an accelerator backend means adding an adapter here and an implementation table, not touching dispatch.
"""
from . import mxnet_backend, numpy_backend

NUMPY = 0
MXNET = 1
BACKENDS = (numpy_backend, mxnet_backend)
NAMES = ("numpy", "mxnet")
