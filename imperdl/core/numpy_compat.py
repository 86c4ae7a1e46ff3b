"""NumPy 1.x / 2.x differences imperdl's own code meets, in one place (the face itself mirrors whichever NumPy is
installed: ``imperdl.numpy`` has exactly the installed NumPy's names and gives its results)."""
from __future__ import annotations

import numpy

NUMPY2 = int(numpy.__version__.split(".")[0]) >= 2

try:  # public since NumPy 2.0
    from numpy.lib.array_utils import normalize_axis_tuple
except ImportError:  # NumPy 1.x
    from numpy.core.numeric import normalize_axis_tuple

__all__ = ["NUMPY2", "normalize_axis_tuple"]
