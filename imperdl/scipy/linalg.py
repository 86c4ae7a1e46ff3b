"""imperdl.scipy.linalg: SciPy's ``scipy.linalg``, each function a primitive (rules: ``_rules/linalg.py``)."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "linalg")
_rules_pkg.load("linalg")
