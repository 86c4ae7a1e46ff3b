"""Gradient cases for ``numpy.linalg`` rules (``imperdl/core/rules/linalg.py``, second half); see ``checker.py``.

Matrices are drawn well conditioned (``I * 3 + noise``), symmetric positive definite for ``cholesky``, with
well separated eigenvalues / singular values for ``eigh`` and ``svd`` (so finite differences do not cross a
degeneracy), and full rank for ``pinv``/``qr``. ``cholesky`` and ``eigh`` read one triangle only, so their
inputs are perturbed entry by entry like any matrix: the rule's gradient lives in that triangle.
"""
from __future__ import annotations

import numpy as onp

import imperdl.numpy as inp
from imperdl.core.numpy_compat import NUMPY2


def _wellcond(rng, shape):
    n = shape[-1]
    return onp.eye(n) * 3.0 + rng.uniform(-1, 1, shape)


def _spd(rng, shape):
    n = shape[-1]
    a = rng.uniform(-1, 1, shape)
    return a @ onp.swapaxes(a, -1, -2) + n * onp.eye(n)


def _separated(rng, shape, spectrum):
    """A matrix with the given singular values / eigenvalues and random orthogonal factors."""
    m, n = shape[-2:]
    u, _ = onp.linalg.qr(rng.standard_normal(shape[:-2] + (m, m)))
    v, _ = onp.linalg.qr(rng.standard_normal(shape[:-2] + (n, n)))
    k = min(m, n)
    s = onp.zeros(shape)
    s[..., onp.arange(k), onp.arange(k)] = spectrum[:k]
    return u @ s @ onp.swapaxes(v, -1, -2)


def _sym_separated(rng, shape, eigs):
    n = shape[-1]
    q, _ = onp.linalg.qr(rng.standard_normal(shape[:-2] + (n, n)))
    return (q * onp.asarray(eigs)[..., None, :]) @ onp.swapaxes(q, -1, -2)


def mat(draw, shape, fixed=(), **kwargs):
    return lambda rng: ((draw(rng, shape),) + tuple(fixed), kwargs, (0,))


def _solve(ashape, bshape):
    return lambda rng: ((_wellcond(rng, ashape), rng.standard_normal(bshape)), {}, (0, 1))


def _eigh(shape, uplo="L"):
    def case(rng):
        return (_sym_separated(rng, shape, [-2.0, 0.5, 1.5, 3.5][: shape[-1]]),), {"UPLO": uplo}, (0,)

    return case


def _svd(shape, **kwargs):
    def case(rng):
        return (_separated(rng, shape, onp.array([4.0, 2.5, 1.5, 0.8])),), kwargs, (0,)

    return case


def _svd_vectors(shape):
    """Singular vectors are unique up to sign only: differentiate a sign-free function of them."""
    def case(rng):
        return (_separated(rng, shape, onp.array([4.0, 2.5, 1.5, 0.8])),), {}, (0,), {"fun": _svd_sign_free}

    return case


def _svd_sign_free(a):
    u, s, vh = inp.linalg.svd(a, full_matrices=False)
    w = inp.array(onp.linspace(0.5, 2.0, s.shape[-1]))
    return (u * (w * s)) @ vh + (u * w) @ vh


def _eigh_vectors(shape):
    def fun(a):
        w, v = inp.linalg.eigh(a)
        c = inp.array(onp.linspace(0.5, 2.0, w.shape[-1]))
        return (v * c) @ v.swapaxes(-1, -2) + v * v

    def case(rng):
        return (_sym_separated(rng, shape, [-2.0, 0.5, 1.5, 3.5][: shape[-1]]),), {}, (0,), {"fun": fun}

    return case


def _qr_fun(mode):
    def fun(a):
        q, r = inp.linalg.qr(a, mode=mode)
        return q * 2.0 + q @ r * 0.5, r

    return fun


def _qr(shape, mode="reduced"):
    spectrum = onp.array([3.0, 2.0, 1.5, 1.0])
    return lambda rng: ((_separated(rng, shape, spectrum),), {}, (0,), {"fun": _qr_fun(mode)})


def _vec(shape, **kwargs):
    def case(rng):
        x = rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        return (x,), kwargs, (0,)

    return case


def _distinct(shape, **kwargs):
    """Distinct magnitudes (no ties for inf-norms and induced 1/inf norms)."""
    def case(rng):
        x = (rng.permutation(int(onp.prod(shape))).reshape(shape) + 1.0) * 0.3 * rng.choice([-1.0, 1.0], shape)
        return (x + rng.uniform(-0.05, 0.05, shape),), kwargs, (0,)

    return case


GRAD_CASES = {
    "linalg.inv": [mat(_wellcond, (3, 3)), mat(_wellcond, (2, 2, 2))],
    "linalg.det": [mat(_wellcond, (3, 3)), mat(_wellcond, (2, 2, 2))],
    "linalg.slogdet": [mat(_wellcond, (3, 3)), mat(_wellcond, (2, 3, 3))],
    # NumPy 2 reads a 2-d b as a matrix: its stack of vectors is (2, 3, 1)
    "linalg.solve": [_solve((3, 3), (3,)), _solve((3, 3), (3, 2)), _solve((2, 3, 3), (2, 3, 1) if NUMPY2 else (2, 3))],
    "linalg.cholesky": [mat(_spd, (3, 3)), mat(_spd, (2, 3, 3))],
    "linalg.eigh": [_eigh((3, 3)), _eigh((2, 3, 3), "U"), _eigh_vectors((3, 3))],
    "linalg.eigvalsh": [_eigh((4, 4)), _eigh((3, 3), "U")],
    "linalg.svd": [_svd((3, 3)), _svd((4, 2), full_matrices=False, compute_uv=False),
                   _svd((2, 3, 2), compute_uv=False), _svd_vectors((3, 3)), _svd_vectors((4, 2)),
                   _svd_vectors((2, 4))],
    "linalg.norm": [_vec((4,)), _vec((2, 3)), _vec((2, 3), axis=1), _vec((2, 3), ord=1, axis=0),
                    _distinct((5,), ord=onp.inf), _distinct((2, 4), ord=-onp.inf, axis=-1), _vec((3,), ord=3),
                    _vec((3, 2), ord="fro", keepdims=True), _distinct((3, 3), ord=1), _distinct((3, 3), ord=onp.inf),
                    _distinct((3, 4), ord=-1), _svd((3, 3), ord="nuc"), _svd((3, 2), ord=2),
                    _svd((2, 3), ord=-2), _svd((2, 3, 2), ord=2, axis=(2, 0)), _vec((2, 3), ord=0, axis=1)],
    "linalg.pinv": [mat(_wellcond, (3, 3)), lambda rng: ((_separated(rng, (4, 2), onp.array([3.0, 1.5])),), {}, (0,)),
                    lambda rng: ((_separated(rng, (2, 3), onp.array([3.0, 1.5])),), {}, (0,))],
    "linalg.qr": [_qr((3, 3)), _qr((4, 2)), lambda rng: ((_wellcond(rng, (3, 3)),), {"mode": "r"}, (0,))],
    "linalg.matrix_power": [mat(_wellcond, (3, 3), fixed=(3,)), mat(_wellcond, (2, 2, 2), fixed=(-2,)),
                            mat(_wellcond, (2, 2), fixed=(1,)), mat(_wellcond, (2, 2), fixed=(0,))],
}
