"""autograd-style helpers: ``flatten`` (a pytree of arrays as one vector) and ``optimizers`` (sgd, rmsprop, adam
over a gradient function), as ``autograd.misc`` offers them."""
from . import optimizers
from .flatten import flatten, flatten_func

__all__ = ["flatten", "flatten_func", "optimizers"]
