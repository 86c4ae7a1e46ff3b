"""Gradient rules: products (dot, matmul, tensordot, einsum, ...) and ``numpy.linalg``.

Products are differentiated by contracting ``g`` with the other operand(s), written as the same kind of
product, so second derivatives are products again. Complex operands follow HIPS autograd's convention (the vjp
of a holomorphic map is its plain transpose, no conjugation). Matrix functions use the standard adjoint
formulas (Giles 2008; Murray 2016 for Cholesky; Townsend 2016 for the SVD), batched over leading axes.

``cholesky`` and ``eigh`` read one triangle of their input only (LAPACK), so their gradient lives in that
triangle: ``2 * tril(S) - diag(S)`` for the symmetric (Hermitian, for complex input) adjoint ``S``. Contracted
with any symmetric perturbation it is the same as ``S``, and it also matches finite differences taken entry by
entry (a complex diagonal entry's imaginary part is never read: its gradient is real).

Real-valued functions of complex matrices (norms, singular values, eigenvalues of Hermitian matrices) follow
autograd's convention too: the gradient of a real ``L`` is ``dL/dRe(x) - i dL/dIm(x)``. For such a function the
differential is ``Re(sum(M * dx))``, and ``M`` is the gradient: e.g. ``conj(x) / |x|`` for ``|x|``.
HIPS autograd 1.7's own ``linalg.norm`` rule omits that conjugate (its issue #666, fixed upstream in #705).
"""
from __future__ import annotations

import string

import numpy as onp

from . import defvjp, defvjp_argnums
from .util import dtype_of, host, match_real, shape_of, unbroadcast


def _np():
    import imperdl.numpy as np

    return np


def _ndim(x) -> int:
    return len(shape_of(x))


def _T(x):
    return _np().swapaxes(x, -1, -2)


def _mm(a, b):
    return _np().matmul(a, b)


def _is_complex(x) -> bool:
    return onp.issubdtype(dtype_of(x), onp.complexfloating)


def _conj(x, like):
    """``conj(x)`` when ``like`` is complex (autograd's convention for real functions of complex input)."""
    return _np().conj(x) if _is_complex(like) else x


def _H(x):
    """Conjugate transpose of the last two axes (the plain transpose for real ``x``)."""
    return _conj(_T(x), x)


def _eye_like(n, x, k=0, m=None):
    d = dtype_of(x)
    return onp.eye(n, m, k=k, dtype=d if onp.issubdtype(d, onp.inexact) else float)


# ------------------------------------------------------------------ tensordot (dot and inner reduce to it)
def _td_axes(na, nb, axes):
    """NumPy's ``axes`` argument as two lists of non-negative axes."""
    if isinstance(axes, (int, onp.integer)):
        n = int(axes)
        return list(range(na - n, na)), list(range(n))
    xa, xb = axes
    xa = [int(xa)] if onp.ndim(xa) == 0 else [int(i) for i in xa]
    xb = [int(xb)] if onp.ndim(xb) == 0 else [int(i) for i in xb]
    return [i % na if na else i for i in xa], [i % nb if nb else i for i in xb]


def _td_grad_a(g, a, b, xa, xb):
    np = _np()
    na, nb = _ndim(a), _ndim(b)
    free_a = [i for i in range(na) if i not in xa]
    free_b = [i for i in range(nb) if i not in xb]
    res = np.tensordot(g, b, axes=(list(range(len(free_a), len(free_a) + len(free_b))), free_b))
    rest_b = sorted(xb)
    perm = [free_a.index(i) if i in free_a else len(free_a) + rest_b.index(xb[xa.index(i)]) for i in range(na)]
    return match_real(np.transpose(res, perm) if perm != sorted(perm) else res, a)


def _td_grad_b(g, a, b, xa, xb):
    np = _np()
    na, nb = _ndim(a), _ndim(b)
    free_a = [i for i in range(na) if i not in xa]
    free_b = [i for i in range(nb) if i not in xb]
    res = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    rest_a = sorted(xa)
    perm = [len(rest_a) + free_b.index(j) if j in free_b else rest_a.index(xa[xb.index(j)]) for j in range(nb)]
    return match_real(np.transpose(res, perm) if perm != sorted(perm) else res, b)


def _scalar_product(g, x, other):
    """d(x * other) for an operand that is 0-d (dot/inner with a scalar is multiplication)."""
    return match_real(unbroadcast(g * other, x), x)


_OTHER = {0: (1,), 1: (0,)}  # (products: each operand's rule reads the other operand, and its own shape)

defvjp("tensordot",
       lambda g, ans, a, b, axes=2: _td_grad_a(g, a, b, *_td_axes(_ndim(a), _ndim(b), axes)),
       lambda g, ans, a, b, axes=2: _td_grad_b(g, a, b, *_td_axes(_ndim(a), _ndim(b), axes)), reads=_OTHER)


def _dot_axes(a, b):
    nb = _ndim(b)
    return [_ndim(a) - 1], [nb - 2 if nb > 1 else 0]


def _dot(which):
    def vjp(g, ans, a, b, out=None):
        x, other = (a, b) if which == 0 else (b, a)
        if _ndim(a) == 0 or _ndim(b) == 0:
            return _scalar_product(g, x, other)
        if _ndim(a) == 2 and _ndim(b) == 2:  # the common case: products with transposed views, nothing copied
            np = _np()
            return match_real(np.dot(g, np.transpose(b)) if which == 0 else np.dot(np.transpose(a), g), x)
        xa, xb = _dot_axes(a, b)
        if which == 0:
            return _td_grad_a(g, a, b, xa, xb)
        return _td_grad_b(g, a, b, xa, xb)

    return vjp


def _inner(which):
    def vjp(g, ans, a, b):
        x, other = (a, b) if which == 0 else (b, a)
        if _ndim(a) == 0 or _ndim(b) == 0:
            return _scalar_product(g, x, other)
        xa, xb = [_ndim(a) - 1], [_ndim(b) - 1]
        return (_td_grad_a if which == 0 else _td_grad_b)(g, a, b, xa, xb)

    return vjp


defvjp("dot", _dot(0), _dot(1), reads=_OTHER)
defvjp("inner", _inner(0), _inner(1), reads=_OTHER)


# ------------------------------------------------------------------ matmul: batched, with 1-d operands
def _matmul(which):
    def vjp(g, ans, a, b, **kwargs):
        np = _np()
        na, nb = _ndim(a), _ndim(b)
        gshape = shape_of(g) + ((1,) if nb == 1 else ())
        if na == 1:
            gshape = gshape[:-1] + (1,) + gshape[-1:]
        g2 = np.reshape(g, gshape) if gshape != shape_of(g) else g
        if which == 0:
            b2 = np.reshape(b, shape_of(b) + (1,)) if nb == 1 else b
            r = _mm(g2, _T(b2))
            r = np.squeeze(r, -2) if na == 1 else r
            return match_real(unbroadcast(r, a), a)
        a2 = np.reshape(a, (1,) + shape_of(a)) if na == 1 else a
        r = _mm(_T(a2), g2)
        r = np.squeeze(r, -1) if nb == 1 else r
        return match_real(unbroadcast(r, b), b)

    return vjp


defvjp("matmul", _matmul(0), _matmul(1), reads=_OTHER)


# ------------------------------------------------------------------ einsum: swap g in for the operand
def _einsum_terms(subscripts, operands):
    """Explicit input terms and output, with every '...' spelled out as fresh letters."""
    s = subscripts.replace(" ", "")
    ins, out = s.split("->") if "->" in s else (s, None)
    terms = ins.split(",")
    if out is None:
        letters = [c for c in ins if c.isalpha()]
        out = ("..." if "..." in ins else "") + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    used = set(c for c in s if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell = [_ndim(op) - (len(t) - 3) for t, op in zip(terms, operands) if "..." in t]
    n_ell = max(ell, default=0)
    ell_letters = "".join(free[:n_ell])
    free = free[n_ell:]
    out_terms = []
    for t, op in zip(terms, operands):
        if "..." in t:
            k = _ndim(op) - (len(t) - 3)
            t = t.replace("...", ell_letters[n_ell - k:] if k else "")
        out_terms.append(t)
    return out_terms, out.replace("...", ell_letters), free


def _sublist_letters(sub) -> str:
    """NumPy's sublist (ints 0-51, ``...``) as subscript letters."""
    return "".join("..." if s is Ellipsis else string.ascii_letters[int(s)] for s in sub)


def _einsum_call(args):
    """(subscripts, operands, operand index of each argument position) for either calling form."""
    if isinstance(args[0], str):
        return args[0], args[1:], {i: i - 1 for i in range(1, len(args))}
    n = len(args) // 2  # einsum(op0, sub0, op1, sub1, ..., [sub_out])
    subs = ",".join(_sublist_letters(host(args[2 * i + 1])) for i in range(n))
    if len(args) % 2:
        subs += "->" + _sublist_letters(host(args[-1]))
    return subs, args[0:2 * n:2], {2 * i: i for i in range(n)}


def _einsum(pos, g, ans, args, kwargs):
    np = _np()
    subscripts, operands, operand_at = _einsum_call(args)
    if type(pos) is not int or pos not in operand_at:
        raise NotImplementedError(f"einsum: no gradient with respect to argument {pos!r} (only for the operands)")
    terms, out, free = _einsum_terms(subscripts, operands)
    k = operand_at[pos]
    x = operands[k]
    sizes = {}
    for t, op in zip(terms, operands):
        for c, n in zip(t, shape_of(op)):
            sizes[c] = max(sizes.get(c, 1), n)
    # a letter repeated in the operand (a diagonal) gets a fresh name tied to the first by an identity matrix
    tk, seen, eyes, eye_terms = "", set(), [], []
    for c in terms[k]:
        if c in seen:
            fresh = free.pop(0)
            eyes.append(_eye_like(sizes[c], g))
            eye_terms.append(c + fresh)
            tk += fresh
        else:
            seen.add(c)
            tk += c
    in_terms = [out] + [t for i, t in enumerate(terms) if i != k] + eye_terms
    ops = [g] + [op for i, op in enumerate(operands) if i != k] + eyes
    avail = set("".join(in_terms))
    xshape = shape_of(x)
    keep = [p for p, c in enumerate(tk) if c in avail and not (xshape[p] == 1 and sizes[terms[k][p]] > 1)]
    r = np.einsum(",".join(in_terms) + "->" + "".join(tk[p] for p in keep), *ops)
    mid = tuple(xshape[p] if p in keep else 1 for p in range(len(tk)))
    if mid != shape_of(r):
        r = np.reshape(r, mid)
    if mid != xshape:
        r = np.broadcast_to(r, xshape)
    return match_real(r, x)


defvjp_argnums("einsum", _einsum)


# ------------------------------------------------------------------ outer, vdot, kron, cross (trace: reductions)
def _outer(which):
    def vjp(g, ans, a, b, out=None):
        np = _np()
        if which == 0:
            return match_real(np.reshape(np.dot(g, np.ravel(b)), shape_of(a)), a)
        return match_real(np.reshape(np.dot(np.ravel(a), g), shape_of(b)), b)

    return vjp


defvjp("outer", _outer(0), _outer(1), reads=_OTHER)


def _vdot(which):
    """vdot conjugates its first operand, so (autograd's convention) that side's gradient is conjugated."""
    def vjp(g, ans, a, b):
        np = _np()
        if which == 0:
            r = g * b
            r = np.conj(r) if _is_complex(r) else r
            return match_real(np.reshape(r, shape_of(a)), a)
        r = g * (np.conj(a) if _is_complex(a) else a)
        return match_real(np.reshape(r, shape_of(b)), b)

    return vjp


defvjp("vdot", _vdot(0), _vdot(1), reads=_OTHER)


def _kron(which):
    def vjp(g, ans, a, b):
        np = _np()
        d = max(_ndim(a), _ndim(b))
        sa = (1,) * (d - _ndim(a)) + shape_of(a)
        sb = (1,) * (d - _ndim(b)) + shape_of(b)
        G = np.reshape(g, tuple(v for pair in zip(sa, sb) for v in pair))
        if which == 0:
            r = np.tensordot(G, np.reshape(b, sb), axes=(list(range(1, 2 * d, 2)), list(range(d))))
            return match_real(np.reshape(r, shape_of(a)), a)
        r = np.tensordot(np.reshape(a, sa), G, axes=(list(range(d)), list(range(0, 2 * d, 2))))
        return match_real(np.reshape(r, shape_of(b)), b)

    return vjp


defvjp("kron", _kron(0), _kron(1), reads=_OTHER)


def _cross(which):
    def vjp(g, ans, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
        np = _np()
        if axis is not None:
            axisa = axisb = axisc = axis
        if which == 0:
            if shape_of(a)[axisa] != 3 or shape_of(b)[axisb] != 3:
                raise NotImplementedError("cross: gradient for 3-vectors only")
            r = np.cross(b, g, axisa=axisb, axisb=axisc, axisc=axisa)
            return match_real(unbroadcast(r, a), a)
        if shape_of(a)[axisa] != 3 or shape_of(b)[axisb] != 3:
            raise NotImplementedError("cross: gradient for 3-vectors only")
        r = np.cross(g, a, axisa=axisc, axisb=axisa, axisc=axisb)
        return match_real(unbroadcast(r, b), b)

    return vjp


defvjp("cross", _cross(0), _cross(1), reads=_OTHER)


# ------------------------------------------------------------------ multi_dot and matrix_power
def _multi_dot(pos, g, ans, args, kwargs):
    np = _np()
    if type(pos) is not tuple or pos[0] != 0:
        raise NotImplementedError("multi_dot: gradient only for the arrays in the sequence")
    arrays = list(args[0])
    j = pos[1]
    mats = list(arrays)
    if _ndim(mats[0]) == 1:
        mats[0] = np.reshape(mats[0], (1, -1))
    if _ndim(mats[-1]) == 1:
        mats[-1] = np.reshape(mats[-1], (-1, 1))
    rows = shape_of(mats[0])[0]
    cols = shape_of(mats[-1])[1]
    r = np.reshape(g, (rows, cols))
    if j > 0:
        left = mats[0] if j == 1 else np.linalg.multi_dot(mats[:j])
        r = np.dot(_T(left), r)
    if j < len(mats) - 1:
        right = mats[-1] if j == len(mats) - 2 else np.linalg.multi_dot(mats[j + 1:])
        r = np.dot(r, _T(right))
    return match_real(np.reshape(r, shape_of(arrays[j])), arrays[j])


defvjp_argnums("linalg.multi_dot", _multi_dot, sequences=(0,))


def _power_sum(g, at, n):
    """sum_k at^k g at^(n-1-k): the vjp of X -> X^n (n >= 1), with ``at`` the transposed X."""
    powers = [None, at]
    for _ in range(2, n):
        powers.append(_mm(powers[-1], at))
    acc = None
    for k in range(n):
        t = g if k == 0 else _mm(powers[k], g)
        t = t if k == n - 1 else _mm(t, powers[n - 1 - k])
        acc = t if acc is None else acc + t
    return acc


def _matrix_power(g, ans, a, n):
    np = _np()
    n = int(n)
    if n == 0:
        return np.zeros(shape_of(a), dtype=dtype_of(a))
    if n > 0:
        return match_real(_power_sum(g, _T(a), n), a)
    bt = _T(np.linalg.inv(a))
    gb = _power_sum(g, bt, -n)
    return match_real(-_mm(_mm(bt, gb), bt), a)


defvjp("linalg.matrix_power", _matrix_power)


# ------------------------------------------------------------------ inverse, determinants, solve
def _inv(g, ans, a):
    at = _T(ans)
    return -_mm(_mm(at, g), at)


def _expand2(x):
    np = _np()
    return np.expand_dims(np.expand_dims(x, -1), -1)


defvjp("linalg.inv", _inv, reads=("ans",))
defvjp("linalg.det", lambda g, ans, a: _expand2(g * ans) * _T(_np().linalg.inv(a)))
defvjp("linalg.slogdet", lambda g, ans, a: _expand2(g[1]) * _T(_np().linalg.inv(a)), reads=(0,))


def _solve_is_vector(a, b) -> bool:
    return _ndim(b) == 1 or _ndim(b) == _ndim(a) - 1


def _solve(which):
    def vjp(g, ans, a, b):
        np = _np()
        gb = np.linalg.solve(_T(a), g)
        if which == 1:
            return match_real(unbroadcast(gb, b), b)
        if _solve_is_vector(a, b):
            r = -np.expand_dims(gb, -1) * np.expand_dims(ans, -2)
        else:
            r = -_mm(gb, _T(ans))
        return match_real(unbroadcast(r, a), a)

    return vjp


defvjp("linalg.solve", _solve(0), _solve(1), reads={0: ("ans", 0), 1: (0,)})


def _pinv(g, ans, a, rcond=1e-15, hermitian=False):
    """Golub & Pereyra's derivative of the pseudo-inverse (constant rank assumed)."""
    x, xt, gt = ans, _T(ans), _T(g)
    m, n = shape_of(a)[-2:]
    p = _eye_like(m, a) - _mm(a, x)
    q = _eye_like(n, a) - _mm(x, a)
    r = -_mm(_mm(xt, g), xt) + _mm(_mm(p, gt), _mm(x, xt)) + _mm(_mm(xt, x), _mm(gt, q))
    return match_real(r, a)


defvjp("linalg.pinv", _pinv)


# ------------------------------------------------------------------ factorizations
def _one_triangle(s, uplo="L"):
    """Gradient of a function that reads one triangle of a symmetric matrix, from its symmetric adjoint ``s``."""
    np = _np()
    tri = np.tril(s) if uplo.upper() == "L" else np.triu(s)
    return tri + (np.tril(s, -1) if uplo.upper() == "L" else np.triu(s, 1))


def _cholesky(g, ans, a):
    """Murray's ``L^-H Phi(L^H Z) L^-1`` on the conjugated cotangent ``Z``, conjugated back (autograd's convention;
    real input: the real formula). HIPS autograd 1.7 transposes without conjugating here, so it is off for complex
    input: central differences are the reference."""
    np = _np()
    lh = _H(ans)
    n = shape_of(a)[-1]
    phi = np.tril(_mm(lh, _conj(g, a))) * (1.0 - 0.5 * onp.eye(n))
    y = np.linalg.solve(lh, phi)
    s = _H(np.linalg.solve(lh, _H(y)))
    return match_real(_conj(_one_triangle(0.5 * (s + _H(s))), a), a)


defvjp("linalg.cholesky", _cholesky)


def _gap_inverse(w, x):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it (eigen-gaps; distinct values assumed)."""
    np = _np()
    n = shape_of(w)[-1]
    eye = _eye_like(n, x)
    return 1.0 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye


def _eigh_adjoint(gw, gv, w, v, x):
    """Hermitian part of ``conj(V) (diag(gw) + F * V^T gv) V^T``: with ``dw = diag(V^H dA V)`` and the first-order
    eigenvector change, ``dL = Re(sum(S * dA))`` over Hermitian ``dA`` (real ``x``: the symmetric part)."""
    np = _np()
    inner = 0.0
    if gw is not None:
        inner = np.expand_dims(gw, -2) * _eye_like(shape_of(w)[-1], x)
    if gv is not None:
        inner = inner + _gap_inverse(w, x) * _mm(_T(v), gv)
    s = _mm(_mm(_conj(v, v), inner), _T(v))
    return 0.5 * (s + _H(s))


def _eigh(g, ans, a, UPLO="L"):
    w, v = ans
    return match_real(_one_triangle(_eigh_adjoint(g[0], g[1], w, v, a), UPLO), a)


def _eigvalsh(g, ans, a, UPLO="L"):
    w, v = _np().linalg.eigh(a, UPLO)
    return match_real(_one_triangle(_eigh_adjoint(g, None, w, v, a), UPLO), a)


defvjp("linalg.eigh", _eigh)
defvjp("linalg.eigvalsh", _eigvalsh)


def _svd_full(gu, gs, gvh, u, s, vh, a):
    """Townsend's adjoint of A = U diag(s) V^H (thin factors); any of gu/gs/gvh may be None.

    Derived with Hermitian transposes on the conjugated cotangents (the ``dL = Re <Z, dX>`` form) and conjugated
    back at the end (autograd's convention); real input reduces to the real formula. For complex input the phase
    of each singular pair is arbitrary, so only phase-invariant functions of U and V have a gradient: the phase
    term ``i Im(diag(U^H Z_U)) / s`` is written on the U side.
    """
    np = _np()
    cplx = _is_complex(a)
    zu = _conj(gu, a) if gu is not None else None
    zvh = _conj(gvh, a) if gvh is not None else None
    v = _H(vh)
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    eye = _eye_like(k, a)
    inner = np.expand_dims(gs, -2) * eye if gs is not None else 0.0
    s2 = s * s
    f = 1.0 / (np.expand_dims(s2, -2) - np.expand_dims(s2, -1) + eye) - eye
    sr = np.expand_dims(s, -2)  # scales columns
    sc = np.expand_dims(s, -1)  # scales rows
    if zu is not None:
        uhzu = _mm(_H(u), zu)
        inner = inner + f * (uhzu - _H(uhzu)) * sr
        if cplx:
            inner = inner + 1j * np.imag(uhzu) * (eye / sr)
    if zvh is not None:
        zv = _H(zvh)
        vhzv = _mm(vh, zv)
        inner = inner + sc * (f * (vhzv - _H(vhzv)))
    r = _mm(_mm(u, inner), vh)
    if zu is not None and m > k:
        r = r + _mm((zu - _mm(u, _mm(_H(u), zu))) / sr, vh)
    if zvh is not None and n > k:
        r = r + _mm(u / sr, zvh - _mm(_mm(zvh, v), vh))
    return _conj(r, a)


def _svd(g, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    np = _np()
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return match_real(_conj(_mm(u * np.expand_dims(g, -2), vh), a), a)
    m, n = shape_of(a)[-2:]
    if full_matrices and m != n:
        raise NotImplementedError("linalg.svd: gradient needs full_matrices=False for a non-square matrix")
    u, s, vh = ans
    return match_real(_svd_full(g[0], g[1], g[2], u, s, vh, a), a)


defvjp("linalg.svd", _svd)


def _qr(g, ans, a, mode="reduced"):
    np = _np()
    if mode not in ("reduced", "complete", "r"):
        raise NotImplementedError(f"linalg.qr: no gradient for mode={mode!r}")
    m, n = shape_of(a)[-2:]
    if m < n or (mode == "complete" and m != n):
        raise NotImplementedError("linalg.qr: gradient for tall (m >= n) reduced factorizations only")
    if mode == "r":
        q, r = np.linalg.qr(a)
        gq, gr = None, g
    else:
        (q, r), (gq, gr) = ans, g
    mm = _mm(r, _T(gr)) if gr is not None else 0.0
    if gq is not None:
        mm = mm - _mm(_T(gq), q)
    sym = np.tril(mm) + _T(np.tril(mm, -1))
    b = _mm(q, sym)
    if gq is not None:
        b = b + gq
    return match_real(_T(np.linalg.solve(r, _T(b))), a)


defvjp("linalg.qr", _qr)


# ------------------------------------------------------------------ norms
def _reshape_g(g, shape):
    np = _np()
    return np.reshape(g, shape) if shape_of(g) != tuple(shape) else g


def _unit(x):
    """The gradient of ``|x|`` elementwise: ``sign(x)`` for real ``x`` (a constant), ``conj(x) / |x|`` for complex
    ``x`` (0 at 0), which is smooth and so stays on the tape for higher orders."""
    np = _np()
    if not _is_complex(x):
        return onp.sign(host(x))
    ax = np.abs(x)
    zero = host(ax) == 0
    return np.where(zero, 0.0, np.conj(x) / np.where(zero, 1.0, ax))


def _vector_norm_grad(g, ans, x, ord, axis):
    """Vector norm along ``axis`` (an int) of ``x``."""
    np = _np()
    n = _ndim(x)
    ax = axis % n
    xm = np.moveaxis(x, ax, -1) if ax != n - 1 else x
    batch = shape_of(xm)[:-1]
    gv = np.expand_dims(_reshape_g(g, batch), -1)
    nv = np.expand_dims(_reshape_g(ans, batch), -1)
    if ord is None or ord == 2:
        r = _conj(xm, xm) * (gv / nv)
    elif ord == 1:
        r = gv * _unit(xm)
    elif ord == 0:
        return np.zeros(shape_of(x), dtype=dtype_of(x))
    elif ord in (onp.inf, -onp.inf):
        ax_ = onp.abs(host(xm))
        ext = ax_.max(axis=-1, keepdims=True) if ord > 0 else ax_.min(axis=-1, keepdims=True)
        mask = (ax_ == ext).astype(float)
        mask = mask / mask.sum(axis=-1, keepdims=True)
        r = gv * (_unit(xm) * mask)
    else:
        p = float(ord)
        r = gv * _unit(xm) * np.abs(xm) ** (p - 1) / nv ** (p - 1)
    r = np.moveaxis(r, -1, ax) if ax != n - 1 else r
    return match_real(r, x)


def _matrix_norm_grad(g, ans, x, ord, axes):
    np = _np()
    n = _ndim(x)
    r0, c0 = axes[0] % n, axes[1] % n
    moved = (r0, c0) != (n - 2, n - 1)
    xm = np.moveaxis(x, (r0, c0), (-2, -1)) if moved else x
    batch = shape_of(xm)[:-2]
    gm = _expand2(_reshape_g(g, batch))
    if ord in (None, "fro"):
        r = _conj(xm, xm) * (gm / _expand2(_reshape_g(ans, batch)))
    elif ord in ("nuc", 2, -2):
        u, s, vh = np.linalg.svd(xm, full_matrices=False)
        if ord == "nuc":
            r = gm * _conj(_mm(u, vh), xm)
        else:
            i = 0 if ord == 2 else -1
            r = gm * _conj(np.expand_dims(u[..., :, i], -1) * np.expand_dims(vh[..., i, :], -2), xm)
    elif ord in (1, -1, onp.inf, -onp.inf):
        sums = onp.abs(host(xm)).sum(axis=-2 if ord in (1, -1) else -1, keepdims=True)
        ext = sums.max(axis=-1 if ord in (1, -1) else -2, keepdims=True) if ord > 0 else \
            sums.min(axis=-1 if ord in (1, -1) else -2, keepdims=True)
        mask = (sums == ext).astype(float)
        mask = mask / mask.sum(axis=(-2, -1), keepdims=True)
        r = gm * (_unit(xm) * mask)
    else:
        raise NotImplementedError(f"linalg.norm: no gradient for matrix ord={ord!r}")
    r = np.moveaxis(r, (-2, -1), (r0, c0)) if moved else r
    return match_real(r, x)


def _norm(g, ans, x, ord=None, axis=None, keepdims=False):
    np = _np()
    n = _ndim(x)
    if axis is None:
        if ord is None:
            r = _conj(x, x) * (g / ans)
            return match_real(r if shape_of(r) == shape_of(x) else np.broadcast_to(r, shape_of(x)), x)
        if n == 1:
            return _vector_norm_grad(g, ans, x, ord, 0)
        return _matrix_norm_grad(g, ans, x, ord, (0, 1))
    if isinstance(axis, (tuple, list)):
        if len(axis) == 1:
            return _vector_norm_grad(g, ans, x, ord, int(axis[0]))
        return _matrix_norm_grad(g, ans, x, ord, tuple(int(i) for i in axis))
    return _vector_norm_grad(g, ans, x, ord, int(axis))


defvjp("linalg.norm", _norm)
