"""MinPy's module path ``minpy.array``: its ``Array``, and ``Number`` (MinPy's scalar, a 0-d ``Array`` here)."""
from .core.array import Array

Number = Array

__all__ = ["Array", "Number"]
