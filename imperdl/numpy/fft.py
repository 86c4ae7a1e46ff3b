"""imperdl.numpy.fft: NumPy's ``numpy.fft``, dispatched like the rest of the face."""
import numpy as _numpy

from ._facade import install as _install

_install(globals(), _numpy.fft, "fft.")
