"""imperdl.scipy.integrate: SciPy's ``scipy.integrate``, each function a primitive (rules: ``_rules/integrate.py``).

``odeint`` takes ``args`` positionally or by keyword; either way the tape sees each of them as an input. An
argument that is a container (autograd's ode_net passes a list of (W, b) tuples) is flattened into one vector, as
autograd does, so that the tape sees the arrays inside it.
"""
from ..misc.flatten import flatten as _flatten
from . import _rules as _rules_pkg
from ._face import install as _install
from ._registry import primitive as _primitive

_install(globals(), "integrate")
_rules_pkg.load("integrate")
_odeint = _primitive("integrate.odeint")


def odeint(func, y0, t, args=(), **kwargs):
    """``scipy.integrate.odeint(func, y0, t, args)``: ``func(y, t, *args)`` written with ``imperdl.numpy``;
    differentiable in ``y0``, ``t`` and ``args`` (first order, by the adjoint method)."""
    args = tuple(args)
    if any(isinstance(a, (list, tuple, dict)) for a in args):
        flats, unflattens = zip(*map(_flatten, args))
        inner = func

        def func(y, s, *flat):
            return inner(y, s, *(unflatten(f) for unflatten, f in zip(unflattens, flat)))

        args = flats
    return _odeint(func, y0, t, args, **kwargs)
