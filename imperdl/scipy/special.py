"""imperdl.scipy.special: SciPy's ``scipy.special``, each function a primitive (rules: ``_rules/special.py``)."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "special")
_rules_pkg.load("special")
