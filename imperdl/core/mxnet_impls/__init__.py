"""MXNet implementations of NumPy functions, one module per family, each a table of
``register_mxnet(name, impl, pred, meta)`` calls. Importing this package never imports MXNet: implementations
reach ``mxnet.numpy`` through the backend adapter, which is loaded before any of them runs.
"""
from . import creation, elementwise, indexing, linear, random, reductions, shape  # noqa: F401
