"""Zero-copy transfers between NumPy and MXNet on the CPU: no bytes copied (counted apart), writes on either side
seen correctly, tape snapshots and views intact, operators that rewrite inputs kept away from shared buffers, and
no engine synchronisation outside host reads."""
from __future__ import annotations

import ctypes
import gc

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Function, conv2d, grad
from imperdl.core.backends import mxnet_backend as _mxb


@pytest.fixture(autouse=True)
def prefer_mxnet(mx):
    """Transfers happen when MXNet runs: PreferMXNet sends every call it can there."""
    assert _mxb.ZERO_COPY, "the CPU wheel runs NaiveEngine here: buffers are shared"
    imperdl.set_global_policy("prefer_mxnet")


def _pointer(a) -> int:
    """Address of an MXNet array's data (as MXNet reports it)."""
    p = ctypes.c_void_p()
    _mxb._mx.base.check_call(_mxb._mx.base._LIB.MXNDArrayGetData(a.handle, ctypes.byref(p)))
    return p.value


def _host_pointer(x) -> int:
    return x.__array_interface__["data"][0]


def test_host_to_mxnet_shares_memory():
    x = np.array(onp.linspace(0.1, 1.0, 100, dtype=onp.float32))
    y = np.exp(x)
    s = imperdl.statistics()
    assert s["shared"]["numpy->mxnet"] == {"count": 1, "bytes": 400}
    assert "numpy->mxnet" not in s["copies"]
    assert set(x.backends) == {"numpy", "mxnet"}
    assert _pointer(x._data[1]) == _host_pointer(x._data[0])
    onp.testing.assert_allclose(y.asnumpy(), onp.exp(onp.linspace(0.1, 1.0, 100, dtype=onp.float32)), rtol=1e-6)


def test_mxnet_to_host_shares_memory_and_asnumpy_still_copies():
    y = np.exp(np.array(onp.ones((8, 8))))
    assert y.backends == ("mxnet",)
    h = y.asnumpy()
    s = imperdl.statistics()
    assert s["shared"]["mxnet->numpy"] == {"count": 1, "bytes": 512}
    assert "mxnet->numpy" not in s["copies"] and s["syncs"] == 1
    assert _host_pointer(y._data[0]) == _pointer(y._data[1])
    h[0, 0] = -1.0  # asnumpy() is the user's own copy
    assert float(y[0, 0]) == pytest.approx(onp.e)


@pytest.mark.parametrize("case", ["bool", "non_contiguous", "read_only", "other_cpu", "empty", "disabled"])
def test_transfers_that_cannot_share_copy(case, monkeypatch):
    host = onp.arange(12.0).reshape(3, 4)
    ctx = imperdl.cpu(0)
    if case == "bool":
        x, f = np.array(host > 5), np.logical_not
    elif case == "non_contiguous":
        with imperdl.OnlyNumPyPolicy():
            x = np.array(host).T  # a NumPy view: strided
        f = np.negative
    elif case == "read_only":
        ro = host.copy()
        ro.flags.writeable = False
        x, f = np.asarray(ro), np.negative
    elif case == "other_cpu":
        x, f, ctx = np.array(host), np.negative, imperdl.cpu(1)
    elif case == "empty":
        x, f = np.array(onp.zeros((0, 3))), np.negative
    else:
        monkeypatch.setattr(_mxb, "ZERO_COPY", False)
        x, f = np.array(host), np.negative
    imperdl.reset_statistics()
    with ctx:
        y = f(x)
    assert imperdl.statistics()["ops"][f.__name__]["mxnet"] == 1
    assert imperdl.statistics()["copies"]["numpy->mxnet"]["count"] == 1
    assert "numpy->mxnet" not in imperdl.statistics()["shared"]
    onp.testing.assert_array_equal(y.asnumpy(), getattr(onp, f.__name__)(x.asnumpy()))


def test_host_write_after_sharing_is_seen_by_mxnet():
    x = np.array(onp.zeros(4))
    np.exp(x)  # x: host and MXNet, one buffer
    with imperdl.OnlyNumPyPolicy():
        x[0] = 5.0  # in place on the host
    assert x.backends == ("numpy",)
    y = np.exp(x)
    assert imperdl.statistics()["ops"]["exp"]["mxnet"] == 2
    onp.testing.assert_allclose(y.asnumpy(), onp.exp([5.0, 0, 0, 0]))


def test_mxnet_write_reaches_the_users_array_like_numpy():
    user = onp.arange(4.0)
    a = np.asarray(user)  # aliases the user's array, as numpy.asarray does
    first = np.exp(a)  # a shared with MXNet
    a[1] = 7.0  # runs on MXNet, in the shared buffer
    assert imperdl.statistics()["ops"]["ndarray.__setitem__"]["mxnet"] == 1
    assert user[1] == 7.0 and a.asnumpy()[1] == 7.0  # NumPy: a write through asarray's result reaches the user
    onp.testing.assert_allclose(first.asnumpy(), onp.exp(onp.arange(4.0)))  # earlier results unchanged
    onp.testing.assert_allclose(np.exp(a).asnumpy(), onp.exp([0.0, 7.0, 2.0, 3.0]))


def test_host_write_into_an_mxnet_result():
    y = np.exp(np.array(onp.zeros((2, 3))))
    view = onp.asarray(y)  # a read-only NumPy view of y's host side (shared with MXNet's buffer)
    with imperdl.OnlyNumPyPolicy():
        y[0, 0] = 3.0
    assert y.asnumpy()[0, 0] == 3.0 and view[0, 0] == 3.0  # numpy.asarray(ndarray) is a view: it follows
    onp.testing.assert_allclose(np.log(y).asnumpy(), onp.log(onp.where(onp.arange(6).reshape(2, 3) == 0, 3.0, 1.0)))
    y[1, 1] = 9.0  # now on MXNet again: reaches the same memory
    assert view[1, 1] == 9.0


@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy"])
@pytest.mark.parametrize("write", ["prefer_mxnet", "only_numpy"])
def test_tape_snapshots_protect_recorded_values(policy, write):
    rng = onp.random.default_rng(0)
    hx, hc = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    imperdl.set_global_policy(policy)
    c = np.array(hc)

    def f(x):
        y = x * c  # recorded: the tape keeps c's value now
        c.asnumpy()  # c on both sides, shared
        with _policy(write):
            c[0] = 100.0  # c is not traced: an ordinary in-place write, after the tape saw it
        return np.sum(y * c)

    g = grad(f)(np.array(hx))
    c_new = hc.copy()
    c_new[0] = 100.0
    onp.testing.assert_allclose(g.asnumpy(), hc * c_new, rtol=1e-12)


def _policy(name):
    return {"prefer_mxnet": imperdl.PreferMXNetPolicy, "only_numpy": imperdl.OnlyNumPyPolicy}[name]()


@pytest.mark.parametrize("write", ["prefer_mxnet", "only_numpy"])
def test_in_place_update_of_a_traced_shared_value(write):
    hx = onp.random.default_rng(1).standard_normal((3, 3))

    def f(x):
        y = x * 2.0  # an MXNet result
        y.asnumpy()  # shared with the host
        with _policy(write):
            y[0, 0] = 0.0  # recorded functionally
        return np.sum(y * y)

    g = grad(f)(np.array(hx))
    want = 8.0 * hx
    want[0, 0] = 0.0
    onp.testing.assert_allclose(g.asnumpy(), want, rtol=1e-12)


def test_views_of_shared_arrays():
    user = onp.zeros((4, 4))
    a = np.asarray(user)
    np.exp(a)  # shared with MXNet
    v = a[1:3]
    v[0, 0] = 5.0  # a view writes its root on the host
    assert user[1, 0] == 5.0 and a.asnumpy()[1, 0] == 5.0
    assert float(np.exp(a)[1, 0]) == pytest.approx(onp.exp(5.0))
    y = np.exp(np.array(onp.zeros((4, 4))))  # an MXNet result
    w = y[2:]
    w[0, 1] = 2.0
    assert y.asnumpy()[2, 1] == 2.0
    assert float(np.log(y)[2, 1]) == pytest.approx(onp.log(2.0))
    assert float(w[0, 1]) == 2.0


def test_convolution_weights_are_never_rewritten_in_shared_memory(count):
    rng = onp.random.default_rng(2)
    w_user = rng.standard_normal((16, 8, 3, 3)).astype(onp.float32)
    w_ref = w_user.copy()
    w, x = np.asarray(w_user), np.array(rng.standard_normal((2, 8, 12, 12)).astype(onp.float32))
    for _ in range(3):  # oneDNN re-lays out a convolution weight in inference mode, in its own buffer
        conv2d(x, w, pad=1)
    assert count("conv2d", "mxnet") == 3
    onp.testing.assert_array_equal(w_user, w_ref)
    onp.testing.assert_array_equal(w.asnumpy(), w_ref)
    assert imperdl.statistics()["copies"]["mxnet->mxnet"]["count"] == 1  # one private copy, then reused


def test_symbol_functions_in_inference_do_not_rewrite_shared_weights():
    mx = _mxb._mx
    f = Function(mx.sym.Convolution(mx.sym.Variable("x"), kernel=(3, 3), num_filter=16, pad=(1, 1), name="conv"),
                 {"x": (2, 8, 12, 12)})
    f.is_train = False
    rng = onp.random.default_rng(3)
    w_user = rng.standard_normal((16, 8, 3, 3)).astype(onp.float32)
    w_ref = w_user.copy()
    x = np.array(rng.standard_normal((2, 8, 12, 12)).astype(onp.float32))
    w, b = np.asarray(w_user), np.zeros(16, dtype=onp.float32)
    for _ in range(2):
        f(x=x, conv_weight=w, conv_bias=b)
    onp.testing.assert_array_equal(w_user, w_ref)


def test_metadata_and_mxnet_chains_never_synchronise():
    x = np.array(onp.linspace(0.1, 1.0, 12).reshape(3, 4))
    y = np.tanh(np.exp(x) * 2.0 + x)
    assert y.backends == ("mxnet",)
    assert (y.shape, y.dtype, y.ndim, y.size, len(y), y.key()[:3]) == ((3, 4), onp.float64, 2, 12, 3,
                                                                         ("A", onp.float64, 2))
    assert imperdl.statistics()["syncs"] == 0
    y.asnumpy()
    y.asnumpy()
    repr(y)
    assert imperdl.statistics()["syncs"] == 1  # one host read, then the host side is fresh


def test_shared_memory_outlives_either_owner():
    user = onp.arange(6.0)
    a = np.asarray(user)
    y = np.exp(a)
    del user, a
    gc.collect()
    onp.testing.assert_allclose(y.asnumpy(), onp.exp(onp.arange(6.0)))  # MXNet kept the host buffer alive
    view = onp.asarray(np.exp(np.array(onp.zeros(3))))  # host view of an MXNet buffer; the Array is gone
    gc.collect()
    onp.testing.assert_array_equal(view, onp.ones(3))
