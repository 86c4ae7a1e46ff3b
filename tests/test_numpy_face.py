"""The NumPy face: every public NumPy name, nothing of MXNet's, NumPy's default dtypes under every policy."""
from __future__ import annotations

import importlib
import types

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Array, MXNetUnsupportedError

PUBLIC = sorted(n for n in dir(onp) if not n.startswith("_"))


def test_every_public_numpy_name_is_reachable():
    assert set(dir(np)) >= set(PUBLIC)
    missing = []
    for name in PUBLIC:
        try:
            getattr(np, name)
        except Exception as e:  # noqa: BLE001 - collect them all for one message
            missing.append(f"{name}: {type(e).__name__}")
    assert missing == []


def test_nothing_backend_specific_leaks_in():
    extra = {n for n in dir(np) if not n.startswith("_")} - set(dir(onp))
    # MinPy's op statistics and np.set_policy, the only names NumPy lacks
    assert extra == {"record_op_stat", "show_op_stat", "set_policy"}
    for name in ("Convolution", "FullyConnected", "npx", "nd", "sym", "Pooling", "SoftmaxOutput"):
        assert not hasattr(np, name), name
    with pytest.raises(AttributeError):
        np.Convolution  # noqa: B018


def test_constants_and_dtypes_are_numpys():
    assert onp.isnan(np.nan) and np.pi == onp.pi and np.inf == onp.inf and np.e == onp.e
    assert np.newaxis is None
    for name in ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool_", "complex128",
                 "dtype", "finfo", "iinfo", "errstate", "generic", "number"):
        assert getattr(np, name) is getattr(onp, name), name
    assert np.ndarray is Array


@pytest.mark.parametrize("sub", ["random", "linalg", "fft"])
def test_dispatched_submodules_mirror_numpy(sub):
    mod, ref = getattr(np, sub), getattr(onp, sub)
    assert isinstance(mod, types.ModuleType)
    names = {n for n in dir(ref) if not n.startswith("_")}
    assert {n for n in dir(mod) if not n.startswith("_")} == names
    for n in names:
        getattr(mod, n)


def test_other_submodules_reached():
    assert np.matrixlib.matrix is onp.matrix
    assert np.ma.masked_array is onp.ma.masked_array
    assert np.polynomial.Polynomial is onp.polynomial.Polynomial
    w = np.lib.stride_tricks.sliding_window_view(np.arange(5), 3)
    onp.testing.assert_array_equal(onp.asarray(w), onp.lib.stride_tricks.sliding_window_view(onp.arange(5), 3))
    assert isinstance(np.testing, types.ModuleType)


@pytest.mark.parametrize("sub", ["linalg", "random", "fft", "matrixlib", "ma", "polynomial", "lib"])
def test_calling_a_module_raises_type_error(sub):
    with pytest.raises(TypeError):
        getattr(np, sub)()


def test_import_forms():
    linalg = importlib.import_module("imperdl.numpy.linalg")
    assert linalg is np.linalg
    from imperdl.numpy.random import normal

    assert normal is np.random.normal
    from imperdl.numpy.linalg import inv

    onp.testing.assert_allclose(onp.asarray(inv(np.eye(2) * 2)), onp.eye(2) / 2)


def test_submodule_results_are_arrays():
    r = np.linalg.inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    assert isinstance(r, Array)
    f = np.fft.fft(np.ones(4))
    assert isinstance(f, Array) and f.dtype == onp.complex128
    onp.testing.assert_allclose(f.asnumpy(), onp.fft.fft(onp.ones(4)))


def test_ufunc_surface():
    onp.testing.assert_array_equal(onp.asarray(np.add.reduce(np.arange(4))), 6)
    onp.testing.assert_array_equal(onp.asarray(np.add.outer(np.arange(2), np.arange(3))),
                                   onp.add.outer(onp.arange(2), onp.arange(3)))
    assert np.add.nin == 2 and np.exp.nout == 1


DEFAULTS = [
    ("array int", lambda m: m.array([1, 2])),
    ("array float", lambda m: m.array([1.5])),
    ("array bool", lambda m: m.array([True, False])),
    ("zeros", lambda m: m.zeros(3)),
    ("ones", lambda m: m.ones((2, 2))),
    ("empty", lambda m: m.empty(2)),
    ("arange int", lambda m: m.arange(3)),
    ("arange float", lambda m: m.arange(0.0, 1.0, 0.5)),
    ("linspace", lambda m: m.linspace(0, 1, 3)),
    ("eye", lambda m: m.eye(2)),
    ("full int", lambda m: m.full(2, 3)),
    ("full float", lambda m: m.full(2, 3.0)),
    ("argmax", lambda m: m.argmax(m.array([1.0, 3.0, 2.0]))),
    ("argmin int", lambda m: m.argmin(m.array([3, 1, 2]))),
    ("sum int32", lambda m: m.sum(m.array([1, 2], dtype="int32"))),
    ("mean int", lambda m: m.mean(m.array([1, 2]))),
    ("int true_divide", lambda m: m.array([1, 2]) / m.array([2, 2])),
    ("int32 plus half", lambda m: m.array([1, 2], dtype="int32") + 0.5),
    ("random.rand", lambda m: m.random.rand(2)),
    ("random.randint", lambda m: m.random.randint(0, 5, size=3)),
    ("random.normal array mu", lambda m: m.random.normal(m.zeros(3), 1.0)),
]


@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy", "only_mxnet"])
@pytest.mark.parametrize("label, make", DEFAULTS, ids=[d[0] for d in DEFAULTS])
def test_default_dtypes_equal_numpys(policy, label, make):
    want = make(onp)
    want = onp.asarray(want)
    imperdl.set_global_policy(policy)
    try:
        got = make(np)
    except MXNetUnsupportedError:
        assert policy == "only_mxnet"  # MXNet lacks it: refusing is right, a wrong dtype is not
        return
    assert isinstance(got, Array)
    assert got.dtype == want.dtype, (label, policy, got.dtype, want.dtype)
    assert got.shape == want.shape
