"""imperdl.scipy.signal: SciPy's ``scipy.signal``, each function a primitive (rules: ``_rules/signal.py``).

``convolve`` also takes HIPS autograd's ``axes``/``dot_axes`` (see ``_tensor_conv``).
"""
from . import _rules as _rules_pkg
from ._face import install as _install
from ._registry import primitive as _primitive
from ._tensor_conv import tensor_convolve as _tensor_convolve

_install(globals(), "signal")
_rules_pkg.load("signal")
_scipy_convolve = _primitive("signal.convolve")


def convolve(in1, in2, mode="full", method="auto", axes=None, dot_axes=None):
    """``scipy.signal.convolve``; with ``axes`` or ``dot_axes``, HIPS autograd's generalized convolution."""
    if axes is None and dot_axes is None:
        return _scipy_convolve(in1, in2, mode, method)
    return _tensor_convolve(in1, in2, axes, dot_axes or ((), ()), mode)
