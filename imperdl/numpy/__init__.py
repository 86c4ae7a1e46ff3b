"""imperdl.numpy: NumPy's namespace, every function dispatched to MXNet where it gives NumPy's exact result and
to NumPy elsewhere, every result an ``imperdl.core.Array``. Use it as ``import imperdl.numpy as np``.
"""
import numpy as _numpy

from ..core.policy import set_global_policy as set_policy  # noqa: F401  (MinPy's np.set_policy)
from ..core.statistics import record_op_stat, show_op_stat  # noqa: F401  (MinPy's op statistics)
from ._facade import install as _install

_install(globals(), _numpy, "")
