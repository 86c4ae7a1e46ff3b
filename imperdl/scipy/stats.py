"""imperdl.scipy.stats: SciPy's ``scipy.stats``, each function a primitive (rules: ``_rules/stats.py``)."""
from . import _rules as _rules_pkg
from ._face import install as _install

_install(globals(), "stats")
_rules_pkg.load("stats")
