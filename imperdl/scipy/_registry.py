"""SciPy names as primitives: ``primitive('special.gammaln')`` is the dispatched, recordable SciPy function.

They join the engine's one registry under ``scipy.<name>`` (statistics, coverage and the tape see them like NumPy's
names), run on the host with NumPy arrays (SciPy has no MXNet kernels), and get a gradient when a rule table in
``imperdl.scipy._rules`` gives them one. Aliases (``psi``/``digamma``) share one primitive, as NumPy's do.
"""
from __future__ import annotations

import importlib
import types

from ..core.dispatch import Primitive
from ..core.registry import REGISTRY

_BY_ID: dict[int, Primitive] = {}

# results that do not depend differentiably on the inputs: random draws and integer-valued functions
_NONDIFF_SUFFIXES = (".rvs",)


def resolve(qualname: str):
    """SciPy's object for ``qualname`` relative to ``scipy`` ('special.gammaln', 'stats.norm.logpdf')."""
    parts = qualname.split(".")
    obj = importlib.import_module(f"scipy.{parts[0]}")
    for part in parts[1:]:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if not isinstance(obj, types.ModuleType):
                raise
            obj = importlib.import_module(f"{obj.__name__}.{part}")  # a submodule not imported yet
    return obj


def primitive(qualname: str) -> Primitive:
    """The primitive for SciPy function ``qualname`` (relative to ``scipy``), created on first use."""
    key = "scipy." + qualname
    p = REGISTRY.get(key)
    if p is not None:
        return p
    target = resolve(qualname)
    if isinstance(target, (type, types.ModuleType)) or not callable(target):
        raise TypeError(f"imperdl: scipy.{qualname} is not a function")
    shared = not isinstance(target, types.MethodType)  # bound methods are made anew on each access
    p = _BY_ID.get(id(target)) if shared else None
    if p is None:
        p = Primitive(key, target, doc=getattr(target, "__doc__", None))
        p.space = "imperdl"  # messages name it imperdl.scipy.<name>
        p.nondiff = qualname.endswith(_NONDIFF_SUFFIXES)
        if shared:
            _BY_ID[id(target)] = p
    REGISTRY[key] = p
    return p


def register(qualname: str, impl, vjp=None) -> Primitive:
    """Give SciPy name ``qualname`` a host implementation of ours (``impl`` replaces SciPy's function where the
    call needs adapting, as odeint's callback does) and optionally a vjp taking every input position."""
    p = primitive(qualname)
    p.impls[0] = impl
    if vjp is not None:
        p.vjp = vjp
    return p
