"""imperdl.scipy.signal: SciPy's ``scipy.signal``, each function a primitive (rules: ``_rules/signal.py``)."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "signal")
_rules_pkg.load("signal")
