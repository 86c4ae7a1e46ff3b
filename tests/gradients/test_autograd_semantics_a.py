"""HIPS autograd's semantics for arrays built from traced values, einsum, eig, linspace, gradient, msort, select
and where (issue 13, item 3, first two bullets): the same code runs under NumPy, HIPS autograd and imperdl.

Each row of ``CASES`` is ``build(m, x)``, written once against a NumPy-like module ``m``, and an input ``x``:
- the value imperdl computes while ``x`` is traced equals NumPy's (values, dtype, shape);
- the gradient of ``loss(build(x))`` equals float64 central differences of the NumPy computation, and HIPS
  autograd's (run on the same code, or on the spelling given in the row where autograd needs another);
- the second-order gradient (of ``<grad loss(x), w>``) equals directional central differences of imperdl's own
  first-order gradient, and HIPS autograd's.
A row's ``ag`` is ``SAME`` (autograd runs ``build``), a callable (autograd's spelling of the same function), or a
string saying why autograd cannot be compared (it refuses the call or has no rule): those rows are checked
against finite differences only.
"""
from __future__ import annotations

import zlib

import numpy as onp
import pytest

import imperdl.numpy as inp
from imperdl.core import grad, make_vjp

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

# autograd's r_/c_ warn that they are slow for array inputs
pytestmark = pytest.mark.filterwarnings("ignore:.* is slow for array inputs:UserWarning")

SAME = "same"
REPEATED = "autograd's einsum rule fails on an index repeated in one operand"
NUMPY1 = int(onp.__version__.split(".")[0]) < 2


def _real_spectrum(n, batch=()):
    def make(rng):
        p = rng.standard_normal(batch + (n, n)) + 2 * onp.eye(n)
        lam = onp.sort(rng.uniform(-2, 2, batch + (n,)), axis=-1) + onp.arange(n)  # well separated
        return p @ (lam[..., None] * onp.linalg.inv(p))

    return make


def _complex_spectrum(rng):
    """A real 3x3 matrix with a complex-conjugate pair of eigenvalues and a real one, all well separated."""
    p = rng.standard_normal((3, 3)) + 2 * onp.eye(3)
    block = onp.array([[0.5, 1.3, 0.0], [-1.3, 0.5, 0.0], [0.0, 0.0, -1.0]])
    return p @ block @ onp.linalg.inv(p)


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def _away_from_zero(*shape):
    return lambda rng: rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def _distinct(*shape):
    return lambda rng: rng.permutation(int(onp.prod(shape))).reshape(shape) + rng.uniform(0, 0.1, shape)


def _gradient_pairs(m, x):
    return m.stack(m.gradient(x))


def _linspace_retstep(m, x):
    samples, step = m.linspace(x[0], x[1], 5, retstep=True)
    return samples * step


# (id, build(m, x), input maker(rng), autograd: SAME | callable | reason)
CASES = [
    # ---------------------------------------------------------------- np.array / asarray of traced values
    ("array-scalars", lambda m, x: m.array([x[0], 2 * x[1], x[2] ** 2]), _normal(3), SAME),
    ("array-nested-mixed", lambda m, x: m.array([[x[0], 1.5], [x[1] * x[2], x[0]]]), _normal(3), SAME),
    ("array-of-arrays", lambda m, x: m.array([x, 2 * x]), _normal(3), SAME),
    ("array-deep", lambda m, x: m.array([[[x[0], x[1]], [x[2], 1.0]], [[0.5, x[0]], [x[1], x[2]]]]),
     _normal(3), SAME),
    ("array-tuple", lambda m, x: m.array((x, x * x)), _normal(3), SAME),
    ("array-arrays-and-lists", lambda m, x: m.array([x[:2], [x[2], 3.0]]), _normal(3), SAME),
    ("array-ndmin", lambda m, x: m.array([x, x * x], ndmin=4), _normal(3), "autograd ignores ndmin (IndexError)"),
    ("array-of-traced", lambda m, x: m.array(x * x), _normal(2, 3), SAME),
    ("asarray-list", lambda m, x: m.asarray([x, x * x]), _normal(3), lambda m, x: m.array([x, x * x])),
    ("asarray-reductions", lambda m, x: m.asarray([m.sum(x), m.prod(x), 1.0]), _normal(3),
     lambda m, x: m.array([m.sum(x), m.prod(x), 1.0])),
    ("r_", lambda m, x: m.r_[x, 2 * x, 1.0], _normal(3), SAME),
    ("r_-slice-and-list", lambda m, x: m.r_[x, 0:3, [x[0], 2.0]], _normal(3), "r_ of a list holding traced values"),
    ("r_-directive", lambda m, x: m.r_["0,2", x, x * x], _normal(3), SAME),
    ("c_", lambda m, x: m.c_[x, 2 * x], _normal(3), SAME),
    ("c_-slice", lambda m, x: m.c_[x, 0:3, x ** 2], _normal(3), SAME),
    ("vstack-list", lambda m, x: m.vstack([x, [x[0], x[1], 1.0]]), _normal(3), "vstack of a list of traced values"),
    ("hstack-list", lambda m, x: m.hstack([x, [x[0], 2.0]]), _normal(3), "hstack of a list of traced values"),
    ("hstack-scalars", lambda m, x: m.hstack([x[0], x[1] * x[2]]), _normal(3), SAME),
    ("dstack", lambda m, x: m.dstack([x, x * x]), _normal(3), "autograd's dstack is NumPy's, with no rule"),
    ("column_stack-list", lambda m, x: m.column_stack([x, [1.0, x[0], x[1]]]), _normal(3), SAME),
    ("append-list", lambda m, x: m.append(x, [x[0], 3.0]), _normal(3), SAME),
    ("append-axis", lambda m, x: m.append([[x[0], x[1]]], [[x[2], 1.0]], axis=0), _normal(3),
     "append of nested lists of traced values"),
    ("concatenate-list", lambda m, x: m.concatenate([x, [x[0], x[1] * 2]]), _normal(3),
     "concatenate of a list of traced values"),
    ("concatenate-tuple", lambda m, x: m.concatenate((x[None], [[x[0], x[1], x[2]]])), _normal(3),
     "concatenate of a list of traced values"),
    ("stack-list", lambda m, x: m.stack([[x[0], x[1]], x[1:]]), _normal(3), "stack of a list of traced values"),
    ("mean-list", lambda m, x: m.mean([x, x * x]), _normal(3), lambda m, x: m.mean(m.array([x, x * x]))),
    ("mean-list-axis", lambda m, x: m.mean([x, x * x], axis=0), _normal(3),
     lambda m, x: m.mean(m.array([x, x * x]), axis=0)),
    ("std-list", lambda m, x: m.std([x, x * x]), _normal(3), lambda m, x: m.std(m.array([x, x * x]))),
    ("var-list", lambda m, x: m.var([x, x * x, m.sin(x)], axis=1), _normal(3),
     lambda m, x: m.var(m.array([x, x * x, m.sin(x)]), axis=1)),
    ("norm-list", lambda m, x: m.linalg.norm([x, x * x]), _normal(3),
     lambda m, x: m.linalg.norm(m.array([x, x * x]))),
    ("norm-scalars", lambda m, x: m.linalg.norm([x[0], x[1]]), _normal(3),
     lambda m, x: m.linalg.norm(m.array([x[0], x[1]]))),
    ("sum-list", lambda m, x: m.sum([x, 2 * x], axis=0), _normal(3), lambda m, x: m.sum(m.array([x, 2 * x]), axis=0)),
    ("dot-list", lambda m, x: m.dot([x[0], x[1], x[2]], x), _normal(3),
     lambda m, x: m.dot(m.array([x[0], x[1], x[2]]), x)),
    # ---------------------------------------------------------------- einsum in every form
    ("einsum-explicit", lambda m, x: m.einsum("ij,jk->ik", x, x), _normal(3, 3), SAME),
    ("einsum-implicit", lambda m, x: m.einsum("ij,jk", x, x.T), _normal(3, 3), SAME),
    ("einsum-implicit-transpose", lambda m, x: m.einsum("ji", x), _normal(2, 3), SAME),
    ("einsum-trace", lambda m, x: m.einsum("ii", x), _normal(3, 3), REPEATED),
    ("einsum-trace-explicit", lambda m, x: m.einsum("ii->", x * x), _normal(3, 3), REPEATED),
    ("einsum-diagonal", lambda m, x: m.einsum("ii->i", x), _normal(3, 3), REPEATED),
    ("einsum-repeated-operand", lambda m, x: m.einsum("ij,ij->i", x, x), _normal(2, 3), SAME),
    ("einsum-ellipsis", lambda m, x: m.einsum("...ij,...jk->...ik", x, x), _normal(2, 3, 3), SAME),
    ("einsum-ellipsis-implicit", lambda m, x: m.einsum("...ii->...i", x), _normal(2, 3, 3), REPEATED),
    ("einsum-broadcast", lambda m, x: m.einsum("ij,j->i", x, x[0]), _normal(3, 3), SAME),
    ("einsum-three", lambda m, x: m.einsum("ij,jk,kl->il", x, x, x), _normal(3, 3), SAME),
    ("einsum-sublist", lambda m, x: m.einsum(x, [0, 1], x, [1, 2], [0, 2]), _normal(3, 3), SAME),
    ("einsum-sublist-implicit", lambda m, x: m.einsum(x, [0, 1], x, [1, 2]), _normal(3, 3),
     "autograd needs the output sublist"),
    ("einsum-sublist-ellipsis", lambda m, x: m.einsum(x, [Ellipsis, 0, 1], x, [Ellipsis, 1, 2], [Ellipsis, 0, 2]),
     _normal(2, 3, 3), SAME),
    ("einsum-sublist-trace", lambda m, x: m.einsum(x, [0, 0]), _normal(3, 3), REPEATED),
    # ---------------------------------------------------------------- eig / eigvals
    ("eig-values-real", lambda m, x: m.linalg.eig(x)[0], _real_spectrum(3), SAME),
    ("eig-vectors-real", lambda m, x: m.linalg.eig(x)[1], _real_spectrum(3), SAME),
    ("eig-batched", lambda m, x: m.linalg.eig(x)[0] * m.sum(m.linalg.eig(x)[1] ** 2, axis=-2), _real_spectrum(3, (2,)),
     SAME),
    ("eig-values-complex", lambda m, x: m.linalg.eig(x)[0], _complex_spectrum, SAME),
    ("eig-vectors-complex-abs", lambda m, x: m.abs(m.linalg.eig(x)[1]), _complex_spectrum, SAME),
    ("eigvals-real", lambda m, x: m.linalg.eigvals(x), _real_spectrum(4), lambda m, x: m.linalg.eig(x)[0]),
    ("eigvals-complex", lambda m, x: m.linalg.eigvals(x), _complex_spectrum, lambda m, x: m.linalg.eig(x)[0]),
    ("eigvals-batched", lambda m, x: m.linalg.eigvals(x), _real_spectrum(3, (2,)), lambda m, x: m.linalg.eig(x)[0]),
    # ---------------------------------------------------------------- linspace with traced endpoints
    ("linspace", lambda m, x: m.linspace(x[0], x[1], 5), _normal(2), SAME),
    ("linspace-products", lambda m, x: m.linspace(x[0] * x[1], m.sin(x[1]), 4) ** 2, _normal(2), SAME),
    ("linspace-open", lambda m, x: m.linspace(x[0], x[1], 4, endpoint=False), _normal(2),
     "autograd's rule takes (start, stop, num) only"),
    ("linspace-one", lambda m, x: m.linspace(x[0], x[1], 1), _normal(2), SAME),
    ("linspace-arrays", lambda m, x: m.linspace(x[:2], x[2:], 4, axis=1), _normal(4),
     "autograd's rule takes scalar endpoints only"),
    ("linspace-retstep", _linspace_retstep, _normal(2), "autograd's rule takes (start, stop, num) only"),
    # ---------------------------------------------------------------- gradient, msort, select, where
    ("gradient", lambda m, x: m.gradient(x), _normal(7), SAME),
    ("gradient-short", lambda m, x: m.gradient(x), _normal(3), "autograd's rule needs 5 points or more"),
    ("gradient-2d", _gradient_pairs, _normal(5, 6), SAME),
    ("gradient-axis", lambda m, x: m.gradient(x, axis=1), _normal(5, 6), SAME),
    ("gradient-spacing", lambda m, x: m.gradient(x, 0.5), _normal(6), "autograd's rule takes no spacing"),
    ("gradient-coordinates", lambda m, x: m.gradient(x, onp.array([0.0, 0.5, 1.5, 1.75, 3.0, 4.0])), _normal(6),
     "autograd's rule takes no spacing"),
    ("gradient-edge2", lambda m, x: m.stack(m.gradient(x, edge_order=2)), _normal(4, 5),
     "autograd's rule takes no edge_order"),
    ("msort-2d", lambda m, x: m.msort(x), _distinct(4, 3), "autograd sorts 1-d arrays only"),
    ("msort-1d", lambda m, x: m.msort(x), _distinct(5), SAME),
    ("select", lambda m, x: m.select([x > 0.5, x < -0.5], [x ** 2, m.sin(x)], 0.5), _away_from_zero(2, 4), SAME),
    ("select-traced-default", lambda m, x: m.select([x > 0], [x], x ** 3), _away_from_zero(5), SAME),
    ("select-broadcast", lambda m, x: m.select([x > 0, x[:1] < 0], [x * 2, x[:1] ** 2]), _away_from_zero(4), SAME),
    ("where-scalar-branch", lambda m, x: m.where(x > 0, x, 0), _away_from_zero(4), SAME),
    ("where-scalar-first", lambda m, x: m.where(x > 0, 2, x * x), _away_from_zero(4), SAME),
    ("where-int-branch", lambda m, x: m.where(x > 0, x * x, m.arange(4)), _away_from_zero(4), SAME),
    ("where-bool-branch", lambda m, x: m.where(x > 0, True, m.sin(x)), _away_from_zero(4), SAME),
    ("where-broadcast", lambda m, x: m.where(x > 0, x, x[:, :1] ** 2), _away_from_zero(3, 4), SAME),
    ("where-both", lambda m, x: m.where(x > 0, m.exp(x), m.cos(x)), _away_from_zero(4), SAME),
]
if NUMPY1:
    CASES.append(("row_stack", lambda m, x: m.row_stack([x, x ** 2]), _normal(3), SAME))
CASES = [c for c in CASES if not c[0].startswith("msort") or hasattr(onp, "msort")]  # (msort left NumPy 2)
IDS = [c[0] for c in CASES]


def _loss(m, y, w):
    """A scalar with non-zero second derivatives; a complex ``y`` contributes both parts."""
    if onp.iscomplexobj(w[1]):
        return m.sum(m.sin(m.real(y)) * w[0]) + m.sum(m.cos(m.imag(y)) * onp.real(w[1]))
    return m.sum(m.sin(y) * w[0])


def _setup(case):
    name, build, make, ag = case
    rng = onp.random.default_rng(zlib.crc32(name.encode()))
    x = make(rng)
    y = onp.asarray(build(onp, x))
    w = (rng.standard_normal(y.shape), rng.standard_normal(y.shape) * (1 + 0j) if onp.iscomplexobj(y)
         else onp.zeros(y.shape))
    return name, build, ag, x, y, w, rng


def _numeric_grad(f, x, eps=1e-6):
    g = onp.zeros_like(x)
    for i in onp.ndindex(x.shape):
        e = onp.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def _ours(build, w):
    return grad(lambda t: _loss(inp, build(inp, t), w))


def _theirs(build, ag, w):
    fn = build if ag == SAME else ag
    return autograd.grad(lambda t: _loss(anp, fn(anp, t), w))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_under_tape(case):
    name, build, ag, x, y, w, rng = _setup(case)
    _, ans = make_vjp(lambda t: build(inp, t))(inp.array(x))
    got = ans.asnumpy()
    assert got.dtype == y.dtype and got.shape == y.shape, (got.dtype, got.shape, y.dtype, y.shape)
    onp.testing.assert_allclose(got, y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_first_order(case):
    name, build, ag, x, y, w, rng = _setup(case)
    g = _ours(build, w)(inp.array(x)).asnumpy()
    assert g.shape == x.shape and g.dtype == x.dtype
    numeric = _numeric_grad(lambda t: float(_loss(onp, onp.asarray(build(onp, t)), w)), x)
    onp.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6)
    if not isinstance(ag, str) or ag == SAME:
        onp.testing.assert_allclose(g, _theirs(build, ag, w)(x), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_order(case):
    name, build, ag, x, y, w, rng = _setup(case)
    v = rng.standard_normal(x.shape)
    first = _ours(build, w)
    ours = grad(lambda t: inp.sum(first(t) * v))(inp.array(x)).asnumpy()
    direction = rng.standard_normal(x.shape)
    eps = 1e-6
    numeric = (onp.sum(first(inp.array(x + eps * direction)).asnumpy() * v)
               - onp.sum(first(inp.array(x - eps * direction)).asnumpy() * v)) / (2 * eps)
    onp.testing.assert_allclose(onp.sum(ours * direction), numeric, rtol=1e-5, atol=1e-6)
    if not isinstance(ag, str) or ag == SAME:
        agfirst = _theirs(build, ag, w)
        theirs = autograd.grad(lambda t: anp.sum(agfirst(t) * v))(x)
        onp.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-9)


def test_nested_list_is_never_a_silent_zero():
    """Before lifting, traced scalars two lists deep were not seen by the tape: the gradient was silently 0."""
    x = onp.array([0.3, -0.7, 1.2])
    g = grad(lambda t: inp.sum(inp.array([[t[0], t[1]], [t[2], 1.0]]) ** 3))(inp.array(x)).asnumpy()
    onp.testing.assert_allclose(g, 3 * x ** 2)


def test_untraced_r_and_c_are_numpys():
    """Without traced items, r_/c_ are NumPy's own and give imperdl Arrays."""
    a = onp.arange(3.0)
    for got, want in [(inp.r_[inp.array(a), 0:2, 5], onp.r_[a, 0:2, 5]), (inp.c_[inp.array(a), a], onp.c_[a, a]),
                      (inp.r_["0,2,1", a, a], onp.r_["0,2,1", a, a]), (inp.r_[-1:1:5j], onp.r_[-1:1:5j])]:
        assert isinstance(got, inp.ndarray)
        assert got.dtype == want.dtype and got.shape == want.shape
        onp.testing.assert_array_equal(got.asnumpy(), want)
