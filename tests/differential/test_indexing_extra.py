"""Indexing beyond the shared runner: setitem on arrays that live on MXNet (the engine writes host-only arrays
on the host, so the runner's calls never reach the MXNet setitem), view semantics, and the Array API spellings.
"""
from __future__ import annotations

import copy
import warnings

import numpy as onp
import pytest
from hypothesis import given
from hypothesis import strategies as st

import imperdl
import imperdl.numpy as inp
from imperdl.core import registry

from . import strategies as S
from .cases_indexing import setitem_case


def _on_mxnet(a):
    a._get(1)
    a._data[0] = None  # only the MXNet copy is fresh, as after an MXNet op
    return a


@pytest.mark.mxnet
@S.SETTINGS
@given(st.data())
def test_setitem_on_mxnet_matches_numpy(data):
    (x, key, value), _ = setitem_case(data)
    ref = x.copy()
    try:
        ref[copy.deepcopy(key)] = value
        ref_exc = None
    except Exception as exc:  # noqa: BLE001
        ref_exc = exc
    for pol in ("prefer_mxnet", "only_numpy"):
        a = _on_mxnet(inp.array(x)) if x.dtype in (onp.float16, onp.uint8, onp.float32, onp.float64, onp.int32,
                                                   onp.int64, onp.bool_) else inp.array(x)
        k = tuple(inp.array(e) if type(e) is onp.ndarray else e for e in key) if type(key) is tuple else (
            inp.array(key) if type(key) is onp.ndarray else key)
        v = inp.array(value) if type(value) is onp.ndarray else value
        imperdl.set_global_policy(pol)
        try:
            if ref_exc is not None:
                with pytest.raises(type(ref_exc)):
                    a[k] = v
                continue
            a[k] = v
            got = a.asnumpy()
            assert got.dtype == ref.dtype and got.shape == ref.shape
            onp.testing.assert_array_equal(got, ref)
        finally:
            imperdl.set_global_policy("prefer_mxnet")


@pytest.mark.mxnet
def test_setitem_runs_on_mxnet():
    imperdl.set_global_policy("prefer_mxnet")
    p = registry.primitive("ndarray.__setitem__")
    a = inp.zeros((3, 4))
    before = p.counts[1]
    a[1:, ::-1] = 2.5
    a[a > 1] = -1
    a[0] = inp.arange(4).astype("float64")
    assert p.counts[1] == before + 3
    ref = onp.zeros((3, 4))
    ref[1:, ::-1] = 2.5
    ref[ref > 1] = -1
    ref[0] = onp.arange(4)
    onp.testing.assert_array_equal(a.asnumpy(), ref)


def test_views_see_writes_both_ways():
    a = inp.arange(12).reshape(3, 4)
    b = a[1:]
    b[0] = 7
    assert a.asnumpy()[1].tolist() == [7, 7, 7, 7]
    c = a[:2]
    a[0] = 5
    assert c.asnumpy()[0].tolist() == [5, 5, 5, 5]
    t = a.T
    a[2, 3] = -9
    assert t.asnumpy()[3, 2] == -9


def test_out_of_bounds_raise_index_error():
    a = inp.arange(6).reshape(2, 3)
    for key in (5, (0, 3), -3, (inp.array([0, 2]),), inp.array([[0, 1], [2, 0]])):
        with pytest.raises(IndexError):
            a[key]
    with pytest.raises(IndexError):
        a[inp.array([True, False, True])]
    with pytest.raises(IndexError):
        a[2] = 1.0


@pytest.mark.mxnet
def test_cs231n_gather_runs_on_mxnet():
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    imperdl.reset_statistics()
    scores = inp.array(onp.random.RandomState(0).randn(5, 3))
    y = inp.array(onp.array([0, 2, 1, 1, 0]))
    got = scores[inp.arange(5), y]
    onp.testing.assert_array_equal(got.asnumpy(), scores.asnumpy()[onp.arange(5), y.asnumpy()])
    assert imperdl.statistics()["ops"]["ndarray.__getitem__"]["mxnet"] == 1


def test_array_api_spellings():
    x = onp.arange(6, dtype=onp.float32)
    a = inp.array(x)
    onp.testing.assert_array_equal(a[1:3].asnumpy(), x[1:3])
    assert a.reshape(2, 3).shape == (2, 3) and a.reshape((2, 3)).shape == (2, 3)
    assert a.reshape(2, 3).T.shape == (3, 2)
    assert a.astype("float64").dtype == onp.float64
    c = a.copy()
    a[0] = 100
    assert c.asnumpy()[0] == 0  # a copy never aliases
    f = a.reshape(2, 3).flatten()
    a[1] = 50
    assert f.asnumpy()[1] == 1  # nor does flatten
    m = inp.array([True, False, True, False, True, False])
    assert m.dtype == onp.bool_
    onp.testing.assert_array_equal(a[m].asnumpy(), a.asnumpy()[[0, 2, 4]])


@pytest.mark.mxnet
@pytest.mark.parametrize("value", [-1, 300, -7.3, 2.9])
def test_scalar_outside_the_dtype_is_cast_as_numpy_casts_it(value):
    """``a[mask] = -1`` on a uint8 array that lives on MXNet stores NumPy's cast of the scalar, on MXNet (it
    used to fail there and fall back, teaching the policy that every such write fails)."""
    prim = registry.primitive("ndarray.__setitem__")
    ref = onp.array([1, 2, 3], dtype=onp.uint8)
    mask = onp.array([True, False, True])
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy >= 1.24 on out-of-bound Python ints
        ref[mask] = value
        a = _on_mxnet(inp.array([1, 2, 3], dtype="uint8"))
        before = list(prim.counts)
        with imperdl.core.PreferMXNetPolicy():
            a[mask] = value
    assert prim.counts[1] == before[1] + 1 and prim.counts[2] == before[2]
    onp.testing.assert_array_equal(a.asnumpy(), ref)
