"""Gradient rules (vector-Jacobian products), one module per family, each a table of ``defvjp`` calls.

A rule is written with ``imperdl.numpy`` functions, so it runs on the backend where the forward ran and, when an
outer tape is recording, is itself recorded: higher-order derivatives come for free.

``defvjp(name, f0, f1, ...)``: ``fi(g, ans, *args, **kwargs)`` returns the gradient for positional argument ``i``
(``None`` in the list: that argument is not differentiable). ``g`` has the shape of ``ans`` (for tuple/list
results, ``g`` is a tuple/list with zeros where an output got no gradient).

``defvjp_argnums(name, f)``: ``f(pos, g, ans, args, kwargs)`` for any input position: an ``int`` (positional
argument), a ``(i, j)`` pair (element ``j`` of a list/tuple argument ``i``, as in ``concatenate``), or a ``str``
(keyword argument).

Both take ``reads=``: what the rule reads of its arguments and result (``("ans",)``, ``(0, 1)``, or per
differentiated position ``{0: (1,), 1: (0,)}``); the tape keeps only that (see ``core.reads``). Left out, the
tape keeps everything. A declaration must be true of the code: the tests run every declared rule with the
undeclared values absent and compare with the full-input rule, first and second order.
"""
from __future__ import annotations

from ..reads import declare
from ..registry import in_numpy, primitive


def defvjp(name: str, *fns, kw: dict | None = None, reads=None) -> None:
    """Per-position rules for NumPy function ``name`` (registry name: 'exp', 'linalg.inv', 'ndarray.astype');
    nothing where the installed NumPy has no such function."""
    if not in_numpy(name):
        return
    fns = tuple(fns)
    kw = dict(kw or {})

    def vjp(pos, g, ans, args, kwargs):
        if type(pos) is int:
            f = fns[pos] if pos < len(fns) else None
        elif type(pos) is str:
            f = kw.get(pos)
        else:
            f = None
        if f is None:
            return _undefined(name, pos)
        return f(g, ans, *args, **kwargs)

    vjp.positions = tuple(i for i, f in enumerate(fns) if f is not None) + tuple(kw)
    primitive(name).vjp = declare(vjp, reads)


def defvjp_argnums(name: str, f, sequences=(), reads=None) -> None:
    """One rule for every input position (variadic functions such as ``concatenate`` or ``einsum``).

    ``sequences``: the argument positions (and keyword names) that are sequences of arrays, each element an input
    of its own (``concatenate``'s first argument); elsewhere a list argument is one array_like (see ``core.lift``).
    """
    if in_numpy(name):
        p = primitive(name)
        p.vjp = f if reads is None else declare(f, reads)
        if sequences:
            p.sequences = frozenset(sequences)


def _undefined(name, pos):
    raise NotImplementedError(f"imperdl.numpy.{name}: no gradient with respect to argument {pos!r}")


def load_all() -> None:
    """Import every rule table (called once by ``imperdl.core``; the tables import ``imperdl.numpy``)."""
    from . import construction, eig, elementwise, fft, indexing, linalg, raw, reductions, shape  # noqa: F401

    raw.install()
