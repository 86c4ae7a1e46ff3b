"""imperdl.scipy: SciPy's namespace on imperdl Arrays, differentiable where a rule exists.

``special``, ``stats``, ``signal``, ``integrate`` and ``linalg`` carry gradient rules (see ``docs/scipy.md`` for the
list); every other SciPy name is reached the same way and runs on the host values, differentiable only where a
rule exists (otherwise differentiating through it raises ``NoGradientError`` naming it).
"""
from ._face import install as _install

_install(globals(), "")
