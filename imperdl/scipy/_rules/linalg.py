"""Gradient rules for ``scipy.linalg``. Names that compute what ``numpy.linalg`` computes reuse NumPy's rule (one
rule per mathematical function); the others are matrix-calculus adjoints written with imperdl primitives, some in
terms of SciPy primitives with rules of their own (``sqrtm`` through ``solve_sylvester``, ``expm`` through ``expm``
of a block matrix), so higher orders follow.
"""
from __future__ import annotations

from ...core.registry import primitive as numpy_primitive
from ...core.tape import NoGradientError
from . import defgrad


def _np():
    import imperdl.numpy as np

    return np


def _la():
    import imperdl.scipy.linalg as la

    return la


def _T(x):
    return _np().swapaxes(x, -1, -2)


def _numpy_rule(numpy_name: str, pos: int, nargs: int, kwargs=lambda kw: {}):
    """The rule of ``numpy.<numpy_name>`` for argument ``pos`` of the first ``nargs`` parameters."""

    def rule(g, ans, *_, **kw):
        params = list(kw.values())[:nargs]
        return numpy_primitive(numpy_name).vjp(pos, g, ans, tuple(params), kwargs(kw))

    return rule


def _like_numpy(name: str, params: str, numpy_name: str, diff: tuple, kwargs=lambda kw: {}) -> None:
    names = params.split()
    defgrad(f"linalg.{name}", params, **{names[i]: _named(_numpy_rule(numpy_name, i, len(diff), kwargs), names)
                                          for i in diff})


def _named(rule, names):
    """Call ``rule`` with the differentiable parameters first, in order, as NumPy's rules take them."""
    order = [n.partition("=")[0] for n in names]

    def call(g, ans, **kw):
        return rule(g, ans, **{n: kw[n] for n in order if n in kw})

    return call


def _plain_solve(kw):
    if kw.get("transposed"):
        raise NoGradientError("imperdl.scipy.linalg.solve: no gradient with transposed=True")
    return {}


_like_numpy("inv", "a", "linalg.inv", (0,))
_like_numpy("det", "a", "linalg.det", (0,))
_like_numpy("pinv", "a", "linalg.pinv", (0,))
_like_numpy("solve", "a b", "linalg.solve", (0, 1), _plain_solve)


def _standard_eigen(kw):
    if kw.get("b") is not None:
        raise NoGradientError("imperdl.scipy.linalg.eigh: no gradient for the generalized problem (b given)")
    return {"UPLO": "L" if kw["lower"] else "U"}


_like_numpy("eigh", "a b=None lower=True", "linalg.eigh", (0,), _standard_eigen)
_like_numpy("eigvalsh", "a b=None lower=True", "linalg.eigvalsh", (0,), _standard_eigen)
_like_numpy("svd", "a full_matrices=True compute_uv=True", "linalg.svd", (0,),
            lambda kw: {"full_matrices": kw["full_matrices"], "compute_uv": kw["compute_uv"]})
_like_numpy("norm", "a ord=None axis=None keepdims=False", "linalg.norm", (0,),
            lambda kw: {"ord": kw["ord"], "axis": kw["axis"], "keepdims": kw["keepdims"]})


def _cholesky(g, ans, a, lower=False, **_):
    """SciPy returns the upper factor by default, read from the upper triangle: that is the lower factor of
    the transpose, so NumPy's rule applies to the transposed problem."""
    rule = numpy_primitive("linalg.cholesky").vjp
    if lower:
        return rule(0, g, ans, (a,), {})
    return _T(rule(0, _T(g), _T(ans), (_T(a),), {}))


defgrad("linalg.cholesky", "a lower=False", a=_cholesky)


# ---------------------------------------------------------------------------------------- triangular solves
def _is_transposed(trans) -> bool:
    return trans in (1, 2, "T", "C")


def _solve_triangular_b(g, ans, a, b, trans=0, lower=False, unit_diagonal=False, **_):
    return _la().solve_triangular(a, g, trans=0 if _is_transposed(trans) else 1, lower=lower,
                                  unit_diagonal=unit_diagonal)


def _solve_triangular_a(g, ans, a, b, trans=0, lower=False, unit_diagonal=False, **_):
    np = _np()
    gb = _solve_triangular_b(g, ans, a, b, trans, lower, unit_diagonal)
    if gb.ndim == 1:
        gb, x = np.expand_dims(gb, -1), np.expand_dims(ans, -1)
    else:
        x = ans
    outer = -np.matmul(x, _T(gb)) if _is_transposed(trans) else -np.matmul(gb, _T(x))
    k = (-1 if lower else 1) if unit_diagonal else 0  # a unit diagonal is not read
    return np.tril(outer, k) if lower else np.triu(outer, k)


defgrad("linalg.solve_triangular", "a b trans=0 lower=False unit_diagonal=False",
        a=_solve_triangular_a, b=_solve_triangular_b)


# ------------------------------------------------------------------------------- Sylvester, sqrtm, expm
def _sylvester_q(g, ans, a, b, q, **_):
    return _la().solve_sylvester(_T(a), _T(b), g)


defgrad("linalg.solve_sylvester", "a b q",
        a=lambda g, ans, a, b, q, **_: -_np().matmul(_sylvester_q(g, ans, a, b, q), _T(ans)),
        b=lambda g, ans, a, b, q, **_: -_np().matmul(_T(ans), _sylvester_q(g, ans, a, b, q)),
        q=_sylvester_q)


def _sqrtm(g, ans, A, disp=True, **_):
    """X X = A, so dA = X dX + dX X; the adjoint solves X^T H + H X^T = G."""
    if not disp:  # (sqrtm, error estimate): the estimate carries no gradient
        g, ans = g[0], ans[0]
    xt = _T(ans)
    return _la().solve_sylvester(xt, xt, g)


defgrad("linalg.sqrtm", "A disp=True blocksize=64", A=_sqrtm)


def _expm(g, ans, A, **_):
    """The adjoint of expm at A applied to G is the upper-right block of expm([[A^T, G], [0, A^T]])."""
    np = _np()
    if A.ndim != 2:
        raise NoGradientError(f"imperdl.scipy.linalg.expm: gradients for 2-D matrices only (got shape {A.shape})")
    n = A.shape[-1]
    at = _T(A)
    big = np.concatenate([np.concatenate([at, g], axis=1),
                          np.concatenate([np.zeros((n, n), dtype=at.dtype), at], axis=1)], axis=0)
    return _la().expm(big)[:n, n:]


defgrad("linalg.expm", "A", A=_expm)
