"""imperdl.scipy.integrate: SciPy's ``scipy.integrate``, each function a primitive (rules: ``_rules/integrate.py``).

``odeint`` takes ``args`` positionally or by keyword; either way the tape sees each of them as an input.
"""
from . import _rules as _rules_pkg
from ._face import install as _install
from ._registry import primitive as _primitive

_install(globals(), "integrate")
_rules_pkg.load("integrate")
_odeint = _primitive("integrate.odeint")


def odeint(func, y0, t, args=(), **kwargs):
    """``scipy.integrate.odeint(func, y0, t, args)``: ``func(y, t, *args)`` written with ``imperdl.numpy``;
    differentiable in ``y0``, ``t`` and ``args`` (first order, by the adjoint method)."""
    return _odeint(func, y0, t, tuple(args), **kwargs)
