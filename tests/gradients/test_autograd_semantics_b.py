"""HIPS autograd's semantics, part b: complex linear algebra, ties, tuples of outputs, complex outputs, and
in-place updates through views of traced arrays.

Each table row is checked three ways: the value against NumPy, the gradient (first and second order) against
HIPS autograd (``autograd.grad`` / ``autograd.hessian``) and against float64 central differences. Complex
inputs use autograd's convention: the gradient of a real ``L`` is ``dL/dRe(x) - i dL/dIm(x)``.

Where autograd 1.7 itself cannot serve as the oracle the row names the equivalent autograd computation instead:
- its ``linalg.norm`` rule drops the conjugate on complex input (autograd issue #666, fixed upstream by #705),
  and it has no gradient for several ords: the oracle is the norm written out (``sum(abs(x)**p)**(1/p)``,
  singular values, ...);
- its ``linalg.cholesky`` rule transposes without conjugating, so it is off for complex input: central differences
  alone decide there;
- in-place updates raise under autograd: the oracle is the same computation written functionally.
"""
from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import (
    InPlaceGradientError,
    elementwise_grad,
    grad,
    grad_and_loss,
    hessian,
    make_vjp,
    value_and_grad,
)

POLICIES = {"only_numpy": imperdl.OnlyNumPyPolicy, "prefer_mxnet": imperdl.PreferMXNetPolicy}
EPS = 1e-6


# ------------------------------------------------------------------------------------------------ helpers
def _host(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else onp.asarray(x)


def _real_fd(f, x, eps=EPS):
    """Central differences of real ``f`` at ``x``, in autograd's convention (``d/dRe - i d/dIm`` if complex)."""
    x = onp.asarray(x)
    g = onp.zeros(x.shape, dtype=x.dtype)
    for idx in onp.ndindex(x.shape):
        for step, weight in ((1.0, 1.0), (1j, -1j)) if x.dtype.kind == "c" else ((1.0, 1.0),):
            xp, xm = x.copy(), x.copy()
            xp[idx] += eps * step
            xm[idx] -= eps * step
            g[idx] += weight * (float(f(xp)) - float(f(xm))) / (2 * eps)
    return g


def _directional_fd(f, x, v, eps=EPS):
    return (float(f(x + eps * v)) - float(f(x - eps * v))) / (2 * eps)


def _pairing(g, v) -> float:
    """``Re(sum(g * v))``: a gradient applied to a direction, in autograd's convention."""
    return float(onp.real(onp.sum(_host(g) * v)))


def _random_like(rng, x):
    x = onp.asarray(x)
    v = rng.standard_normal(x.shape)
    return v + 1j * rng.standard_normal(x.shape) if x.dtype.kind == "c" else v


def assert_close(got, want, what, rtol=1e-6, atol=1e-8):
    got, want = _host(got), onp.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    onp.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


def check_function(f_ours, f_numpy, f_autograd, x, *, hess=True, fd=True, fd2=None, rtol=1e-6, atol=1e-8):
    """``f_ours`` (imperdl), ``f_numpy`` (the same on NumPy) and ``f_autograd`` (its autograd oracle) at ``x``:
    values, gradients and the second order against autograd and central differences (``fd2``: the second order
    too, by default where the first is; never across a kink, where the first derivative jumps)."""
    x = onp.asarray(x)
    val = f_ours(np.array(x))
    assert_close(val, f_numpy(x.copy()), "value against NumPy", rtol=1e-10, atol=1e-12)
    g = grad(f_ours)(np.array(x))
    assert _host(g).dtype == x.dtype, (_host(g).dtype, x.dtype)
    if f_autograd is not None:
        assert_close(g, autograd.grad(f_autograd)(x), "gradient against HIPS autograd", rtol, atol)
    if fd:
        assert_close(g, _real_fd(lambda z: f_numpy(z.copy()), x), "gradient against central differences",
                     1e-5, 1e-5)
    if not hess:
        return
    rng = onp.random.default_rng(7)
    w = _random_like(rng, x)

    def h_ours(z):  # second order: the gradient of <grad f, w>, through the rule's own recorded operations
        return np.sum(np.real(grad(f_ours)(z) * w))

    g2 = grad(h_ours)(np.array(x))
    if f_autograd is not None:
        g2a = autograd.grad(lambda z: anp.sum(anp.real(autograd.grad(f_autograd)(z) * w)))(x)
        assert_close(g2, g2a, "second order against HIPS autograd", rtol, atol)
    if fd if fd2 is None else fd2:
        for _ in range(2):
            v = _random_like(rng, x)
            num = _directional_fd(lambda z: h_ours(np.array(z)), x, v)
            ours = _pairing(g2, v)
            assert abs(ours - num) <= 1e-5 * max(1.0, abs(num)), f"second order: {ours} vs differences {num}"


# ------------------------------------------------------------------------------------------------ complex input
def _crand(shape, seed):
    r = onp.random.default_rng(seed)
    return r.standard_normal(shape) + 1j * r.standard_normal(shape)


_V = _crand(5, 1)
_A = _crand((3, 3), 2)
_TALL = _crand((4, 3), 3)
_WIDE = _crand((2, 4), 4)
_HERM = _A + _A.conj().T + 4 * onp.eye(3)
_W3 = onp.arange(1.0, 10.0).reshape(3, 3) / 7


def _pnorm(m, x, p, axis=None):
    return m.sum(m.abs(x) ** p, axis=axis) ** (1.0 / p)


def _svals(m, x):
    return m.linalg.svd(x, full_matrices=False)[1] if m is anp else m.linalg.svd(x, compute_uv=False)


COMPLEX = {
    # name: (f(m, x), autograd oracle (m, x) or None for "f itself" or "fd-only" (autograd 1.7 is off), x)
    "norm-vec-default": (lambda m, x: m.linalg.norm(x), lambda m, x: m.sqrt(m.sum(m.abs(x) ** 2)), _V),
    "norm-vec-2": (lambda m, x: m.linalg.norm(x, 2), lambda m, x: _pnorm(m, x, 2), _V),
    "norm-vec-1": (lambda m, x: m.linalg.norm(x, 1), lambda m, x: m.sum(m.abs(x)), _V),
    "norm-vec-3": (lambda m, x: m.linalg.norm(x, 3), lambda m, x: _pnorm(m, x, 3), _V),
    "norm-vec-0.5": (lambda m, x: m.linalg.norm(x, 0.5), lambda m, x: _pnorm(m, x, 0.5), _V),
    "norm-vec--1": (lambda m, x: m.linalg.norm(x, -1), lambda m, x: _pnorm(m, x, -1), _V),
    "norm-vec--2": (lambda m, x: m.linalg.norm(x, -2), lambda m, x: _pnorm(m, x, -2), _V),
    "norm-vec-inf": (lambda m, x: m.linalg.norm(x, onp.inf), lambda m, x: m.max(m.abs(x)), _V),
    "norm-vec--inf": (lambda m, x: m.linalg.norm(x, -onp.inf), lambda m, x: m.min(m.abs(x)), _V),
    "norm-axis": (lambda m, x: m.sum(m.linalg.norm(x, axis=1) * m.arange(1.0, 5.0)),
                  lambda m, x: m.sum(m.sqrt(m.sum(m.abs(x) ** 2, axis=1)) * m.arange(1.0, 5.0)), _TALL),
    "norm-axis-3": (lambda m, x: m.sum(m.linalg.norm(x, 3, axis=0) * m.arange(1.0, 4.0)),
                    lambda m, x: m.sum(_pnorm(m, x, 3, axis=0) * m.arange(1.0, 4.0)), _TALL),
    "norm-fro": (lambda m, x: m.linalg.norm(x, "fro"), lambda m, x: m.sqrt(m.sum(m.abs(x) ** 2)), _A),
    "norm-nuc": (lambda m, x: m.linalg.norm(x, "nuc"), lambda m, x: m.sum(_svals(m, x)), _TALL),
    "norm-mat-2": (lambda m, x: m.linalg.norm(x, 2), lambda m, x: _svals(m, x)[0], _A),
    "norm-mat--2": (lambda m, x: m.linalg.norm(x, -2), lambda m, x: _svals(m, x)[-1], _WIDE),
    "norm-mat-1": (lambda m, x: m.linalg.norm(x, 1), lambda m, x: m.max(m.sum(m.abs(x), axis=0)), _A),
    "norm-mat--1": (lambda m, x: m.linalg.norm(x, -1), lambda m, x: m.min(m.sum(m.abs(x), axis=0)), _A),
    "norm-mat-inf": (lambda m, x: m.linalg.norm(x, onp.inf), lambda m, x: m.max(m.sum(m.abs(x), axis=1)), _A),
    "norm-mat--inf": (lambda m, x: m.linalg.norm(x, -onp.inf), lambda m, x: m.min(m.sum(m.abs(x), axis=1)), _A),
    "svd-s": (lambda m, x: m.sum(m.linalg.svd(x, full_matrices=False)[1] * m.arange(1.0, 4.0)), None, _TALL),
    "svd-s-full-square": (lambda m, x: m.sum(m.linalg.svd(x)[1] ** 2 * m.arange(1.0, 4.0)),
                          lambda m, x: m.sum(m.linalg.svd(x, full_matrices=False)[1] ** 2 * m.arange(1.0, 4.0)),
                          _A),
    "svd-no-uv": (lambda m, x: m.sum(m.linalg.svd(x, compute_uv=False) * m.arange(1.0, 3.0)),
                  lambda m, x: m.sum(m.linalg.svd(x, full_matrices=False)[1] * m.arange(1.0, 3.0)), _WIDE),
    "svd-u-tall": (lambda m, x: m.sum(m.abs(m.linalg.svd(x, full_matrices=False)[0]) ** 2 * _W3[:, :3].sum(0)),
                   None, _TALL),
    "svd-vh-wide": (lambda m, x: m.sum(m.abs(m.linalg.svd(x, full_matrices=False)[2][:, :3]) ** 2 * _W3[:2]),
                    None, _WIDE),
    "svd-uvh-tall": (lambda m, x: (lambda u, s, vh: m.sum(m.real(m.dot(u, vh)) * m.arange(12.0).reshape(4, 3))
                                   + m.sum(m.imag(m.dot(u * s, vh))))(*m.linalg.svd(x, full_matrices=False)),
                     None, _TALL),
    "svd-uvh-wide": (lambda m, x: (lambda u, s, vh: m.sum(m.abs(m.dot(u, vh) * s[0]) ** 2 * m.arange(8.0)
                                                          .reshape(2, 4)))(*m.linalg.svd(x, full_matrices=False)),
                     None, _WIDE),
    "eigh-w": (lambda m, x: m.sum(m.linalg.eigh(x)[0] ** 2 * m.arange(1.0, 4.0)), None, _HERM),
    "eigh-w-upper": (lambda m, x: m.sum(m.linalg.eigh(x, "U")[0] ** 2 * m.arange(1.0, 4.0)), None, _HERM),
    "eigh-v": (lambda m, x: m.sum(m.abs(m.linalg.eigh(x)[1]) ** 2 * _W3), None, _HERM),
    "eigh-wv": (lambda m, x: (lambda w, v: m.sum(m.abs(v * w) ** 2 * _W3))(*m.linalg.eigh(x)), None, _HERM),
    "cholesky": (lambda m, x: m.sum(m.abs(m.linalg.cholesky(x)) ** 2 * _W3), "fd-only", _HERM @ _HERM.conj().T),
    "norm-keepdims": (lambda m, x: m.sum(m.linalg.norm(x, axis=0, keepdims=True) * m.arange(1.0, 4.0)),
                      lambda m, x: m.sum(m.sqrt(m.sum(m.abs(x) ** 2, axis=0, keepdims=True)) * m.arange(1.0, 4.0)),
                      _TALL),
    "eigvalsh": (lambda m, x: m.sum(m.linalg.eigvalsh(x) ** 3 * m.arange(1.0, 4.0)),
                 lambda m, x: m.sum(m.linalg.eigh(x)[0] ** 3 * m.arange(1.0, 4.0)), _HERM),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_input_follows_autograds_convention(name):
    f, oracle, x = COMPLEX[name]
    oracle = oracle or f
    ours, theirs = (lambda z: f(np, z)), (None if oracle == "fd-only" else (lambda z: oracle(anp, z)))
    check_function(ours, lambda z: f(onp, z), theirs, x)


@pytest.mark.parametrize("name", ["norm-vec-default", "norm-fro", "norm-axis"])
def test_norm_is_consistent_with_its_expansion_under_autograd(name):
    """The gradient of ``norm(x)`` equals autograd's gradient of the norm written out (and conj(x)/norm)."""
    f, oracle, x = COMPLEX[name]
    g = grad(lambda z: f(np, z))(np.array(x))
    assert_close(g, autograd.grad(lambda z: oracle(anp, z))(x), name)
    if name != "norm-axis":
        assert_close(g, onp.conj(x) / onp.linalg.norm(x), name)


# ------------------------------------------------------------------------------------------------ ties
_TIES = onp.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [5.0, 5.0, 5.0]])
_OTHER = onp.array([[1.0, 0.0, 3.0], [2.0, 4.0, 0.0], [5.0, 1.0, 5.0]])
_WT = onp.arange(1.0, 10.0).reshape(3, 3)

TIES = {
    # name: (f(m, a), central differences agree (at most two-way ties along each reduction))
    "max": (lambda m, a: m.max(a * a) * 1.0, False),
    "max-axis0": (lambda m, a: m.sum(m.max(a, axis=0) ** 2 * _WT[0]), False),
    "max-axis1-keepdims": (lambda m, a: m.sum(m.max(a, axis=1, keepdims=True) ** 2 * _WT[:, :1]), False),
    "amax-axis-tuple": (lambda m, a: m.amax(a ** 3, axis=(0, 1)), False),
    "min-axis1": (lambda m, a: m.sum(m.min(a, axis=1) ** 3 * _WT[0]), False),
    "amin-axis0": (lambda m, a: m.sum(m.amin(a[:2], axis=0) ** 2 * _WT[0]), True),
    "method-max": (lambda m, a: m.sum(a.max(axis=0) ** 2 * m.sum(a)), False),
    "method-min": (lambda m, a: m.sum(a[:2].min(1) ** 2 * _WT[0, :2]), True),
    "maximum": (lambda m, a: m.sum(m.maximum(a, _OTHER) ** 2 * _WT), True),
    "minimum": (lambda m, a: m.sum(m.minimum(_OTHER, a) ** 3 * _WT), True),
    "maximum-self": (lambda m, a: m.sum(m.maximum(a, a) ** 2 * _WT), False),
    "maximum-scalar": (lambda m, a: m.sum(m.maximum(a, 2.0) ** 2 * _WT), True),
    "minimum-broadcast": (lambda m, a: m.sum(m.minimum(a, a[0]) ** 2 * _WT), False),
    "max-of-maximum": (lambda m, a: m.max(m.maximum(a, _OTHER), axis=1)[2] ** 2, False),
}


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("name", sorted(TIES))
def test_ties_split_the_gradient_as_autograd_does(name, policy):
    f, fd = TIES[name]
    with POLICIES[policy]():
        check_function(lambda a: f(np, a), lambda a: f(onp, a), lambda a: f(anp, a), _TIES, fd=fd, fd2=False)


def test_tie_shares_are_autograds_rules():
    """Reductions split evenly among the tied entries; maximum/minimum give each operand half on a tie."""
    g = grad(lambda a: np.max(a))(np.array([1.0, 3.0, 3.0, 3.0]))
    assert_close(g, [0.0, 1 / 3, 1 / 3, 1 / 3], "max")
    g = grad(lambda a, b: np.sum(np.minimum(a, b)), (0, 1))(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    assert_close(g[0], [0.5, 1.0], "minimum, first")
    assert_close(g[1], [0.5, 0.0], "minimum, second")


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("name, f", [
    ("max", lambda m, a: m.max(a)),
    ("amin-axis", lambda m, a: m.sum(m.amin(m.stack([a, a * 2.0]), axis=1) * m.array([1.0, 3.0]))),
    ("maximum", lambda m, a: m.sum(m.maximum(a, 2.0))),
    ("method-min-axis", lambda m, a: m.sum(m.reshape(a, (3, 2)).min(axis=0))),
])
def test_nan_among_the_values_as_autograd(name, f, policy):
    """A NaN result has no entry equal to it: autograd's share is 0/0 (NaN) for that slice; maximum gives 0."""
    x = onp.array([1.0, onp.nan, 3.0, 3.0, -1.0, 0.5])
    with POLICIES[policy](), onp.errstate(invalid="ignore"):
        want = autograd.grad(lambda a: f(anp, a))(x)
        got = grad(lambda a: f(np, a))(np.array(x))
    assert onp.isnan(want).any() == (name != "maximum"), want
    assert_close(got, want, name)


# ------------------------------------------------------------------------------------------------ tuples of outputs
_X4 = onp.array([0.3, -0.7, 1.1, 0.4])
_M3 = onp.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 3.0]])


def _pair(m, a):
    return m.sin(a) * a, m.sum(a ** 3)


def _value_aux(m, a):
    return m.sum(m.exp(a) * a), {"scaled": a * 2.0, "count": 3}


TUPLES = {
    # name: f(m, a) -> scalar, built on tuples of outputs
    "calls-a-tuple-function": lambda m, a: (lambda p, q: m.sum(p ** 2) * q)(*_pair(m, a)),
    "value-of-value-aux": lambda m, a: _value_aux(m, a)[0],
    "value-times-aux": lambda m, a: (lambda v, aux: v * m.sum(aux["scaled"]))(*_value_aux(m, a)),
    "slogdet": lambda m, a: m.linalg.slogdet(_M3 + m.diag(a[:3] ** 2))[1] ** 2,
    "eigh-values": lambda m, a: m.sum(m.linalg.eigh(_M3 + m.diag(a[:3]))[0] ** 3),
    "eigh-vectors": lambda m, a: m.sum(m.linalg.eigh(_M3 + m.diag(a[:3]))[1][:, 0] ** 2 * a[:3]),
    "svd-values": lambda m, a: m.sum(m.linalg.svd(_M3 + m.diag(a[:3]), full_matrices=False)[1] ** 3),
    "array-split": lambda m, a: m.sum(m.array_split(a, 3)[1] ** 3 * m.array_split(a, 3)[0][0]),
    "unpacked-rows": lambda m, a: (lambda p, q, r, s: p * q ** 2 * m.sin(r) * s)(*a),
    "zip-of-rows": lambda m, a: sum(p * q ** 2 for p, q in zip(a, a[::-1])),
}


@pytest.mark.parametrize("name", sorted(TUPLES))
def test_higher_order_through_tuples(name):
    f = TUPLES[name]
    check_function(lambda a: f(np, a), lambda a: f(onp, a), lambda a: f(anp, a), _X4)
    h = hessian(lambda a: f(np, a))(np.array(_X4))
    assert_close(h, autograd.hessian(lambda a: f(anp, a))(_X4), "hessian against HIPS autograd")


def test_grad_of_a_vjp_through_a_tuple_output():
    """autograd cannot trace a plain tuple output (its make_vjp sees a constant): central differences decide."""
    u = (onp.array([1.0, -2.0, 0.5, 3.0]), 2.0)

    def through_vjp(a):
        vjp, _ = make_vjp(lambda b: _pair(np, b))(a)
        return np.sum(vjp((np.array(u[0]), u[1])) ** 2)

    def by_hand(a):  # vjp of (sin(a) a, sum(a**3)) at u, written out
        return onp.sum((u[0] * (onp.cos(a) * a + onp.sin(a)) + u[1] * 3 * a ** 2) ** 2)

    assert_close(through_vjp(np.array(_X4)), by_hand(_X4), "value")
    assert_close(grad(through_vjp)(np.array(_X4)), _real_fd(by_hand, _X4), "gradient", 1e-5, 1e-6)


# ------------------------------------------------------------------------------------------------ complex output
COMPLEX_OUTPUT = {
    "grad": (grad, autograd.grad),
    "value_and_grad": (value_and_grad, autograd.value_and_grad),
    "elementwise_grad": (elementwise_grad, autograd.elementwise_grad),
    "grad_and_loss": (grad_and_loss, autograd.value_and_grad),
}
COMPLEX_FUNCTIONS = {
    "scalar": lambda m, a: m.sum(a) * (1.0 + 2.0j),
    "array": lambda m, a: a * 1j,
    "complex-input": lambda m, a: m.sum(m.exp(a)),
}


@pytest.mark.parametrize("fn", sorted(COMPLEX_FUNCTIONS))
@pytest.mark.parametrize("op", sorted(COMPLEX_OUTPUT))
def test_gradient_of_a_complex_valued_function_raises_type_error(op, fn):
    ours, theirs = COMPLEX_OUTPUT[op]
    f = COMPLEX_FUNCTIONS[fn]
    x = _V if fn == "complex-input" else _X4
    with pytest.raises(TypeError) as want:
        theirs(lambda a: f(anp, a))(x)
    with pytest.raises(TypeError) as got:
        ours(lambda a: f(np, a))(np.array(x))
    msg = str(got.value)
    assert "real" in msg and "complex" in msg and "np.real" in msg, msg
    assert "only applies to real" in str(want.value)


def test_real_function_of_complex_values_still_differentiates():
    g = grad(lambda a: np.sum(np.abs(a * (1 + 1j)) ** 2))(np.array(_X4))
    assert_close(g, autograd.grad(lambda a: anp.sum(anp.abs(a * (1 + 1j)) ** 2))(_X4), "abs of complex")


# ----------------------------------------------------------------------------------------------- in-place through views
def aput(a, key, value):
    """``a`` with ``a[key]`` replaced by ``value``, written functionally for autograd (a one-hot scatter)."""
    pos = onp.arange(a.size).reshape(a.shape)[key]
    onehot = onp.zeros((a.size, pos.size))
    onehot[pos.ravel(), onp.arange(pos.size)] = 1.0
    keep = 1.0 - onehot.sum(axis=1).reshape(a.shape)
    full = anp.reshape(anp.dot(onehot, anp.ravel(anp.broadcast_to(value, pos.shape))), a.shape)
    return a * keep + full


def _slice_iadd(m, x):
    a = x * 1.0
    a[1:3] += x[:2] ** 2
    return m.sum(a * a * m.arange(1.0, 5.0))


def _slice_iadd_f(x):
    a = x * 1.0
    a = aput(a, slice(1, 3), a[1:3] + x[:2] ** 2)
    return anp.sum(a * a * anp.arange(1.0, 5.0))


def _element_isub(m, x):
    a = x * 1.0
    a[0] -= m.sum(x ** 2)
    return m.sum(m.sin(a) * m.arange(1.0, 5.0))


def _element_isub_f(x):
    a = aput(x * 1.0, 0, x[0] - anp.sum(x ** 2))
    return anp.sum(anp.sin(a) * anp.arange(1.0, 5.0))


def _view_isub(m, x):
    a = x ** 2
    vx = a[1:]
    vx -= a[:-1] * x[0]  # the view and its base both change; both are read afterwards
    return m.sum(a * m.arange(1.0, 5.0)) + m.sum(vx ** 3)


def _view_isub_f(x):
    a = x ** 2
    a = aput(a, slice(1, None), a[1:] - a[:-1] * x[0])
    return anp.sum(a * anp.arange(1.0, 5.0)) + anp.sum(a[1:] ** 3)


def _column_imul(m, x):
    a = m.reshape(x * 1.0, (2, 2))
    a[:, 0] *= 2
    a[:, 1] *= a[:, 0]
    return m.sum(a ** 2 * m.array([[1.0, 2.0], [3.0, 4.0]]))


def _column_imul_f(x):
    a = anp.reshape(x * 1.0, (2, 2))
    a = aput(a, (slice(None), 0), a[:, 0] * 2)
    a = aput(a, (slice(None), 1), a[:, 1] * a[:, 0])
    return anp.sum(a ** 2 * anp.array([[1.0, 2.0], [3.0, 4.0]]))


def _view_setitem(m, x):
    a = x * 1.0
    v = a[::2]
    v[1] = x[0] ** 2  # writes a[2]
    return m.sum(a ** 3) + m.sum(v * x[1])


def _view_setitem_f(x):
    a = aput(x * 1.0, 2, x[0] ** 2)
    return anp.sum(a ** 3) + anp.sum(a[::2] * x[1])


def _base_write_seen_by_view(m, x):
    a = x * 1.0
    v = a[1:]
    a[1] = x[0] * 5.0  # the view, made before, reads the new value
    a += x[3]
    return m.sum(v ** 2 * m.arange(1.0, 4.0))


def _base_write_seen_by_view_f(x):
    a = aput(x * 1.0, 1, x[0] * 5.0) + x[3]
    return anp.sum(a[1:] ** 2 * anp.arange(1.0, 4.0))


def _view_of_view(m, x):
    a = m.reshape(x * 1.0, (2, 2))
    c = a[1:].T  # a view of a view
    c[0] += x[2] * x[3]
    c *= 3.0
    return m.sum(a ** 2 * m.array([[1.0, 2.0], [3.0, 4.0]])) + m.sum(c)


def _view_of_view_f(x):
    a = anp.reshape(x * 1.0, (2, 2))
    a = aput(a, (1, 0), a[1, 0] + x[2] * x[3])
    a = aput(a, slice(1, None), a[1:] * 3.0)
    return anp.sum(a ** 2 * anp.array([[1.0, 2.0], [3.0, 4.0]])) + anp.sum(a[1:])


def _reshape_view(m, x):
    a = x * 1.0
    r = a.reshape(2, 2)
    r[0] *= x[3]
    return m.sum(m.exp(a)) + m.sum(r[1] * r[0])


def _reshape_view_f(x):
    a = aput(x * 1.0, slice(0, 2), x[:2] * x[3])
    return anp.sum(anp.exp(a)) + anp.sum(a[2:] * a[:2])


def _argument_view(m, x):
    x[1:] += 1.0  # the argument itself, through a view: the gradient is for the value passed in
    x[:2] *= x[3]
    return m.sum(x ** 3)


def _argument_view_f(x):
    a = aput(x, slice(1, None), x[1:] + 1.0)
    a = aput(a, slice(0, 2), a[:2] * a[3])
    return anp.sum(a ** 3)


def _assign_into_view(m, x):
    a = m.zeros(4)
    v = a[1:3]
    v[...] = m.exp(x[:2])  # a constant base, traced through a view write
    v += x[2]
    return m.sum(a * x)


def _assign_into_view_f(x):
    a = aput(anp.zeros(4), slice(1, 3), anp.exp(x[:2]) + x[2])
    return anp.sum(a * x)


def _split_and_transpose(m, x):
    a = m.concatenate([x, x[:2] * x[2:4]])
    p, q = m.split(a, 2)  # each piece is a view
    q += p * p
    b = m.reshape(a, (2, 3)).T
    b[0] *= 3.0
    return m.sum(a ** 2 * m.arange(6.0)) + m.sum(q)


def _split_and_transpose_f(x):
    a = anp.concatenate([x, x[:2] * x[2:4]])
    a = aput(a, slice(3, 6), a[3:] + a[:3] * a[:3])
    a = aput(a, [0, 3], a[[0, 3]] * 3.0)
    return anp.sum(a ** 2 * anp.arange(6.0)) + anp.sum(a[3:])


INPLACE = {
    "split-and-transpose": (_split_and_transpose, _split_and_transpose_f),
    "slice-iadd": (_slice_iadd, _slice_iadd_f),
    "element-isub": (_element_isub, _element_isub_f),
    "view-isub": (_view_isub, _view_isub_f),
    "column-imul": (_column_imul, _column_imul_f),
    "view-setitem": (_view_setitem, _view_setitem_f),
    "base-write-seen-by-view": (_base_write_seen_by_view, _base_write_seen_by_view_f),
    "view-of-view": (_view_of_view, _view_of_view_f),
    "reshape-view": (_reshape_view, _reshape_view_f),
    "argument-view": (_argument_view, _argument_view_f),
    "assign-into-view": (_assign_into_view, _assign_into_view_f),
}
_XI = onp.array([0.3, -0.7, 1.1, 0.4])


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_updates_through_views(name, policy):
    f, functional = INPLACE[name]
    with POLICIES[policy]():
        check_function(lambda z: f(np, z), lambda z: f(onp, z), functional, _XI)


def test_base_and_views_read_the_updated_values():
    """Under the tape, the base and every view see each write, as on NumPy; the vjp reaches the inputs."""
    def run(m, x):
        a = x * 2.0
        v, w = a[1:], a[:3]
        v -= x[:3]
        w[0] += v[2]
        a[3] *= x[1]
        return a, v, w

    vjp, (a, v, w) = make_vjp(lambda x: run(np, x))(np.array(_XI))
    for got, want in zip((a, v, w), run(onp, _XI.copy())):
        assert_close(got, want, "value against NumPy", 1e-12, 1e-12)
    us = [onp.arange(1.0, 5.0), onp.array([1.0, -1.0, 2.0]), onp.array([0.5, 0.0, 1.0])]
    g = vjp(tuple(np.array(u) for u in us))

    def loss(x):
        return sum(float(onp.sum(o * u)) for o, u in zip(run(onp, x.copy()), us))

    assert_close(g, _real_fd(loss, _XI), "vjp against central differences", 1e-5, 1e-6)


def test_writing_a_real_view_of_a_complex_traced_array_is_refused():
    def f(z):
        a = z * (1 + 1j)
        r = a.real  # a float64 view of complex memory: not expressible as a write of the same dtype
        r[0] = 5.0
        return np.sum(np.abs(a))

    with pytest.raises(InPlaceGradientError) as info:
        grad(f)(np.array(_XI))
    assert ".real" in str(info.value) and "complex128" in str(info.value)
