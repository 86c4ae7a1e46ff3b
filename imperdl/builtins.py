"""autograd's ``autograd.builtins`` names, for code that imports them.

HIPS autograd boxes values, so a Python container of boxed values is not itself traced; its ``builtins`` module
gives container types (``tuple``, ``list``, ``dict``) and an ``isinstance`` that see through its boxes. imperdl's
tape follows arrays wherever they sit, in any Python container, and its Arrays are the values themselves: the
Python builtins already behave as autograd's do, so these names are Python's own.
"""
from __future__ import annotations

import builtins as _py

tuple = _py.tuple  # noqa: A001  (the point of this module: autograd's names for Python's containers)
list = _py.list  # noqa: A001
dict = _py.dict  # noqa: A001
isinstance = _py.isinstance  # noqa: A001
type = _py.type  # noqa: A001

__all__ = ["tuple", "list", "dict", "isinstance", "type"]
