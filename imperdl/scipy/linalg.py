"""imperdl.scipy.linalg: SciPy's ``scipy.linalg``, every function a primitive; gradient rules in ``_rules/linalg.py``."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "linalg")
_rules_pkg.load("linalg")
