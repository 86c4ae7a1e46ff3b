"""Gradient rules for SciPy names: one table per submodule, each a list of ``defgrad`` calls.

SciPy passes the same parameter positionally or by keyword (``norm.logpdf(x, 0, 2)`` and ``norm.logpdf(x,
scale=2)``), so a rule is keyed by parameter *name*: ``defgrad('stats.norm.logpdf', 'x loc=0 scale=1', x=...,
loc=..., scale=...)``. Each rule is ``rule(g, ans, **params)`` (every parameter bound by name, defaults filled in,
other keywords passed through) and returns the gradient for its parameter, possibly broadcast: it is summed back
to the argument's shape. Rules are written with ``imperdl.numpy`` and ``imperdl.scipy`` primitives, so the tape
records them and higher orders follow. A parameter without a rule raises ``NoGradientError`` naming it.
"""
from __future__ import annotations

import ast
import importlib

from ...core.rules.util import unbroadcast
from ...core.tape import NoGradientError
from .._registry import primitive

# qualname -> parameter names with a rule, for the documentation and its test
TABLE: dict[str, tuple[str, ...]] = {}


def _parse(params: str) -> tuple[tuple[str, ...], dict]:
    names, defaults = [], {}
    for item in params.split():
        name, eq, default = item.partition("=")
        names.append(name)
        if eq:
            defaults[name] = ast.literal_eval(default)
    return tuple(names), defaults


def defgrad(qualname: str, params: str, **rules) -> None:
    """Rules for ``scipy.<qualname>``, whose parameters are ``params`` ('x loc=0 scale=1'), one per name."""
    names, defaults = _parse(params)
    unknown = set(rules) - set(names)
    assert not unknown, f"{qualname}: rules for unknown parameters {unknown}"

    def vjp(pos, g, ans, args, kwargs):
        name = names[pos] if type(pos) is int and pos < len(names) else pos if type(pos) is str else None
        rule = rules.get(name)
        if rule is None:
            what = f"parameter {name!r}" if name is not None else f"argument {pos!r}"
            raise NoGradientError(f"imperdl.scipy.{qualname}: no gradient with respect to {what}")
        bound = dict(defaults)
        bound.update(zip(names, args))
        bound.update(kwargs)
        return unbroadcast(rule(g, ans, **bound), bound[name])

    vjp.positions = tuple(names.index(n) for n in rules) + tuple(rules)
    primitive(qualname).vjp = vjp
    TABLE[qualname] = tuple(n for n in names if n in rules)


def load(submodule: str) -> None:
    """Import the rule table of ``imperdl.scipy.<submodule>`` (once)."""
    importlib.import_module(f"{__name__}.{submodule}")
