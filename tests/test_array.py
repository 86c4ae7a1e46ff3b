"""Array behaves like numpy.ndarray (DESIGN §3) and keeps its two-sided storage lazy and counted."""
from __future__ import annotations

import contextlib
import copy
import operator
import pickle

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Array
from imperdl.core.backends import mxnet_backend as _mxb

F = onp.array([[1.5, -2.0, 3.0], [4.0, 5.5, -6.0]])
N = onp.array([[1, 2, 3], [4, 5, 6]])
B = onp.array([[True, False, True], [False, False, True]])


def same(got, want):
    """Same type family, dtype, shape and values as NumPy (NumPy scalars compare to our 0-d arrays)."""
    assert isinstance(got, Array), type(got)
    want = onp.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    onp.testing.assert_allclose(got.asnumpy(), want, rtol=1e-7, equal_nan=True)


# ---------------------------------------------------------------------------------------- storage


def test_host_array_lives_on_numpy_only():
    a = np.array(F)
    assert a.backends == ("numpy",)
    assert a.context == imperdl.cpu()


def test_metadata_never_copies_an_mxnet_array(mxnet_array):
    a = mxnet_array(F)
    before = imperdl.statistics()
    assert a.shape == (2, 3)
    assert a.dtype == onp.float64
    assert a.ndim == 2
    assert a.size == 6
    assert a.nbytes == 48
    assert len(a) == 2
    after = imperdl.statistics()
    assert after["copies"] == before["copies"] == {}
    assert after["syncs"] == before["syncs"] == 0
    assert a.backends == ("mxnet",)


def test_reading_values_syncs_once_and_keeps_both_sides(mxnet_array, monkeypatch):
    monkeypatch.setattr(_mxb, "ZERO_COPY", False)  # counts copied bytes: the copy path (tests/test_zero_copy.py)
    a = mxnet_array(F)
    onp.testing.assert_array_equal(a.asnumpy(), F)
    s = imperdl.statistics()
    assert s["copies"]["mxnet->numpy"] == {"count": 1, "bytes": 48}
    assert s["syncs"] == 1
    assert set(a.backends) == {"numpy", "mxnet"}
    a.asnumpy()
    repr(a)
    assert imperdl.statistics()["copies"]["mxnet->numpy"]["count"] == 1  # second read is free


def test_mxnet_result_and_host_copy(mx_sinc, count, monkeypatch):
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    monkeypatch.setattr(_mxb, "ZERO_COPY", False)  # counts copied bytes: the copy path (tests/test_zero_copy.py)
    x = np.array([0.25, 0.5, 1.0])
    y = np.sinc(x)
    assert y.backends == ("mxnet",)
    assert count("sinc", "mxnet") == 1
    assert imperdl.statistics()["copies"]["numpy->mxnet"] == {"count": 1, "bytes": 24}
    onp.testing.assert_allclose(y.asnumpy(), onp.sinc([0.25, 0.5, 1.0]))


# ---------------------------------------------------------------------------------------- operators

BINARY = [
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod, operator.pow,
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
]
BITWISE = [operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift]


@pytest.mark.parametrize("op", BINARY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy"])
def test_binary_operators_match_numpy(op, policy):
    imperdl.set_global_policy(policy)
    x, y = F, onp.array([2.0, -3.0, 0.5])
    with onp.errstate(all="ignore"):
        same(op(np.array(x), np.array(y)), op(x, y))
        same(op(np.array(x), 2.0), op(x, 2.0))
        same(op(3.0, np.array(x)), op(3.0, x))  # reflected, Python scalar on the left
        same(op(y, np.array(x)), op(y, x))  # reflected, numpy array on the left
        same(op(np.array(N), 2), op(N, 2))
        same(op(5, np.array(N)), op(5, N))


@pytest.mark.parametrize("op", BITWISE, ids=lambda f: f.__name__)
def test_bitwise_operators_match_numpy(op):
    same(op(np.array(N), np.array(N[::-1])), op(N, N[::-1]))
    same(op(np.array(N), 1), op(N, 1))
    same(op(1, np.array(N)), op(1, N))
    same(op(N, np.array(N)), op(N, N))
    if op in (operator.and_, operator.or_, operator.xor):
        same(op(np.array(B), np.array(B.T.reshape(2, 3))), op(B, B.T.reshape(2, 3)))


def test_unary_operators_match_numpy():
    same(-np.array(F), -F)
    same(+np.array(F), +F)
    same(abs(np.array(F)), abs(F))
    same(~np.array(N), ~N)
    same(~np.array(B), ~B)


def test_matmul_and_divmod():
    same(np.array(F) @ np.array(F.T), F @ F.T)
    same(F.T @ np.array(F), F.T @ F)
    q, r = divmod(np.array(F), 2.0)
    same(q, F // 2.0)
    same(r, F % 2.0)
    q, r = divmod(7, np.array(N))
    same(q, 7 // N)
    same(r, 7 % N)


def test_numpy_scalar_on_the_left_gives_an_array():
    r = onp.float64(1.0) - np.array(F)
    assert isinstance(r, Array)
    same(r, onp.float64(1.0) - F)
    same(onp.float32(2.0) * np.array(F.astype(onp.float32)), onp.float32(2.0) * F.astype(onp.float32))


def test_int_true_divide_is_float64():
    same(np.array(N) / np.array(N), N / N)
    same(np.array(N) / 2, N / 2)


# ---------------------------------------------------------------------------------------- methods


def test_transpose_and_reshape_spellings():
    a = np.array(F)
    same(a.T, F.T)
    same(a.transpose(), F.transpose())
    same(a.transpose(1, 0), F.transpose(1, 0))
    same(a.transpose((1, 0)), F.transpose((1, 0)))
    same(a.reshape(3, 2), F.reshape(3, 2))
    same(a.reshape((3, 2)), F.reshape((3, 2)))
    same(a.reshape(-1), F.reshape(-1))
    same(a.reshape(6, 1, order="F"), F.reshape(6, 1, order="F"))


def test_astype_and_copy():
    a = np.array(F)
    same(a.astype(onp.int32), F.astype(onp.int32))
    same(a.astype("float32"), F.astype("float32"))
    c = a.copy()
    same(c, F)
    c[0, 0] = 100.0
    assert a[0, 0] == 1.5


@pytest.mark.parametrize("name", [n for n in ("sum", "mean", "max", "min", "prod", "std", "var", "argmax", "argmin",
                                               "cumsum", "all", "any", "ptp") if hasattr(onp.ndarray, n)])  # (ptp: < 2)
def test_reductions_as_methods(name):
    a = np.array(F)
    same(getattr(a, name)(), getattr(F, name)())
    same(getattr(a, name)(axis=0), getattr(F, name)(axis=0))
    same(getattr(a, name)(axis=1), getattr(F, name)(axis=1))
    same(getattr(np.array(N), name)(), getattr(N, name)())


def test_keepdims_and_dtype_arguments():
    a = np.array(N)
    same(a.sum(axis=1, keepdims=True), N.sum(axis=1, keepdims=True))
    same(a.sum(dtype=onp.float32), N.sum(dtype=onp.float32))
    same(a.mean(axis=0), N.mean(axis=0))


# ---------------------------------------------------------------------------------------- Python protocols


def test_len_and_iter():
    a = np.array(F)
    assert len(a) == 2
    rows = list(a)
    assert len(rows) == 2
    for got, want in zip(rows, F):
        same(got, want)
    with pytest.raises(TypeError):
        len(np.array(1.0))
    with pytest.raises(TypeError):
        iter(np.array(1.0)).__next__()


def test_bool():
    assert bool(np.array([1.0])) is True
    assert bool(np.array(0.0)) is False
    assert not np.array([0])
    with pytest.raises(ValueError) as ours:
        bool(np.array(F))
    with pytest.raises(ValueError) as theirs:
        bool(F)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError):
        if np.array(F) > 0:
            pass


def test_float_int_index(mxnet_array):
    # NumPy >= 1.25 deprecates float()/int() of a 1-element array of ndim > 0: imperdl passes its warning on
    warns = onp.lib.NumpyVersion(onp.__version__) >= "1.25.0"
    with pytest.warns(DeprecationWarning) if warns else contextlib.nullcontext():
        assert float(np.array([2.5])) == 2.5
    assert float(mxnet_array(2.5)) == 2.5
    assert int(np.array(7)) == 7
    with pytest.warns(DeprecationWarning) if warns else contextlib.nullcontext():
        assert int(np.array([3.9])) == 3
    assert ["a", "b", "c"][np.array(1)] == "b"
    assert ["a", "b", "c"][mxnet_array(2, dtype=onp.int64)] == "c"
    assert list(range(10))[np.array(2):np.array(5)] == [2, 3, 4]
    with pytest.raises(TypeError):
        ["a", "b"][np.array(1.0)]
    with pytest.raises(TypeError):
        float(np.array(F))


def test_repr_str_format(mxnet_array):
    a = np.array(F)
    assert repr(a) == repr(F)
    assert str(a) == str(F)
    assert repr(mxnet_array(F)) == repr(F)
    assert format(np.array(3.14159), ".2f") == "3.14"
    assert f"{np.array(2.5):>6.1f}" == "   2.5"
    assert "2.5" in repr(np.array(2.5))


def test_pickle_round_trip(mxnet_array):
    for a in (np.array(F), mxnet_array(N), np.array(B)):
        b = pickle.loads(pickle.dumps(a))
        assert isinstance(b, Array)
        same(b, a.asnumpy())


def test_copy_and_deepcopy_are_independent():
    a = np.array(F)
    for c in (copy.copy(a), copy.deepcopy(a), copy.deepcopy([a])[0]):
        assert isinstance(c, Array) and c is not a
        same(c, F)
        c[0, 0] = -100.0
        assert a.asnumpy()[0, 0] == 1.5


def test_asnumpy_returns_an_independent_copy(mxnet_array):
    for a in (np.array(F), mxnet_array(F)):
        h = a.asnumpy()
        assert type(h) is onp.ndarray
        h[0, 0] = 999.0
        assert a.asnumpy()[0, 0] == 1.5
        assert float(a[0, 0]) == 1.5


def test_wait_to_read_and_context(mxnet_array):
    a = mxnet_array(F)
    assert a.wait_to_read() is None
    assert a.context == imperdl.current_context()
    assert np.array(F).context == imperdl.cpu()


def test_item_tolist_contains():
    a = np.array(F)
    assert a.item(0) == F.item(0)
    assert a.tolist() == F.tolist()
    assert 5.5 in a
    assert 7.0 not in a


def test_unhashable_like_numpy():
    with pytest.raises(TypeError):
        hash(np.array(F))


def test_isinstance_of_np_ndarray():
    assert isinstance(np.zeros(3), np.ndarray)
    assert np.ndarray is Array
