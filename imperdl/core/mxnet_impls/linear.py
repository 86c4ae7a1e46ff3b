"""MXNet implementations: products (dot, matmul, tensordot, einsum, ...) and ``linalg``.

Why the predicates are what they are (each fact measured on mxnet 1.9.1):
- only float32/float64 operands of ONE dtype: MXNet's dot/matmul reject integer and mixed-dtype operands, and
  its ``trace``/``einsum`` of ints keep int32 where NumPy widens;
- ``inner`` with a 0-d operand kills the process (SIGFPE), so 0-d is declined there;
- decompositions whose factors are defined only up to sign (``eigh``, ``svd``, ``qr``, ``eig``) are not here:
  NumPy's sign conventions cannot be reproduced, and a call signature does not keep the value of a bool such
  as ``compute_uv``; ``qr``, ``lstsq``, ``matrix_power``, ``multi_dot``, ``cond`` in ``mx.np.linalg`` are
  NumPy itself, so "running them on MXNet" would only add copies;
- ``det``/``slogdet`` of an empty (0, 0) matrix give 0 on MXNet (NumPy: 1), so empty input is declined;
- ``norm`` gives silent wrong answers for orders NumPy rejects (``ord=3`` on a matrix, 'fro' on a vector) and
  fails for ``ord=inf`` on vectors; the predicate keeps the combinations that match for every value the call
  signature cannot see (an int ``ord`` only for vector norms, 'fro'/'nuc' only over two axes);
- ``solve`` does not broadcast batch dimensions on MXNet: the impl broadcasts the way NumPy's gufunc does.
"""
from __future__ import annotations

import operator

import numpy

from ..array import Array
from ..backends import mxnet_backend as B
from ..registry import register_mxnet
from .shape import check_axes

_FLOATS = frozenset((numpy.dtype("float32"), numpy.dtype("float64")))
_ARRAYS = (Array, numpy.ndarray)


# ------------------------------------------------------------------------------------------ shared predicates
def _fl(x, min_ndim=0, empty=True) -> bool:
    """A float32/float64 array of rank >= ``min_ndim`` (and non-empty unless ``empty``)."""
    return type(x) in _ARRAYS and x.dtype in _FLOATS and x.ndim >= min_ndim and (empty or x.size != 0)


def _same(*xs, min_ndim=0, empty=True) -> bool:
    """Float arrays sharing one dtype (MXNet does not promote between operands)."""
    return bool(xs) and all(_fl(x, min_ndim, empty) for x in xs) and all(x.dtype == xs[0].dtype for x in xs)


def _is_int(v) -> bool:
    return type(v) is int or isinstance(v, numpy.integer)


def _ints(v) -> bool:
    return type(v) in (tuple, list) and all(_is_int(e) for e in v)


def _kw(kwargs, allowed) -> bool:
    """Only keywords in ``allowed`` (name -> check)."""
    return all(k in allowed and allowed[k](v) for k, v in kwargs.items())


def _binary(nargs_min=0, empty=True):
    """Predicate of a two-operand product with no keywords."""

    def pred(a, b, **kw):
        return not kw and _same(a, b, min_ndim=nargs_min, empty=empty)

    return pred


def _unary(min_ndim=2, empty=True, **allowed):
    """Predicate of a one-matrix ``linalg`` function; positional extras are declined (keywords are checked)."""

    def pred(a, **kw):
        return _fl(a, min_ndim, empty) and _kw(kw, allowed)

    return pred


def mnp():
    return B._mnp


# ------------------------------------------------------------------------------------------ impls
def _tensordot_pred(a, b, axes=2):
    if not _same(a, b, min_ndim=1):  # (a 0-d operand: NumPy's BLAS scaling, as for dot)
        return False
    if _is_int(axes):
        return True
    if type(axes) not in (tuple, list) or len(axes) != 2:
        return False
    x, y = axes
    return (_is_int(x) and _is_int(y)) or (_ints(x) and _ints(y))


def _tensordot(a, b, axes=2):
    """NumPy's axes rules, checked here: MXNet aborts the process on a shape mismatch instead of raising."""
    if _is_int(axes):
        n = operator.index(axes)
        ax_a, ax_b = list(range(a.ndim - n, a.ndim)), list(range(n))
        if n < 0:  # NumPy: range(-n, 0) and range(0, n) are both empty -> an outer product
            ax_a, ax_b = [], []
    else:
        x, y = axes
        ax_a = [operator.index(e) for e in x] if type(x) in (tuple, list) else [operator.index(x)]
        ax_b = [operator.index(e) for e in y] if type(y) in (tuple, list) else [operator.index(y)]
    if len(ax_a) != len(ax_b):
        raise ValueError("shape-mismatch for sum")
    for axs, nd in ((ax_a, a.ndim), (ax_b, b.ndim)):
        for i, ax in enumerate(axs):
            if not -nd <= ax < nd:
                raise IndexError(f"tuple index out of range (axis {ax} for {nd} dimensions)")
            axs[i] = ax % nd
    if any(a.shape[i] != b.shape[j] for i, j in zip(ax_a, ax_b)) or len(set(ax_a)) != len(ax_a) \
            or len(set(ax_b)) != len(ax_b):
        raise ValueError("shape-mismatch for sum")
    return mnp().tensordot(a, b, axes=(tuple(ax_a), tuple(ax_b)))


def _einsum_pred(subscripts, *operands, **kw):
    return (
        type(subscripts) is str
        and _same(*operands)
        and _kw(kw, {"optimize": lambda v: type(v) is bool})
    )


def _einsum(subscripts, *operands, optimize=False):
    return mnp().einsum(subscripts, *operands, optimize=bool(optimize))


def _trace_pred(a, offset=0, axis1=0, axis2=1, **kw):
    return (
        _fl(a, 2) and _is_int(offset) and _is_int(axis1) and _is_int(axis2)
        and _kw(kw, {"dtype": lambda v: v is None})
    )


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    return mnp().trace(a, offset=offset, axis1=axis1, axis2=axis2)


def _slogdet(a):
    sign, logdet = mnp().linalg.slogdet(a)
    return sign, logdet


def _solve_pred(a, b, **kw):
    return not kw and _same(a, b) and a.ndim >= 2 and b.ndim >= 1


def _solve(a, b):
    """NumPy's rule: ``b`` is a stack of vectors when it has one dimension less than ``a``, else of matrices;
    batch dimensions broadcast."""
    m = mnp()
    core = 1 if b.ndim == a.ndim - 1 else 2
    if b.ndim < core:
        raise ValueError("solve: b does not have enough dimensions")
    batch = numpy.broadcast_shapes(a.shape[:-2], b.shape[: b.ndim - core])
    if a.shape[:-2] != batch:
        a = m.broadcast_to(a, batch + a.shape[-2:])
    if b.shape[: b.ndim - core] != batch:
        b = m.broadcast_to(b, batch + b.shape[b.ndim - core:])
    return m.linalg.solve(a, b)


def _norm_pred(x, ord=None, axis=None, keepdims=False, **kw):
    if kw or not _fl(x) or type(keepdims) is not bool:
        return False
    if axis is None:
        kind = "all"
    elif _is_int(axis):
        kind = "vec"
    elif type(axis) is tuple and len(axis) == 2 and _ints(axis):
        kind = "mat"
    else:
        return False
    if ord is None:
        return True
    if type(ord) is str:
        return ord in ("fro", "nuc") and (kind == "mat" or (kind == "all" and x.ndim == 2))
    if _is_int(ord) and type(ord) is not bool:
        # (negative orders: MXNet skips zeros, where NumPy's sum(|x|**ord) is inf and the norm 0)
        return ord >= 0 and (kind == "vec" or (kind == "all" and x.ndim == 1))
    return False


def _norm(x, ord=None, axis=None, keepdims=False):
    if axis is not None:
        check_axes(axis, x.ndim)  # MXNet reads an out-of-range axis as some other axis
    if ord == "nuc" and type(axis) is tuple:
        # the nuclear norm ignores transposition; MXNet only takes the two axes in increasing order
        i, j = (operator.index(e) for e in axis)
        i, j = (i % x.ndim if -x.ndim <= i < x.ndim else i), (j % x.ndim if -x.ndim <= j < x.ndim else j)
        axis = (min(i, j), max(i, j))
        if x.shape[axis[0]] > x.shape[axis[1]]:  # MXNet's SVD wants rows <= columns: transposing changes nothing
            x = mnp().swapaxes(x, axis[0], axis[1])
    elif ord == "nuc" and x.shape[0] > x.shape[1]:
        x = x.T
    return mnp().linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def _pinv_pred(a, rcond=1e-15, **kw):
    # hermitian=True is not implemented by MXNet; its value is not in the call signature, so any mention declines
    return not kw and _fl(a, 2) and type(rcond) in (int, float)


def _pinv(a, rcond=1e-15):
    return mnp().linalg.pinv(_finite(a, "pinv"), rcond=float(rcond))


def _finite(a, name: str):
    """``a``, if it holds no NaN or inf. pinv (an SVD), eigvalsh and inv: on a non-finite input NumPy's
    LAPACK fails to converge (LinAlgError) or returns NaN, depending on where the value lies, and MXNet returns
    numbers; such an input is sent to NumPy, whose outcome the user gets. Checked on a host copy (n^2, next to
    the n^3 factorisation; MXNet's own reduction and read cost ~140 us more on a 3x3)."""
    if not numpy.isfinite(a.asnumpy()).all():
        raise ValueError(f"linalg.{name} of an input holding NaN or inf: LAPACK's outcome is NumPy's to give")
    return a


def _inv(a):
    return mnp().linalg.inv(_finite(a, "inv"))  # (NumPy: LinAlgError or NaN; MXNet: NaN where LAPACK raises)


def _eigvalsh(a, UPLO="L"):
    return mnp().linalg.eigvalsh(_finite(a, "eigvalsh"), UPLO=UPLO)


def _tensorinv_pred(a, ind=2, **kw):
    return not kw and _fl(a, 1, empty=False) and _is_int(ind)


def _tensorsolve_pred(a, b, axes=None, **kw):
    return not kw and axes is None and _same(a, b, empty=False) and a.ndim >= 1


def _fn(path):
    """Late lookup of an ``mxnet.numpy`` function (MXNet is loaded only when a call runs)."""
    parts = path.split(".")

    def impl(*args, **kwargs):
        obj = B._mnp
        for p in parts:
            obj = getattr(obj, p)
        return obj(*args, **kwargs)

    impl.__name__ = parts[-1]
    return impl


# ------------------------------------------------------------------------------------------ the table
_TABLE = [
    # name, impl, predicate
    # a 0-d operand stays on NumPy: its dot scales by BLAS there, where a zero factor gives 0 even for NaN/inf
    # entries (dot(0., [nan]) is [0.], multiply gives [nan]); MXNet's own dot also fails on some 0-d products
    ("dot", _fn("dot"), _binary(nargs_min=1)),
    ("matmul", _fn("matmul"), _binary(nargs_min=1)),
    ("inner", _fn("inner"), _binary(nargs_min=1)),  # a 0-d operand crashes MXNet
    ("outer", _fn("outer"), _binary()),
    ("vdot", _fn("vdot"), _binary()),
    ("tensordot", _tensordot, _tensordot_pred),
    ("einsum", _einsum, _einsum_pred),
    ("trace", _trace, _trace_pred),
    ("linalg.inv", _inv, _unary()),
    ("linalg.det", _fn("linalg.det"), _unary(empty=False)),
    ("linalg.slogdet", _slogdet, _unary(empty=False)),
    ("linalg.cholesky", _fn("linalg.cholesky"), _unary()),
    ("linalg.eigvalsh", _eigvalsh, _unary(UPLO=lambda v: type(v) is str and v in ("L", "U"))),
    ("linalg.solve", _solve, _solve_pred),
    ("linalg.norm", _norm, _norm_pred),
    ("linalg.pinv", _pinv, _pinv_pred),
    ("linalg.tensorinv", _fn("linalg.tensorinv"), _tensorinv_pred),
    ("linalg.tensorsolve", _fn("linalg.tensorsolve"), _tensorsolve_pred),
]

for _name, _impl, _pred in _TABLE:
    register_mxnet(_name, _impl, _pred)
