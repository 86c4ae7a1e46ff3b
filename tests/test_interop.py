"""Real NumPy accepts imperdl arrays (course notebooks call ``numpy.abs(a - b)``) and imperdl accepts NumPy's."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Array

X = onp.array([[-1.5, 2.0, -3.0], [4.0, -5.0, 6.5]])


@pytest.fixture(params=["host", "mxnet"])
def a(request, mxnet_array):
    return np.array(X) if request.param == "host" else mxnet_array(X)


def test_numpy_ufunc_on_imperdl_array(a):
    r = onp.abs(a)
    assert isinstance(r, Array)
    onp.testing.assert_array_equal(r.asnumpy(), onp.abs(X))
    r = onp.add(a, X)
    assert isinstance(r, Array)
    onp.testing.assert_array_equal(r.asnumpy(), X + X)
    s = onp.add.reduce(a, axis=0)
    onp.testing.assert_array_equal(onp.asarray(s), X.sum(axis=0))


def test_numpy_asarray_and_testing(a):
    h = onp.asarray(a)
    assert type(h) is onp.ndarray
    onp.testing.assert_array_equal(h, X)
    onp.testing.assert_allclose(a, X)
    with pytest.raises(AssertionError):
        onp.testing.assert_allclose(a, X + 1)
    assert onp.array(a, dtype=onp.float32).dtype == onp.float32


def test_numpy_asarray_aliases_the_array_as_for_an_ndarray(a):
    """numpy.asarray(ndarray) is the array's memory: a write through it is seen by the array (numpy.nditer with
    op_flags=['readwrite'] relies on it; tests/test_nditer.py covers backends and views)."""
    want = X.copy()
    for arr in (want, a):
        h = onp.asarray(arr)
        h[0, 0] = 100.0
    assert float(a[0, 0]) == want[0, 0] == 100.0
    onp.testing.assert_array_equal(onp.exp(a).asnumpy(), onp.exp(want))


def test_numpy_array_function_protocol(a):
    c = onp.concatenate([a, onp.ones((1, 3))])
    assert isinstance(c, Array)
    onp.testing.assert_array_equal(c.asnumpy(), onp.concatenate([X, onp.ones((1, 3))]))
    s = onp.sum(a)
    onp.testing.assert_allclose(float(s), X.sum())
    m = onp.mean(a, axis=1)
    onp.testing.assert_allclose(onp.asarray(m), X.mean(axis=1))
    assert onp.shape(a) == (2, 3)
    assert onp.ndim(a) == 2
    w = onp.where(a > 0, a, 0.0)
    onp.testing.assert_array_equal(onp.asarray(w), onp.where(X > 0, X, 0.0))


def test_ufunc_out_with_imperdl_array(a):
    out = np.zeros((2, 3))
    alias = out
    r = onp.multiply(a, 2.0, out=out)
    assert r is out
    onp.testing.assert_array_equal(alias.asnumpy(), X * 2.0)
    r = np.multiply(a, 3.0, out=out)
    assert r is out
    onp.testing.assert_array_equal(alias.asnumpy(), X * 3.0)
    h = onp.zeros((2, 3))
    r = onp.add(a, 1.0, out=h)
    assert r is h
    onp.testing.assert_array_equal(h, X + 1.0)


def test_ufunc_out_casting_follows_numpy(a):
    out = np.zeros((2, 3), dtype=onp.int64)
    with pytest.raises(TypeError):
        onp.add(a, 1.0, out=out)
    with pytest.raises(TypeError):
        np.add(a, 1.0, out=out)


def test_imperdl_functions_accept_numpy_arrays():
    for r, want in [
        (np.exp(X), onp.exp(X)),
        (np.dot(X, X.T), X @ X.T),
        (np.concatenate([X, X]), onp.concatenate([X, X])),
        (np.maximum(X, 0), onp.maximum(X, 0)),
        (np.sum(X, axis=0), X.sum(axis=0)),
    ]:
        assert isinstance(r, Array)
        onp.testing.assert_allclose(r.asnumpy(), want)


def test_mixed_arithmetic_both_ways(a):
    for r, want in [(a + X, X + X), (X + a, X + X), (X * a, X * X), (X - a, X - X), (X / a, X / X),
                    (X @ a.T, X @ X.T), (X > a, X > X)]:
        assert isinstance(r, Array), type(r)
        onp.testing.assert_array_equal(r.asnumpy(), want)


def test_numpy_in_place_on_numpy_with_imperdl_operand(a):
    h = X.copy()
    h += a
    assert type(h) is onp.ndarray
    onp.testing.assert_array_equal(h, X + X)


def test_plain_numpy_result_types_stay_numpy():
    # nothing of ours leaks into pure-NumPy code
    assert type(onp.add(X, X)) is onp.ndarray
    assert type(onp.concatenate([X, X])) is onp.ndarray


def test_interop_never_runs_on_mxnet_under_only_numpy(a, mx_sinc, count):
    imperdl.set_global_policy("only_numpy")
    onp.abs(a)
    onp.sinc(a)
    assert count("sinc", "mxnet") == 0
    assert count("sinc", "numpy") == 1
    assert imperdl.statistics()["total"]["mxnet"] == 0
