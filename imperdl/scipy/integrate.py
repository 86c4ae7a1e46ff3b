"""imperdl.scipy.integrate: SciPy's ``scipy.integrate``, every function a primitive; gradient rules in ``_rules/integrate.py``."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "integrate")
_rules_pkg.load("integrate")
