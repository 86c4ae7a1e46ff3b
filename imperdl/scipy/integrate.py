"""imperdl.scipy.integrate: SciPy's ``scipy.integrate``, each function a primitive (rules: ``_rules/integrate.py``)."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "integrate")
_rules_pkg.load("integrate")
