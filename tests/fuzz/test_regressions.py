"""Calls a fuzzer found crashing the process or answering wrong (issue #12, item 7), each checked against NumPy.

Every case is an expression in ``np``, evaluated once with real NumPy and once with ``imperdl.numpy``: the
outcome must be NumPy's (same exception type, or the same value, dtype and shape). Under ``only_mxnet`` a call
MXNet cannot run may instead raise ``MXNetUnsupportedError`` whose message states the reason in words. Calls
that used to kill the process run in a child process, so a segfault fails the test instead of the run.
"""
from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap
import warnings

import autograd
import autograd.numpy as anp
import numpy as onp
import pytest

import imperdl
import imperdl.numpy as inp
from imperdl.core import grad
from imperdl.core.policy import MXNetUnsupportedError

from .outcome import assert_same_outcome, numeric_grad, outcome

POLICIES = ["prefer_mxnet", pytest.param("only_mxnet", marks=pytest.mark.mxnet)]

# used to segfault or hang MXNet: run in a child process each
CRASHES = [
    "np.moveaxis(np.ones(2), -3, -1)",
    "np.arange(2**62)",
    "np.linspace(0, 1, num=2**62)",
    "np.random.choice(np.ones(1), size=(2**62,))",
    "np.array_split(np.ones(3), 2**62)",
]

# used to answer wrong (or accept calls NumPy rejects)
WRONG = [
    # MXNet's repeat of a zero-size array failed a TBlob shape check whose C++ text reached the user (only_mxnet)
    "np.repeat(np.zeros((3, 0), dtype='float32'), 3, axis=0)",
    "np.repeat(np.zeros((0, 2), dtype='float32'), 2)",
    "np.linalg.inv(np.array([[[4.5, -0.6, 0.0], [0.0, 4.0, 0.0], [np.inf, 0.3, 4.0]]], dtype='float32'))",
    # NumPy scales by BLAS when an operand is 0-d: a zero factor gives 0 even for NaN/inf entries (MXNet gave NaN)
    "np.dot(np.array(-0.), np.array([[1.5, np.nan], [np.inf, 2.0]]))",
    "np.tensordot(np.array(0.), np.array([[np.nan, 1.0]]), 0)",
    "np.add(np.array([0]), 2**53 + 1)",
    "np.mod(np.array([2**53 + 1]), 7)",
    # a float divisor that is 0 in the array's float32 (NaN in NumPy; MXNet's mod by zero gave 0)
    "np.mod(np.array([[1.7653978], [np.nan], [np.inf]], dtype='float32'), 9.435689635455874e-76)",
    "np.remainder(np.array([2.5, -1.0], dtype='float16'), 1e-10)",
    "np.mod(np.array([2**53 + 1, 5]), np.array([2**53, 3]))",
    "np.abs(np.array([-2**53 - 1]))",
    "np.minimum(np.array([2**53 + 1]), 2**62)",
    "np.arange(2**53 + 1, 2**53 + 3)",
    "np.square(np.array([65536], dtype='int32'))",
    "np.square(np.array([2**53 + 1]))",
    "np.ones(2)[[2**62]]",
    "np.eye(2**62)",
    "np.identity(2**62)",
    "np.tri(2**62)",
    "np.broadcast_to(np.ones(1), (2**62,))",
    "np.pad(np.ones(1), 2**62)",
    "np.random.rand(2**62)",
    "np.stack([np.ones(2), np.ones(3)])",
    "np.full((1,), 2**63)",
    "np.linspace(0, 1, 3, dtype='int16')",
    "np.round(np.array([2.475], dtype='float32'), 2)",
    "np.roll(np.arange(3), -2**63)",
    "np.ones(2)[1.5:]",
    "np.ones((1, 1)).squeeze((0, 0))",
    "np.ones(2).transpose(())",
    "np.ones(2, dtype='float32') + 1e300",
    "np.ones(2, dtype='float32') * 1e39",
    "np.ones(2, dtype='int64') + 2**63",
    "np.ones(2, dtype='int64') + 2**64",
    "np.exp(np.ones(2), out=np.zeros(2, dtype='int64'))",
    "np.sign(1.0, out=np.zeros((3, 2)))",
    "np.reshape(np.ones(2), (2,), out=np.ones(2))",
    "np.copyto()",
    "np.place()",
    "np.putmask()",
    # found by tests/fuzz/engine.py
    "np.argsort(np.array([0, -3, 0] * 6), kind='stable')",
    "np.argsort(np.zeros((2, 9), dtype='int32'), axis=None, kind='mergesort')",
    "np.squeeze(np.array(2.0), 0)",
    "np.round(np.array([2.675, 1.005, -0.125]), 2)",
    "np.reshape(np.zeros(1, dtype='float32'), (-2,))",
    "np.sign(np.ones((2, 1)), out=np.zeros((3,)))",
    # order 'A'/'K' reads NumPy's memory layout of a view (MXNet's copy of it is C-ordered)
    "np.arange(6.0).reshape(2, 3).T.flatten('A')",
    "np.arange(6.0).reshape(2, 3).T.ravel('K')",
    "np.ravel(np.arange(6.0).reshape(2, 3).T, 'A')",
    "np.arange(6.0).reshape(2, 3).T.reshape((2, 3), order='A')",
    "np.arange(6.0).reshape(2, 3).T.reshape(6, order='K')",
    "np.transpose(np.arange(24.0).reshape(2, 3, 4), (1, 0, 2)).flatten('K')",
    "np.transpose(np.arange(24.0).reshape(2, 3, 4), (2, 0, 1))[:, ::-1].ravel('K')",
    "np.broadcast_to(np.arange(6.0).reshape(2, 3).T, (2, 3, 2)).ravel('K')",
    # int64 index arrays beyond MXNet's 32-bit offsets: IndexError, not a wrapped-around element
    "np.ones(3)[np.array([2**32])]",
    "np.ones(3)[np.array([2**32 + 1, 0])]",
    "np.ones(3)[np.array([2**53 + 1])]",
    "np.ones(3)[np.array([-2**63])]",
    "np.ones(3)[np.array([-2**40])]",
    "np.ones((2, 3))[:, np.array([2**62])]",
    "np.arange(6.0).reshape(2, 3)[np.array([1, -2]), np.array([2**31 + 2, 0])]",
    "np.arange(6.0).reshape(2, 3)[np.array([1, -2]), np.array([2, -3])]",
    # invalid distribution parameters: NumPy's exception, also when no sample is drawn
    "np.random.uniform(float('inf'), 5, (0, 1))",
    "np.random.uniform(np.array([0.0, np.nan]), 1.0, size=(3, 2))",
    "np.random.uniform(0.0, np.array([1.0, -np.inf]), size=2)",
    "np.random.choice(-2, size=(0, 2), replace=False)",
    "np.random.choice(3, size=2, p=np.array([0.5, 0.5, np.nan]))",
    "np.random.normal(0.0, -np.inf, size=2)",
    "np.random.gamma(np.array([1.0, -np.inf]), size=2)",
    "np.random.beta(1.0, np.array([0.5, -np.inf]), size=(3, 2))",
    # found by the long fuzz mode: a NaN bound of clip is ignored (NumPy 1.x)
    "np.clip(np.array([[np.nan, -2.5], [-np.inf, 1e-126], [3.0, np.inf]]), np.nan, 2.0)",
    "np.clip(np.array([[np.nan, -2.5], [-np.inf, 1e-126], [3.0, np.inf]]), -1.0, np.nan)",
    "np.clip(np.array([np.nan, -2.5, np.inf]), np.nan, np.nan)",
    # found by the long fuzz mode: LAPACK's outcome on NaN/inf (LinAlgError: did not converge)
    "np.linalg.pinv(np.array([[3.7271223, -1.0], [-0.0, np.nan]], dtype='float32'), rcond=0.001)",
    "np.linalg.pinv(np.array([[2.391329, -0.608671], [0.45048904, np.nan], [0.0, -0.06709591], [-0.46, 0.0]]))",
    "np.linalg.eigvalsh(np.array([[2.0, 0.5, 0.1], [0.5, np.inf, 0.2], [0.1, 0.2, 4.0]]))",
    # found by the CI fuzz mode: negative vector norms of a vector holding 0 are 0
    "np.linalg.norm(np.array([1e-4, 3.0, 0.0], dtype='float32'), ord=-2, axis=0)",
    "np.linalg.norm(np.array([1e-4, 3.0, 0.0]), ord=-1)",
    "np.linalg.norm(np.array([[1e-4, 3.0, 0.0], [1.0, 2.0, 3.0]]), ord=-3, axis=1)",
    "np.linalg.norm(np.array([-0.0], dtype='float32'), ord=1, axis=-2)",
    "np.linalg.norm(np.ones((2, 3)), axis=(0, 2))",
    # found by the CI fuzz mode: NumPy's view of a piece of a multi-argument view (atleast_1d(a, b)[0])
    "np.asarray(np.atleast_1d(np.ones((2, 3), dtype='int8'), np.array([1.5j], dtype='complex64'))[0])",
    "np.linalg.norm(np.array([1e-4, 3.0, 0.0], dtype='float32'), ord=-2, axis=0)",
    "np.linalg.pinv(np.array([[1.0, np.nan], [0.5, 3.0]], dtype='float32'))",
]

# in-place operators: the statement runs, then ``x`` is compared
INPLACE = [
    "x = np.array([3]); x *= 2**53 + 1",
    "x = np.array([3]); x += 2**53 + 1",
]


def _check(expr: str, policy: str) -> None:
    ref = outcome(onp, expr)
    imperdl.set_global_policy(policy)
    got = outcome(inp, expr)
    assert_same_outcome(got, ref, f"{expr} under {policy}", only_mxnet=policy == "only_mxnet")


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("expr", WRONG + INPLACE)
def test_matches_numpy(expr, policy):
    _check(expr, policy)


_ROOT = str(pathlib.Path(__file__).resolve().parents[2])
_CHILD = """
import sys, warnings
sys.path.insert(0, sys.argv[3])
warnings.simplefilter("ignore")
import numpy as onp
import imperdl, imperdl.numpy as inp
from tests.fuzz.outcome import assert_same_outcome, outcome
expr, policy = sys.argv[1], sys.argv[2]
ref = outcome(onp, expr)
imperdl.set_global_policy(policy)
assert_same_outcome(outcome(inp, expr), ref, expr, only_mxnet=policy == "only_mxnet")
print("same as numpy")
"""


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("expr", CRASHES)
def test_no_crash(expr, policy):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD), expr, policy, _ROOT], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "same as numpy" in proc.stdout, (
        f"{expr} under {policy}: exit status {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


# --------------------------------------------------------------------------------------------- gradients
GRADS = [
    # (imperdl function, HIPS autograd function, argument)
    (lambda x: inp.sum(inp.cos(x)), lambda x: anp.sum(anp.cos(x)), [[1.0, 2.0]]),
    (lambda x: inp.sum(inp.sum(x, axis=-1)), lambda x: anp.sum(anp.sum(x, axis=-1)), onp.array(1.5)),
    (lambda x: inp.sum(inp.max(x, axis=-1)), lambda x: anp.sum(anp.max(x, axis=-1)), onp.array(1.5)),
    (lambda x: inp.sum(inp.min(x, axis=-1)), lambda x: anp.sum(anp.min(x, axis=-1)), onp.array(1.5)),
    (lambda x: inp.sum(inp.prod(x, axis=-1)), lambda x: anp.sum(anp.prod(x, axis=-1)), onp.array(1.5)),
    (lambda x: inp.sum(inp.cumsum(x) * 3.0), lambda x: anp.sum(anp.cumsum(x) * 3.0), onp.array(1.5)),
    # found by tests/fuzz/engine.py
    (lambda x: inp.sum(inp.tril(x, 1) ** 2), lambda x: anp.sum(anp.tril(x, 1) ** 2), onp.array([1.0, 2.0, 3.0])),
    (lambda x: inp.sum(inp.triu(x) ** 2), lambda x: anp.sum(anp.triu(x) ** 2), onp.array([1.0, 2.0, 3.0])),
    (lambda x: inp.sum(inp.inner(x, [-0.5, 0.25])), lambda x: anp.sum(anp.inner(x, [-0.5, 0.25])),
     onp.array([[2.0, 1.0], [1.5, 0.1]])),
    # found by the long fuzz mode: the std of one element has gradient 0 (autograd's rule), not 0/0
    (lambda x: inp.std(x), lambda x: anp.std(x), onp.array([3.0])),
    (lambda x: inp.sum(inp.std(x, axis=1)), lambda x: anp.sum(anp.std(x, axis=1)), onp.array([[3.0], [4.0]])),
    (lambda x: inp.std(x), lambda x: anp.std(x), onp.array(-5.0)),
    (lambda x: inp.sum(inp.std(x, keepdims=True)), lambda x: anp.sum(anp.std(x, keepdims=True)), onp.array(-4.75)),
    (lambda x: inp.sum(inp.std(x, axis=1)), lambda x: anp.sum(anp.std(x, axis=1)), onp.array([[1.5], [2.0]])),
    # found by the long fuzz mode: a 0-d array's cumulative op along axis 0 is 1-d (its gradient is 0-d again),
    # and prod with a where= mask that holds everywhere (a truthy scalar) has prod's gradient
    (lambda x: inp.sum(inp.cumsum(x, axis=0)), lambda x: anp.sum(anp.cumsum(x, axis=0)), onp.array(8.5)),
    (lambda x: inp.sum(inp.cumprod(x, axis=0)), lambda x: anp.sum(anp.reshape(x, (1,))), onp.array(-2.5)),  # (no
    # cumprod rule in autograd: a 0-d cumprod is the value itself)
    (lambda x: inp.sum(inp.nancumsum(x, axis=-1)), lambda x: anp.sum(anp.cumsum(x, axis=-1)), onp.array(3.0)),
    (lambda x: inp.sum(inp.prod(x, keepdims=False, where=1.5)), lambda x: anp.sum(anp.prod(x)), onp.array(2.15)),
]

# gradients with a where= mask that leaves entries out, against central differences (HIPS autograd has none)
WHERE_GRADS = [
    (lambda x: inp.prod(x, where=onp.array([True, False, True])), onp.array([1.5, -2.0, 3.0])),
    (lambda x: inp.sum(inp.prod(x, axis=1, where=onp.array([[True, False], [True, True]]))),
     onp.array([[0.5, 7.0], [0.0, 2.0]])),
    (lambda x: inp.sum(inp.prod(x, axis=0, initial=2.0, where=onp.array([False, True]))),
     onp.array([[0.0, 4.0], [3.0, 0.0]])),
    (lambda x: inp.max(x, where=onp.array([True, False, True]), initial=-10.0), onp.array([1.5, 9.0, 3.0])),
    (lambda x: inp.sum(inp.min(x, axis=1, where=onp.array([[False, True], [True, True]]), initial=50.0)),
     onp.array([[-7.0, 4.0], [3.0, 2.5]])),
    (lambda x: inp.var(x, where=onp.array([True, False, True, True])), onp.array([1.5, 9.0, 3.0, -1.0])),
    (lambda x: inp.sum(inp.std(x, axis=1, ddof=1, where=onp.array([[True, True, False], [True, False, True]]))),
     onp.array([[1.0, 2.5, 8.0], [3.0, 9.0, -2.0]])),
    # a result that is ``initial`` (no entry reaches it) is a constant: zero gradient, not NaN
    (lambda x: inp.max(x, initial=100.0), onp.array([1.5, 9.0, 3.0])),
    (lambda x: inp.sum(inp.min(x, axis=0, initial=0.0)), onp.array([[1.5, -9.0], [3.0, 2.0]])),
]


def _as_numpy(g):
    if isinstance(g, (list, tuple)):
        return onp.array([_as_numpy(e) for e in g])
    return onp.asarray(g.asnumpy() if hasattr(g, "asnumpy") else g)


@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy"])
@pytest.mark.parametrize("case", range(len(GRADS)))
def test_gradient_matches_autograd(case, policy):
    """Against HIPS autograd where its gradient has the argument's shape (for a 1-d ``tril`` it has not), and
    always against float64 central differences."""
    f, af, x = GRADS[case]
    imperdl.set_global_policy(policy)
    got = _as_numpy(grad(f)(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = autograd.grad(af)(onp.array(x, dtype=float))
    if onp.shape(ref) == onp.shape(x):
        assert got.shape == onp.shape(ref), (got.shape, onp.shape(ref))
        onp.testing.assert_allclose(got, ref, rtol=1e-7)
    onp.testing.assert_allclose(got, numeric_grad(af, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy"])
@pytest.mark.parametrize("case", range(len(WHERE_GRADS)))
def test_gradient_with_where_mask(case, policy):
    """Masked-out entries get no gradient; the others get the reduction's gradient over the kept entries."""
    f, x = WHERE_GRADS[case]
    imperdl.set_global_policy(policy)
    got = _as_numpy(grad(f)(x))
    assert got.shape == x.shape
    onp.testing.assert_allclose(got, numeric_grad(lambda v: float(f(v)), x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("policy", POLICIES)
def test_layout_order_gradient(policy):
    """The gradient of a read in memory order ('A', 'K') goes back to the elements read (central differences:
    HIPS autograd reshapes the gradient of ``x.T.ravel('A')`` in C order)."""
    imperdl.set_global_policy(policy)
    w = onp.linspace(-1.0, 1.0, 24)
    x = onp.arange(24.0).reshape(2, 3, 4)
    for f in (lambda v, m: m.sum(v.T.flatten("A") * w), lambda v, m: m.sum(m.ravel(m.swapaxes(v, 0, 1), "K") * w)):
        got = _as_numpy(grad(lambda v, f=f: f(v, inp))(inp.array(x)))
        onp.testing.assert_allclose(got, numeric_grad(lambda v, f=f: f(v, onp), x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("policy", POLICIES)
def test_max_pool_propagates_nan(policy):
    """A window holding NaN pools to NaN and passes no gradient, as the NumPy reference kernel does; inf stays."""
    from imperdl.core import max_pool2d

    x = onp.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 3, 3] = onp.nan
    x[0, 1, 2, 2], x[0, 1, 0, 0], x[0, 1, 3, 3], x[0, 1, 3, 2] = onp.inf, -onp.inf, onp.inf, -onp.inf
    x[0, 0, 2:, :2] = 0.0  # a window of zeros (ties), as after a ReLU
    w = onp.arange(8.0).reshape(1, 2, 2, 2)
    imperdl.set_global_policy("only_numpy")
    ref = max_pool2d(inp.array(x)).asnumpy()
    ref_g = _as_numpy(grad(lambda v: inp.sum(max_pool2d(v) * w))(inp.array(x)))
    imperdl.set_global_policy(policy)
    got = max_pool2d(inp.array(x)).asnumpy()
    onp.testing.assert_array_equal(got, ref)
    assert not onp.signbit(got[0, 0, 1, 0])  # the zeros window pools to +0.0
    onp.testing.assert_array_equal(_as_numpy(grad(lambda v: inp.sum(max_pool2d(v) * w))(inp.array(x))), ref_g)
    assert onp.isnan(ref).sum() == 2


@pytest.mark.parametrize("policy", POLICIES + ["only_numpy"])
def test_broadcast_to_huge_is_a_view(policy):
    """``broadcast_to`` 2**40 rows is NumPy's zero-stride view (on the host: MXNet sizes are 32-bit), indexable
    and readable through ``numpy.asarray``; what copies every element (``asnumpy``, ``x + 1``) raises NumPy's
    MemoryError, as copying NumPy's view does."""
    imperdl.set_global_policy(policy)
    if policy == "only_mxnet":
        with pytest.raises(MXNetUnsupportedError, match="broadcast_to.*32-bit"):
            inp.broadcast_to(inp.ones(3), (2**40, 3))
        return
    ref = onp.broadcast_to(onp.arange(3.0), (2**40, 3))
    got = inp.broadcast_to(inp.arange(3.0), (2**40, 3))
    view = onp.asarray(got)
    assert (got.shape, view.shape, view.strides, view.dtype) == (ref.shape, ref.shape, ref.strides, ref.dtype)
    onp.testing.assert_array_equal(got[2**39].asnumpy(), ref[2**39])
    assert float(got[-1, 2]) == ref[-1, 2]
    with pytest.raises(MemoryError):
        got.asnumpy()


def test_only_mxnet_reason_in_words():
    """A call MXNet cannot take names the operator and why, without MXNet's C++ text."""
    imperdl.set_global_policy("only_mxnet")
    with pytest.raises(MXNetUnsupportedError) as info:
        inp.add(inp.array([0]), 2**53 + 1)
    msg = str(info.value)
    assert "add" in msg and "MXNetError" not in msg and "Check failed" not in msg


def test_ragged_list_argument_is_a_container_of_scalars():
    """``[2.0, [3.0]]`` is no array: its leaves are separate arguments and the gradient keeps its structure (a
    rectangular list of numbers is one array, as HIPS autograd treats it)."""
    from imperdl.core import grad

    g = grad(lambda ps: ps[0] * ps[1][0])([2.0, [3.0]])
    ref = autograd.grad(lambda ps: ps[0] * ps[1][0])([2.0, [3.0]])
    assert type(g) is list and type(g[1]) is list  # HIPS autograd's structure
    assert float(g[0]) == ref[0] == 3.0 and float(g[1][0]) == ref[1][0] == 2.0


_ORACLE_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as onp
from tests.fuzz import engine
for where in (None, False, onp.array([True, False])):
    engine.check_gradient("sum", (onp.array([1e-4, 10.0]),), {"where": where})
# (NumPy computes with Python objects: imperdl refuses the gradient in words, autograd is no oracle there)
engine.check_gradient("remainder", (onp.array(4.23883157), 2**64), {})
# (computed in float32: differences in float32 are noise; the oracle computes in the argument's float64)
engine.check_gradient("prod", (onp.array(-7.03654639),), {"axis": None, "keepdims": True, "dtype": onp.dtype("float32"),
                                                          "where": True})
# (a constant slice's std sits on sqrt's kink: imperdl's NaN, autograd's too, against differences' 0)
engine.check_gradient("std", (onp.array([[2.5, 6.3], [1.0, 6.3]]),), {"axis": 0, "ddof": 1, "where": True})
# (a view of 2**53 + 1 entries: no oracle can read it, and its isfinite() would allocate 8 PiB)
engine.check_gradient("broadcast_to", (onp.array([1.5]), (2**53 + 1,)), {})
# (a list of arrays of different shapes: the checks of one result array must not read it as one)
engine.check_gradient("hsplit", (onp.ones((4, 2, 2)), [0]), {})
# (NumPy's value is NaN: var divides by max(n - ddof, 0))
engine.check_gradient("var", (onp.array(5.20374411),), {"where": onp.array(True), "ddof": 2**64})
print("oracle agrees")
"""


def test_fuzz_gradient_oracle_honours_where():
    """HIPS autograd's reductions ignore ``where=`` (``sum(x, where=None)`` is 0 in NumPy, its gradient 1 in
    autograd): the fuzz engine compares such gradients with central differences, not with autograd. A call that
    NumPy computes with Python objects has no gradient in imperdl (a TypeError): no comparison."""
    proc = subprocess.run([sys.executable, "-c", _ORACLE_CHILD, _ROOT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "oracle agrees" in proc.stdout, proc.stderr[-2000:]
