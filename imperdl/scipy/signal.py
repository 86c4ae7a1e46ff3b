"""imperdl.scipy.signal: SciPy's ``scipy.signal``, every function a primitive; gradient rules in ``_rules/signal.py``."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "signal")
_rules_pkg.load("signal")
