"""Builds the SciPy face: modules whose every public SciPy name resolves on first access, as the NumPy face does.

Functions become primitives (``_registry``), distributions of ``scipy.stats`` become ``Distribution`` objects
whose methods are primitives, classes and constants are SciPy's own objects, and submodules are faces of the same
kind. Resolved names are cached in the module.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

from ._registry import primitive

# submodules with a file of their own (their rule tables are loaded with them)
_REAL_SUBMODULES = ("special", "stats", "signal", "integrate", "linalg")

# methods of scipy.stats distributions whose first argument is the point (x, k or q), as opposed to the parameters
_POINT_METHODS = frozenset("pdf logpdf cdf logcdf sf logsf ppf isf pmf logpmf".split())


def _is_distribution(obj) -> bool:
    try:
        from scipy.stats._distn_infrastructure import rv_generic
        from scipy.stats._multivariate import multi_rv_generic
    except ImportError:  # pragma: no cover - private layout of another SciPy
        return False
    return isinstance(obj, (rv_generic, multi_rv_generic))


class Distribution(types.ModuleType):
    """A ``scipy.stats`` distribution whose methods (``logpdf``, ``cdf``, ``rvs`` ...) are imperdl primitives.

    Calling it freezes parameters as SciPy does: ``norm(loc, scale).logpdf(x)`` is ``norm.logpdf(x, loc, scale)``.
    It is a module too, because autograd's distributions are modules: programs write
    ``import autograd.scipy.stats.norm as norm`` (see ``_FaceFinder``).
    """

    def __init__(self, dist, qualname: str):
        super().__init__(f"imperdl.scipy.{qualname}", getattr(dist, "__doc__", None))
        self._dist = dist
        self._qualname = qualname

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        obj = getattr(self._dist, name)
        value = primitive(f"{self._qualname}.{name}") if callable(obj) else obj
        setattr(self, name, value)
        return value

    def __dir__(self):
        return sorted(n for n in dir(self._dist) if not n.startswith("_"))

    def __call__(self, *args, **kwargs) -> Frozen:
        return Frozen(self, args, kwargs)

    def __repr__(self):
        return f"<imperdl.scipy.{self._qualname}>"


class Frozen:
    """A distribution with its parameters fixed; each method forwards to the primitive with them appended."""

    def __init__(self, dist: Distribution, args: tuple, kwargs: dict):
        self.dist, self.args, self.kwds = dist, args, kwargs

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self.dist, name)
        if not callable(method):
            return method
        if name in _POINT_METHODS:
            return lambda x, *rest, **kw: method(x, *self.args, *rest, **{**self.kwds, **kw})
        return lambda *rest, **kw: method(*self.args, *rest, **{**self.kwds, **kw})


def translate(obj, qualname: str):
    """What the face shows for SciPy's object ``obj`` named ``qualname`` (relative to ``scipy``)."""
    if isinstance(obj, types.ModuleType):
        if qualname in _REAL_SUBMODULES:
            return importlib.import_module(f"imperdl.scipy.{qualname}")
        return _dynamic_module(obj, qualname)
    if _is_distribution(obj):
        return Distribution(obj, qualname)
    if isinstance(obj, type) or not callable(obj):
        return obj
    return primitive(qualname)


def _dynamic_module(space, qualname: str) -> types.ModuleType:
    full = f"imperdl.scipy.{qualname}"
    mod = sys.modules.get(full)
    if mod is None:
        mod = types.ModuleType(full, getattr(space, "__doc__", None))
        install(vars(mod), qualname)
        sys.modules[full] = mod
    return mod


class _FaceFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import imperdl.scipy.stats.norm`` work: a name of a face module that is itself a module (a
    distribution, a SciPy submodule without a file here) is importable by its dotted name, as autograd's are."""

    def find_spec(self, fullname, path, target=None):
        parent_name, _, name = fullname.rpartition(".")
        parent = sys.modules.get(parent_name)
        if not getattr(parent, "_imperdl_face", False) or name.startswith("_"):
            return None
        obj = getattr(parent, name, None)
        if not isinstance(obj, types.ModuleType):
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        parent_name, _, name = spec.name.rpartition(".")
        return getattr(sys.modules[parent_name], name)

    def exec_module(self, module):
        """The module was built by the face; nothing to run."""


def install(namespace: dict, qualname: str) -> None:
    """Give a module (its globals ``namespace``) the lazy ``__getattr__``/``__dir__`` over ``scipy.<qualname>``,
    and make it a package whose names import as submodules (``_FaceFinder``)."""
    modname = namespace["__name__"]
    namespace.setdefault("__path__", [])
    namespace["_imperdl_face"] = True
    if not any(isinstance(finder, _FaceFinder) for finder in sys.meta_path):
        sys.meta_path.append(_FaceFinder())
    try:
        space = importlib.import_module(f"scipy.{qualname}" if qualname else "scipy")
    except ImportError as exc:
        raise ImportError(f"{modname} needs SciPy, which cannot be imported here ({exc}): "
                          "pip install 'imperdl[scipy]'") from exc
    prefix = qualname + "." if qualname else ""

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(f"module {modname!r} has no attribute {name!r}")
        try:
            obj = getattr(space, name)
        except AttributeError:
            try:
                obj = importlib.import_module(f"{space.__name__}.{name}")
            except ImportError:
                raise AttributeError(
                    f"module {modname!r} has no attribute {name!r} ({space.__name__}.{name} does not exist)"
                ) from None
        value = translate(obj, prefix + name)
        namespace[name] = value
        return value

    def __dir__():
        names = {n for n in dir(space) if not n.startswith("_")}
        return sorted(names | {n for n in namespace if not n.startswith("_")})

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
