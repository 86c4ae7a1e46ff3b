"""Gradient rules: the general (non-symmetric) eigendecomposition ``linalg.eig`` and ``linalg.eigvals``.

With ``a = U diag(w) U^-1``, a perturbation ``da`` moves the eigenvalues by ``diag(M)`` and the eigenvectors by
``U (F * M)``, where ``M = U^-1 da U`` and ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal; NumPy scales each
eigenvector to unit length, which adds ``-Re(u_j^H du_j) u_j``. The vjp is the transpose of that map under HIPS
autograd's bilinear pairing (no conjugation), so a real input gets the real part. The phase NumPy (LAPACK) gives a
complex eigenvector is not differentiated, as in autograd: only phase-invariant functions of complex eigenvectors
have a meaningful gradient. Written with ``imperdl.numpy`` operations, so second derivatives follow.
"""
from __future__ import annotations

import numpy as onp

from . import defvjp
from .util import match_real, shape_of


def _np():
    import imperdl.numpy as np

    return np


def _T(x):
    return _np().swapaxes(x, -1, -2)


def _diag_embed(v):
    n = shape_of(v)[-1]
    return _np().expand_dims(v, -2) * onp.eye(n)


def _back(x, inner, u):
    """``U^-T inner U^T``: the transpose of ``da -> U^-1 da U``."""
    np = _np()
    ut = _T(u)
    return match_real(np.matmul(np.linalg.solve(ut, inner), ut), x)


def _eig(g, ans, a):
    np = _np()
    w, u = ans
    gw, gu = g
    n = shape_of(w)[-1]
    eye = onp.eye(n)
    off = 1.0 - eye
    f = off / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye)  # F[i, j] = 1 / (w[j] - w[i]), 0 on the diagonal
    ut = _T(u)
    wu = np.matmul(ut, gu)
    scale = np.matmul(np.matmul(ut, np.conj(u)), np.real(wu) * eye)  # the unit-length constraint
    return _back(a, _diag_embed(gw) + f * (wu - scale), u)


def _eigvals(g, ans, a):
    u = _np().linalg.eig(a)[1]
    return _back(a, _diag_embed(g), u)


defvjp("linalg.eig", _eig)
defvjp("linalg.eigvals", _eigvals)
