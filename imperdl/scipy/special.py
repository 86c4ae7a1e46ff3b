"""imperdl.scipy.special: SciPy's ``scipy.special``, every function a primitive; gradient rules in ``_rules/special.py``."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "special")
_rules_pkg.load("special")
