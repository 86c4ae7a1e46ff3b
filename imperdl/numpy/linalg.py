"""imperdl.numpy.linalg: NumPy's ``numpy.linalg``, dispatched like the rest of the face."""
import numpy as _numpy

from ._facade import install as _install

_install(globals(), _numpy.linalg, "linalg.")
