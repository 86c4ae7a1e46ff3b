"""Differential CASES for products (dot, matmul, tensordot, einsum, inner, outer, vdot, trace) and ``linalg``.

Matrices for inverses and solves are diagonally dominant, so float32 answers are well defined to the runner's
tolerance; draws mix in int/bool/mixed-dtype operands, 0-d and empty shapes, batched stacks and keywords the
predicates decline (``hermitian=``, float ``ord``, 'greedy' einsum paths).
"""
from __future__ import annotations

import numpy as onp
from hypothesis import strategies as st

from .strategies import ALL, FLOATS, INTS, arrays, draw_dtype

# mostly float operands (what MXNet takes), sometimes ints/bools (NumPy's integer products)
_DTYPES = FLOATS * 4 + ALL
_LINALG_TOL = {"rtol": 1e-4, "atol": 1e-4}
TOLERANCE = {
    name: _LINALG_TOL
    for name in ("linalg.inv", "linalg.det", "linalg.slogdet", "linalg.solve", "linalg.cholesky",
                 "linalg.eigvalsh", "linalg.norm", "linalg.pinv", "linalg.tensorinv", "linalg.tensorsolve",
                 "einsum", "tensordot", "matmul", "dot", "inner", "outer", "vdot", "trace")
}
MAX_EXAMPLES = {"linalg.norm": 40, "einsum": 25, "dot": 25, "matmul": 25}


def _arr(data, dtype, shape, lo=-3, hi=3):
    return data.draw(arrays(dtype, tuple(shape), lo=lo, hi=hi))


def _dtypes(data):
    """One dtype for both operands (usually) or two different ones (declined: MXNet does not promote)."""
    d1 = draw_dtype(data, _DTYPES)
    d2 = d1 if data.draw(st.integers(0, 4)) else draw_dtype(data, _DTYPES)
    return d1, d2


def _side(data, lo=0, hi=3):
    return data.draw(st.integers(lo, hi))


def _batch(data, max_dims=2):
    return tuple(data.draw(st.lists(st.integers(1, 3), max_size=max_dims)))


def dot_case(data):
    d1, d2 = _dtypes(data)
    na, nb = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    k = _side(data)
    a_shape = tuple(_side(data) for _ in range(na - 1)) + ((k,) if na else ())
    if nb == 0:
        b_shape = ()
    elif nb == 1:
        b_shape = (k,)
    else:
        b_shape = tuple(_side(data) for _ in range(nb - 2)) + (k, _side(data))
    return (_arr(data, d1, a_shape), _arr(data, d2, b_shape)), {}


def matmul_case(data):
    d1, d2 = _dtypes(data)
    k = _side(data)
    batch = _batch(data)
    a_shape = batch + (_side(data), k) if data.draw(st.integers(0, 3)) else (k,)
    b_batch = tuple(1 if data.draw(st.booleans()) else s for s in batch)[data.draw(st.integers(0, len(batch))):]
    b_shape = b_batch + (k, _side(data)) if data.draw(st.integers(0, 3)) else (k,)
    if data.draw(st.integers(0, 9)) == 0:
        a_shape = ()  # NumPy raises for 0-d operands
    return (_arr(data, d1, a_shape), _arr(data, d2, b_shape)), {}


def tensordot_case(data):
    d1, d2 = _dtypes(data)
    shared = tuple(_side(data, 1, 3) for _ in range(data.draw(st.integers(0, 2))))
    a_shape = tuple(_side(data) for _ in range(data.draw(st.integers(0, 2)))) + shared
    b_shape = shared + tuple(_side(data) for _ in range(data.draw(st.integers(0, 2))))
    a, b = _arr(data, d1, a_shape), _arr(data, d2, b_shape)
    n = len(shared)
    style = data.draw(st.sampled_from(["int", "lists", "tuples", "pair_ints", "negative"]))
    if style == "int":
        axes = n
    elif style == "negative":
        axes = -1
    elif style == "pair_ints" and n == 1:
        axes = (a.ndim - 1, 0)
    else:
        ax_a = list(range(a.ndim - n, a.ndim))
        ax_b = list(range(n))
        if n and data.draw(st.booleans()):
            ax_a = [x - a.ndim for x in ax_a]
        axes = (ax_a, ax_b) if style == "lists" else (tuple(ax_a), tuple(ax_b))
    return (a, b), {"axes": axes} if data.draw(st.booleans()) else {}


_EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 0)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,j->ij", [(3,), (2,)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]),
    ("...j,j->...", [(2, 3, 4), (4,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bij,bjk->bik", [(0, 2, 3), (0, 3, 2)]),
    (",i->i", [(), (3,)]),
    ("ij,jk->iki", [(2, 3), (3, 4)]),  # invalid: NumPy raises
    ("ij,jk->ik", [(2, 3), (4, 4)]),  # shape mismatch: NumPy raises
]


def einsum_case(data):
    subs, shapes = data.draw(st.sampled_from(_EINSUM))
    d1, d2 = _dtypes(data)
    ops = [_arr(data, d1 if i == 0 else d2, s) for i, s in enumerate(shapes)]
    kw = {}
    opt = data.draw(st.sampled_from([None, None, False, True, "greedy"]))
    if opt is not None:
        kw["optimize"] = opt
    return (subs, *ops), kw


def inner_case(data):
    d1, d2 = _dtypes(data)
    k = _side(data)
    a_shape = tuple(_side(data) for _ in range(data.draw(st.integers(0, 2)))) + (k,)
    b_shape = tuple(_side(data) for _ in range(data.draw(st.integers(0, 2)))) + (k,)
    if data.draw(st.integers(0, 6)) == 0:
        a_shape = ()  # declined: a 0-d operand crashes MXNet
    return (_arr(data, d1, a_shape), _arr(data, d2, b_shape)), {}


def outer_case(data):
    d1, d2 = _dtypes(data)
    shape = lambda: tuple(_side(data) for _ in range(data.draw(st.integers(0, 2))))  # noqa: E731
    return (_arr(data, d1, shape()), _arr(data, d2, shape())), {}


def vdot_case(data):
    d1, d2 = _dtypes(data)
    shape = tuple(_side(data) for _ in range(data.draw(st.integers(0, 3))))
    other = shape[::-1] if data.draw(st.booleans()) else shape
    return (_arr(data, d1, shape), _arr(data, d2, other)), {}


def trace_case(data):
    dt = draw_dtype(data, _DTYPES)
    nd = data.draw(st.integers(2, 3))
    a = _arr(data, dt, tuple(_side(data) for _ in range(nd)))
    kw = {}
    if data.draw(st.booleans()):
        kw["offset"] = data.draw(st.integers(-2, 2))
    if data.draw(st.booleans()):
        ax = data.draw(st.permutations(list(range(nd))))
        kw["axis1"], kw["axis2"] = ax[0], ax[1]
    if data.draw(st.integers(0, 5)) == 0:
        kw["dtype"] = "float64"
    return (a,), kw


# ------------------------------------------------------------------------------------------ linalg
def _square(data, dtype=None, n=None, batch=None, min_n=0):
    """A diagonally dominant (so well-conditioned) stack of square matrices."""
    dt = dtype or draw_dtype(data, _DTYPES)
    n = _side(data, min_n, 4) if n is None else n
    batch = _batch(data) if batch is None else batch
    a = data.draw(arrays(onp.float64, batch + (n, n), lo=-1, hi=1)) + (n + 1) * onp.eye(n)
    return a.astype(dt) if dt.kind != "b" else a > 0


def square_case(data):
    return (_square(data),), {}


def nonempty_square_case(data):
    if data.draw(st.integers(0, 7)) == 0:
        return (_square(data, n=0),), {}
    return (_square(data, min_n=1),), {}


def cholesky_case(data):
    a = _square(data, dtype=draw_dtype(data, FLOATS * 4 + INTS))
    pd = a @ onp.swapaxes(a, -1, -2)
    if data.draw(st.integers(0, 8)) == 0:
        pd = -pd  # not positive definite: NumPy raises LinAlgError
    return (pd.astype(a.dtype),), {}


def eigvalsh_case(data):
    a = _square(data, dtype=draw_dtype(data, FLOATS * 4 + INTS))
    sym = (a + onp.swapaxes(a, -1, -2)).astype(a.dtype)
    if data.draw(st.booleans()):
        return (sym,), {"UPLO": data.draw(st.sampled_from(["L", "U"]))}
    return (sym,), {}


def solve_case(data):
    dt = draw_dtype(data, _DTYPES)
    n = _side(data, 0, 4)
    batch = _batch(data)
    a = _square(data, dtype=dt, n=n, batch=batch)
    kind = data.draw(st.sampled_from(["vec", "mat", "bcast_a", "bcast_b", "vec1d"]))
    if kind == "vec":
        b_shape = batch + (n,)
    elif kind == "vec1d":
        b_shape = (n,)
    elif kind == "mat":
        b_shape = batch + (n, _side(data, 0, 3))
    elif kind == "bcast_a":
        a = a.reshape((-1, n, n))[:1].reshape((n, n)) if a.size else onp.zeros((n, n), a.dtype)
        b_shape = (2,) + batch + (n, _side(data, 1, 3))
    else:
        b_shape = (1,) * len(batch) + (n, _side(data, 1, 3))
    d2 = a.dtype if data.draw(st.integers(0, 5)) else draw_dtype(data, FLOATS)
    return (a, _arr(data, d2, b_shape)), {}


_ORDS = [None, None, "fro", "nuc", 0, 1, 2, 3, -1, -2, onp.inf, -onp.inf, 0.5]


def norm_case(data):
    dt = draw_dtype(data, FLOATS * 4 + INTS)
    nd = data.draw(st.integers(0, 3))
    x = _arr(data, dt, tuple(_side(data, 0 if data.draw(st.integers(0, 5)) == 0 else 1, 3) for _ in range(nd)))
    ord_ = data.draw(st.sampled_from(_ORDS))
    axis_kind = data.draw(st.sampled_from(["none", "int", "pair"] if nd >= 2 else ["none", "int"] if nd else ["none"]))
    kw = {}
    if ord_ is not None or data.draw(st.booleans()):
        kw["ord"] = ord_
    if axis_kind == "int":
        kw["axis"] = data.draw(st.integers(-nd, nd - 1))
    elif axis_kind == "pair":
        kw["axis"] = tuple(data.draw(st.permutations(list(range(nd))))[:2])
    if data.draw(st.booleans()):
        kw["keepdims"] = data.draw(st.booleans())
    return (x,), kw


def pinv_case(data):
    dt = draw_dtype(data, FLOATS * 4 + INTS)
    m, n = _side(data, 1, 4), _side(data, 1, 4)
    batch = _batch(data, 1)
    a = data.draw(arrays(onp.float64, batch + (m, n), lo=-1, hi=1))
    k = min(m, n)
    a[..., :k, :k] += 3 * onp.eye(k)  # full rank, well separated from the cutoff
    a = a.astype(dt)
    if data.draw(st.integers(0, 6)) == 0:
        return (a,), {"hermitian": False}
    if data.draw(st.booleans()):
        return (a,), {"rcond": data.draw(st.sampled_from([1e-15, 1e-3]))}
    return (a,), {}


def tensorinv_case(data):
    dt = draw_dtype(data, FLOATS * 4 + INTS)
    a = _square(data, dtype=dt, n=4, batch=())
    shape, ind = data.draw(st.sampled_from([((4, 2, 2), 1), ((2, 2, 4), 2), ((2, 2, 2, 2), 2), ((4, 4), 1)]))
    return (a.reshape(shape),), {"ind": ind} if ind != 2 or data.draw(st.booleans()) else {}


def tensorsolve_case(data):
    d1, d2 = _dtypes(data)
    a = _square(data, dtype=d1 if d1.kind != "b" else onp.dtype("float64"), n=4, batch=())
    shape, bshape = data.draw(st.sampled_from([((2, 2, 4), (2, 2)), ((4, 2, 2), (4,)), ((4, 4), (4,))]))
    b = _arr(data, d2 if d2.kind != "b" else onp.dtype("float64"), bshape)
    return (a.reshape(shape), b), {}


CASES = {
    "dot": dot_case,
    "matmul": matmul_case,
    "tensordot": tensordot_case,
    "einsum": einsum_case,
    "inner": inner_case,
    "outer": outer_case,
    "vdot": vdot_case,
    "trace": trace_case,
    "linalg.inv": square_case,
    "linalg.det": nonempty_square_case,
    "linalg.slogdet": nonempty_square_case,
    "linalg.cholesky": cholesky_case,
    "linalg.eigvalsh": eigvalsh_case,
    "linalg.solve": solve_case,
    "linalg.norm": norm_case,
    "linalg.pinv": pinv_case,
    "linalg.tensorinv": tensorinv_case,
    "linalg.tensorsolve": tensorsolve_case,
}
