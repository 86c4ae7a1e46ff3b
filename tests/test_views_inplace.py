"""In-place operations and views follow NumPy: aliases and views see every write, wherever the fresh copy lives.

Each test runs on an array whose fresh copy is on the host and on one whose only fresh copy is on MXNet, and
replays the same steps on a real NumPy array to get the expected values.
"""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Array

BASE = onp.arange(12.0).reshape(3, 4)


@pytest.fixture(params=["host", "mxnet"])
def make(request, mxnet_array):
    """Factory for an Array with the given values on one side only."""
    if request.param == "host":
        return lambda v, dtype=None: np.array(onp.asarray(v, dtype=dtype))
    return mxnet_array


def check(got, want):
    assert isinstance(got, Array)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    onp.testing.assert_array_equal(got.asnumpy(), want)


def test_iadd_is_in_place(make):
    a = make(BASE)
    alias = a
    ident = id(a)
    a += 1.0
    assert id(a) == ident and alias is a
    check(alias, BASE + 1.0)
    a *= np.array(BASE)
    check(alias, (BASE + 1.0) * BASE)
    a -= 2
    a /= 2
    a **= 2
    a //= 3
    a %= 7
    want = ((((BASE + 1.0) * BASE - 2) / 2) ** 2 // 3) % 7
    check(alias, want)


def test_iadd_integer_and_bitwise_in_place(make):
    a = make(BASE.astype(onp.int64))
    alias = a
    a += 3
    a &= 6
    a |= 1
    a ^= 2
    a <<= 1
    a >>= 1
    want = BASE.astype(onp.int64)
    want += 3
    want &= 6
    want |= 1
    want ^= 2
    check(alias, want)


def test_setitem_is_in_place(make):
    a = make(BASE)
    alias = a
    a[0, 0] = -1.0
    a[1] = 7.0
    a[:, 2] = onp.array([10.0, 20.0, 30.0])
    a[a > 25] = 0.0
    a[[0, 2], 3] = np.array([5.0, 6.0])
    want = BASE.copy()
    want[0, 0] = -1.0
    want[1] = 7.0
    want[:, 2] = [10.0, 20.0, 30.0]
    want[want > 25] = 0.0
    want[[0, 2], 3] = [5.0, 6.0]
    check(alias, want)


@pytest.mark.parametrize("view", [
    lambda x: x[1:], lambda x: x.T, lambda x: x.reshape(4, 3), lambda x: x[:, 1:3], lambda x: x[::2, ::-1],
    lambda x: x[1], lambda x: x[None, 1:], lambda x: x[..., 2],
], ids=["rows", "T", "reshape", "cols", "strided", "int", "newaxis", "ellipsis"])
def test_views_see_base_writes_and_write_through(make, view):
    a = make(BASE)
    ref = BASE.copy()
    v, vref = view(a), view(ref)
    check(v, vref)
    a[1, 2] = -5.0
    ref[1, 2] = -5.0
    check(v, vref)  # the view sees the write to its base
    a += 100.0
    ref += 100.0
    check(v, vref)  # ... and an in-place update of the base
    v[...] = v * 2  # write through the view (a full assignment)
    vref[...] = vref * 2
    check(a, ref)
    v += 1.0
    vref += 1.0
    check(a, ref)
    check(v, vref)


def test_view_of_a_view_chain(make):
    a = make(BASE)
    ref = BASE.copy()
    b, bref = a[1:], ref[1:]
    c, cref = b.T[1:], bref.T[1:]
    d, dref = c.reshape(-1), cref.reshape(-1) if cref.flags.c_contiguous else None
    c[0, 0] = -1.0
    cref[0, 0] = -1.0
    check(a, ref)
    check(b, bref)
    a[2, 3] = 42.0
    ref[2, 3] = 42.0
    check(c, cref)
    check(b, bref)
    # c is not contiguous: reshape copies in NumPy, so writes to it do not reach a
    assert dref is None
    d[0] = 1234.0
    check(a, ref)


def test_fancy_index_result_is_a_copy(make):
    a = make(BASE)
    f = a[[0, 2]]
    m = a[a > 5]
    f[...] = -1.0
    m[...] = -2.0
    check(a, BASE)


def test_alias_of_a_view_and_rebinding(make):
    a = make(BASE)
    v = a[0]
    a = a + 1.0  # rebinding: the view keeps the old base
    v[0] = 99.0
    check(a, BASE + 1.0)
    assert float(v[0]) == 99.0


def test_in_place_casting_rules(make):
    a = make([1, 2, 3], dtype=onp.int64)
    a += 2  # int += int is fine
    check(a, onp.array([3, 4, 5]))
    f = make([1.0, 2.0], dtype=onp.float32)
    f += np.array([1.0, 1.0])  # float64 into float32: same kind, allowed
    check(f, onp.array([2.0, 3.0], dtype=onp.float32))
    b = make([True, False])
    with pytest.raises(TypeError):
        b += np.array([1, 1])
    with pytest.raises(TypeError):
        a += 0.5
    check(a, onp.array([3, 4, 5]))  # a failed update leaves the value alone


def test_in_place_casting_error_type_is_numpys(make):
    ref = onp.array([1, 2, 3])
    with pytest.raises(TypeError) as theirs:
        ref += 0.5
    a = make([1, 2, 3])
    with pytest.raises(TypeError) as ours:
        a += 0.5
    assert isinstance(ours.value, type(theirs.value)), (type(ours.value), type(theirs.value))


def test_in_place_shape_mismatch_raises_value_error(make):
    a = make([1.0, 2.0, 3.0])
    with pytest.raises(ValueError) as e1:
        a += np.array([1.0, 2.0])
    assert "(3,)" in str(e1.value) and "(2,)" in str(e1.value)
    with pytest.raises(ValueError) as e2:
        a += np.ones((2, 3))  # broadcasts, but the result does not fit a
    assert "(3,)" in str(e2.value) and "2, 3" in str(e2.value).replace("2,3", "2, 3")
    check(a, onp.array([1.0, 2.0, 3.0]))


def test_fill_sort_copyto_put_shuffle_mutate(make):
    a = make([3.0, 1.0, 2.0])
    alias = a
    a.fill(7.0)
    check(alias, onp.full(3, 7.0))

    a = make([3.0, 1.0, 2.0])
    alias = a
    a.sort()
    check(alias, onp.array([1.0, 2.0, 3.0]))

    a = make(BASE)
    alias = a
    a.sort(axis=0)
    check(alias, onp.sort(BASE, axis=0))

    a = make([3.0, 1.0, 2.0])
    alias = a
    np.copyto(a, onp.array([9.0, 8.0, 7.0]))
    check(alias, onp.array([9.0, 8.0, 7.0]))
    np.copyto(a, 1.5, where=onp.array([True, False, True]))
    check(alias, onp.array([1.5, 8.0, 1.5]))

    a = make([3.0, 1.0, 2.0])
    alias = a
    np.put(a, [0, 2], [42.0, 43.0])
    check(alias, onp.array([42.0, 1.0, 43.0]))
    a.put([1], [-1.0])
    check(alias, onp.array([42.0, -1.0, 43.0]))

    a = make(onp.arange(20.0))
    alias = a
    np.random.seed(3)
    np.random.shuffle(a)
    ref = onp.arange(20.0)
    onp.random.seed(3)
    onp.random.shuffle(ref)
    check(alias, ref)


def test_in_place_on_a_view_through_numpy_functions(make):
    a = make(BASE)
    row = a[1]
    np.copyto(row, onp.zeros(4))
    ref = BASE.copy()
    ref[1] = 0
    check(a, ref)
    col = a[:, 0]
    col.fill(-3.0)
    ref[:, 0] = -3.0
    check(a, ref)
    col.sort()
    check(a, ref)


def test_views_reach_base_with_mxnet_results(mx_sinc):
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    a = np.sinc(np.array(onp.linspace(0.1, 0.9, 6).reshape(2, 3)))
    assert a.backends == ("mxnet",)
    ref = onp.sinc(onp.linspace(0.1, 0.9, 6).reshape(2, 3))
    v = a[:, 1:]
    v[0, 0] = 5.0
    ref[0, 1] = 5.0
    onp.testing.assert_allclose(a.asnumpy(), ref)
    b = np.sinc(a)  # the MXNet copy must see the write made through the view
    onp.testing.assert_allclose(b.asnumpy(), onp.sinc(ref))


def test_shape_setter_in_place(make):
    a = make(BASE)
    alias = a
    a.shape = (4, 3)
    check(alias, BASE.reshape(4, 3))


@pytest.mark.parametrize("op", [lambda x: x.real, lambda x: np.squeeze(x)], ids=["real", "squeeze"])
@pytest.mark.parametrize("policy", ["only_numpy"])  # the NumPy path is where the input comes back
def test_view_op_returning_its_input_keeps_it_usable(op, policy):
    imperdl.set_global_policy(policy)
    a = np.array([1.0, 2.0])
    op(a)
    a[0] = 5.0
    a += 1.0
    check(a, onp.array([6.0, 3.0]))


@pytest.mark.parametrize("op", [lambda x: x.T.reshape(-1), lambda x: x.T.ravel(), lambda x: x[:, 1:3].reshape(6)],
                         ids=["T.reshape", "T.ravel", "strided.reshape"])
def test_copying_reshape_is_independent_of_its_base(op):
    a, ref = np.array(BASE), BASE.copy()
    r, rref = op(a), op(ref)
    assert not onp.shares_memory(rref, ref)
    a[0, 0] = 100.0
    ref[0, 0] = 100.0
    check(r, rref)


@pytest.mark.parametrize("op", [
    lambda m, x: m.atleast_3d(x), lambda m, x: m.split(x, 3)[1], lambda m, x: m.flip(x, 0), lambda m, x: m.rot90(x),
    lambda m, x: m.hsplit(x, 2)[0], lambda m, x: m.fliplr(x),
], ids=["atleast_3d", "split", "flip", "rot90", "hsplit", "fliplr"])
def test_numpy_view_functions_are_views(op):
    a, ref = np.array(BASE), BASE.copy()
    v, vref = op(np, a), op(onp, ref)
    assert onp.shares_memory(vref, ref)
    a[1, 1] = -1.0
    ref[1, 1] = -1.0
    check(v, vref)
    v[(0,) * v.ndim] = 555.0
    vref[(0,) * vref.ndim] = 555.0
    check(a, ref)


def test_read_only_views_stay_read_only():
    a = np.array(BASE)
    for v in (np.broadcast_to(a, (2, 3, 4)), np.diagonal(a)):
        with pytest.raises(ValueError):
            v[(0,) * v.ndim] = 1.0
    check(a, BASE)


def test_array_copies_and_asarray_shares_like_numpy():
    h = BASE.copy()
    a = np.array(h)
    h[0, 0] = -9.0
    assert float(a[0, 0]) == 0.0  # np.array copied
    a[0, 1] = 7.0
    assert h[0, 1] == 1.0


@pytest.mark.parametrize("step", [
    lambda x: x.__setitem__(slice(1, None), x[:-1]), lambda x: x.__setitem__(slice(None, -1), x[1:]),
    lambda x: x.__setitem__(slice(None, None, -1), x), lambda x: x.__iadd__(x[::-1]),
], ids=["shift-right", "shift-left", "reverse", "iadd-reversed"])
def test_overlapping_self_assignment_matches_numpy(make, step):
    a, ref = make(onp.arange(6.0)), onp.arange(6.0)
    step(a)
    step(ref)
    check(a, ref)
