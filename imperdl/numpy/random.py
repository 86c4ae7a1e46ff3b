"""imperdl.numpy.random: NumPy's ``numpy.random``, dispatched like the rest of the face."""
import numpy as _numpy

from ._facade import install as _install

_install(globals(), _numpy.random, "random.")
