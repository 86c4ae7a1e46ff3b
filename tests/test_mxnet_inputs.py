"""The user's MXNet arrays (``mx.nd.NDArray``, ``mx.np.ndarray``) as imperdl inputs (issue #12, item 2).

Every ``imperdl.numpy`` function, the Array operators and methods, ``grad`` and ``Function`` take them; the result
is NumPy's on ``mx_array.asnumpy()`` (values, dtype, shape); the array is read where it lives (no bytes copied
through the host when MXNet runs the call; its memory shared); and imperdl never writes into it.
"""
from __future__ import annotations

import ctypes

import autograd
import autograd.numpy as anp
import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Function, grad
from imperdl.core.array import Array
from imperdl.core.backends import mxnet_backend as _mxb

POLICIES = ("prefer_mxnet", "only_numpy", "cost_aware")


@pytest.fixture
def mxm(mx):
    """The whole ``mxnet`` module (the ``mx`` fixture is ``mxnet.numpy``)."""
    return _mxb._mx


def _flavours(mxm, host):
    """The same values as a legacy NDArray and as an ``mx.np`` array."""
    return {"nd": mxm.nd.array(host, dtype=host.dtype), "np": mxm.np.array(host, dtype=host.dtype)}


def _set_policy(name):
    imperdl.set_global_policy(imperdl.CostAwarePolicy() if name == "cost_aware" else name)


def _same(got, want):
    assert type(got) is Array, type(got)
    assert got.shape == onp.shape(want) and got.dtype == onp.asarray(want).dtype, (got.shape, got.dtype, want)
    onp.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6, equal_nan=True)


def _pointer(a) -> int:
    p = ctypes.c_void_p()
    _mxb._mx.base.check_call(_mxb._mx.base._LIB.MXNDArrayGetData(a.handle, ctypes.byref(p)))
    return p.value


_UNARY = sorted(n for n in dir(onp) if isinstance(getattr(onp, n), onp.ufunc) and getattr(onp, n).nin == 1
                and getattr(onp, n).nout == 1 and n not in ("isnat", "invert", "bitwise_not", "spacing"))
_BINARY = sorted(n for n in dir(onp) if isinstance(getattr(onp, n), onp.ufunc) and getattr(onp, n).nin == 2
                 and getattr(onp, n).nout == 1 and n != "matmul" and "shift" not in n
                 and not n.startswith(("bitwise", "gcd", "lcm")))
# other functions, each with the arguments it is called with (x: a 3x4 float32 MXNet array)
_OTHERS = {
    "sum": lambda x: ((x,), {"axis": 0}), "mean": lambda x: ((x,), {}), "max": lambda x: ((x,), {"axis": 1}),
    "argmax": lambda x: ((x,), {}), "cumsum": lambda x: ((x,), {"axis": 1}), "std": lambda x: ((x,), {}),
    "reshape": lambda x: ((x, (4, 3)), {}), "transpose": lambda x: ((x,), {}), "ravel": lambda x: ((x,), {}),
    "dot": lambda x: ((x, x.T), {}), "matmul": lambda x: ((x.T, x), {}), "where": lambda x: ((x > 0, x, 0.0), {}),
    "concatenate": lambda x: (([x, x],), {"axis": 0}), "stack": lambda x: (((x, x),), {}),
    "clip": lambda x: ((x, -0.5, 0.5), {}), "sort": lambda x: ((x,), {}), "tile": lambda x: ((x, 2), {}),
    "einsum": lambda x: (("ij,kj->ik", x, x), {}), "linalg.norm": lambda x: ((x,), {}),
    "linalg.pinv": lambda x: ((x,), {}), "fft.fft": lambda x: ((x,), {}), "median": lambda x: ((x,), {}),
    "sinc": lambda x: ((x,), {}), "shape": lambda x: ((x,), {}), "copy": lambda x: ((x,), {}),
    "array": lambda x: ((x,), {}), "asarray": lambda x: ((x,), {}), "zeros_like": lambda x: ((x,), {}),
    "split": lambda x: ((x, 2, 1), {}), "pad": lambda x: ((x, 1), {}), "diff": lambda x: ((x,), {}),
    "random.permutation": lambda x: ((x.shape[0],), {}),
}


def _resolve(space, name):
    for part in name.split("."):
        space = getattr(space, part)
    return space


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("flavour", ["nd", "np"])
def test_every_ufunc_takes_mxnet_arrays(mxm, flavour, policy):
    _set_policy(policy)
    host = onp.linspace(-0.9, 0.9, 12, dtype=onp.float32).reshape(3, 4)
    x = _flavours(mxm, host)[flavour]
    y = _flavours(mxm, host[::-1].copy() + 1)[flavour]
    with onp.errstate(all="ignore"):
        for name in _UNARY:
            _same(getattr(np, name)(x), getattr(onp, name)(host))
        for name in _BINARY:
            try:
                want = getattr(onp, name)(host, host[::-1] + 1)
            except TypeError:  # (ldexp takes integer exponents): NumPy's error, from MXNet arrays too
                with pytest.raises(TypeError, match=name):
                    getattr(np, name)(x, y)
                continue
            _same(getattr(np, name)(x, y), want)
            _same(getattr(np, name)(host, y), want)  # a NumPy array and an MXNet one
    assert x.asnumpy().tolist() == host.tolist()  # the user's array is as it was


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("flavour", ["nd", "np"])
def test_other_functions_take_mxnet_arrays(mxm, flavour, policy):
    _set_policy(policy)
    host = onp.random.default_rng(3).uniform(-0.9, 0.9, (3, 4)).astype(onp.float32)
    x = _flavours(mxm, host)[flavour]
    for name, make in _OTHERS.items():
        args, kwargs = make(x)
        hargs, hkwargs = make(host)
        if name.startswith("random"):
            continue  # (an MXNet shape is an int: covered by the others)
        got, want = _resolve(np, name)(*args, **kwargs), _resolve(onp, name)(*hargs, **hkwargs)
        if name == "shape":
            assert got == want
        elif isinstance(want, list):
            assert len(got) == len(want)
            for g, w in zip(got, want):
                _same(g, w)
        else:
            _same(got, want)


def test_array_operators_and_methods_take_mxnet_arrays(mxm):
    host = onp.arange(1.0, 7.0).reshape(2, 3)
    for x in _flavours(mxm, host).values():
        a = np.array(host * 2)
        _same(a + x, host * 3)
        _same(a - x, host)
        _same(a @ x.T, (host * 2) @ host.T)
        _same(a ** x, (host * 2) ** host)
        _same(a == x, host * 2 == host)
        _same(a.dot(x.T), (host * 2) @ host.T)
        _same(a.clip(x, 100.0), host * 2)
        b = np.array(host)
        b += x
        _same(b, host * 2)
        b[0] = x[1]  # (an MXNet value into an Array)
        _same(b, onp.stack([host[1], host[1] * 2]))
        c = np.zeros(4)
        c[x.astype("int32")[0]] = 7.0  # an MXNet index array
        _same(c, onp.array([0.0, 7.0, 7.0, 7.0]))
        i, j = x.astype("int32")[0] - 1, x.astype("int32")[1] - 4
        d = np.zeros((3, 3))
        d[i, j] = x[0]  # a tuple of MXNet index arrays, an MXNet value
        want = onp.zeros((3, 3))
        want[[0, 1, 2], [0, 1, 2]] = host[0]
        _same(d, want)
        _same(np.array(want)[i, j], host[0])
        _same(onp.add(a, x), host * 3)  # NumPy's ufunc, an imperdl Array first: imperdl handles it
    assert x.asnumpy().tolist() == host.tolist()


def test_mixing_numpy_imperdl_and_mxnet_arrays(mxm):
    rng = onp.random.default_rng(0)
    h, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    for flavour in ("nd", "np"):
        mw = _flavours(mxm, w)[flavour]
        got = np.maximum(np.dot(h, mw) + np.array(b), 0.0)  # NumPy, MXNet and imperdl arrays in one expression
        _same(got, onp.maximum(h @ w + b, 0.0))
        _same(np.concatenate([h, np.array(h), _flavours(mxm, h)[flavour]], axis=1), onp.concatenate([h, h, h], 1))
        _same(np.where(np.array(h) > 0, _flavours(mxm, h)[flavour], h * 2), onp.where(h > 0, h, h * 2))


@pytest.mark.parametrize("dtype", ["int32", "float16", "bool", "float64", "int8", "uint8", "int64"])
@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy"])
def test_dtypes(mxm, dtype, policy):
    _set_policy(policy)
    host = (onp.arange(6).reshape(2, 3) % 3).astype(dtype)
    for x in _flavours(mxm, host).values():
        _same(np.asarray(x), host)
        _same(np.add(x, x), onp.add(host, host))
        _same(np.sum(x, axis=0), onp.sum(host, axis=0))
        _same(np.array(host) * x, host * host)  # (x * Array is MXNet's own operator: it refuses the Array)
        _same(np.multiply(x, 2), onp.multiply(host, 2))
        _same(np.equal(x, host), host == host)
        _same(np.logical_not(x), onp.logical_not(host))


def test_zero_d_legacy_ndarray(mxm):
    host = onp.array(2.5, dtype=onp.float32)
    x = mxm.np.array(host).as_nd_ndarray()  # a 0-d legacy NDArray (what mx.np code hands to mx.nd code)
    assert isinstance(x, mxm.nd.NDArray) and not isinstance(x, mxm.np.ndarray)
    for policy in POLICIES:
        _set_policy(policy)
        _same(np.multiply(x, 2), onp.multiply(host, 2))
        _same(np.asarray(x), host)
        _same(np.exp(x) + np.ones(3), onp.exp(host) + onp.ones(3))
        assert float(np.sum(x)) == 2.5
    g = grad(lambda t: t * t * 3)(x)
    _same(g, onp.array(15.0, dtype=onp.float32))
    legacy = mxm.nd.array([2.5])  # the legacy way to hold one number: shape (1,), as NumPy sees asnumpy()
    _same(np.exp(legacy), onp.exp(onp.array([2.5], dtype=onp.float32)))


def test_no_host_round_trip(mxm):
    """MXNet reads the user's buffer itself: nothing copied or shared with the host, the memory is the user's."""
    imperdl.set_global_policy("prefer_mxnet")
    host = onp.linspace(0.1, 1.0, 1000, dtype=onp.float32)
    for x in _flavours(mxm, host).values():
        imperdl.reset_statistics()
        y = np.exp(np.sin(x) * x)
        s = imperdl.statistics()
        assert s["copies"] == {} and s["shared"] == {} and s["syncs"] == 0, s
        assert y.backends == ("mxnet",)
        assert s["ops"]["exp"]["mxnet"] == 1 and s["ops"]["multiply"]["mxnet"] == 1
        a = np.asarray(x)
        assert imperdl.statistics() == s  # (np.asarray moves nothing)
        assert _pointer(a._data[1]) == _pointer(x)  # the Array reads the user's own buffer
        onp.testing.assert_allclose(y.asnumpy(), onp.exp(onp.sin(host) * host), rtol=1e-6)


def test_no_copy_when_numpy_runs_the_call(mxm):
    """On the CPU with the synchronous engine, a call placed on NumPy reads the MXNet buffer in place (shared)."""
    if not _mxb.ZERO_COPY:
        pytest.skip("buffers are shared only with the synchronous engine")
    imperdl.set_global_policy("only_numpy")
    host = onp.linspace(0.1, 1.0, 1000, dtype=onp.float32)
    x = mxm.nd.array(host)
    y = np.sinc(x)
    s = imperdl.statistics()
    assert s["copies"] == {}, s
    assert s["shared"] == {"mxnet->numpy": {"count": 1, "bytes": 4000}}
    _same(y, onp.sinc(host))


def test_user_array_is_never_written(mxm):
    """Copy-on-write: np.asarray(mx) shares the memory for reading; every write makes imperdl's own copy first."""
    host = onp.arange(12.0, dtype=onp.float32).reshape(3, 4)
    for policy in ("prefer_mxnet", "only_numpy"):
        _set_policy(policy)
        for x in _flavours(mxm, host).values():
            a = np.asarray(x)
            a += 1
            a[0, 0] = -5.0
            v = np.asarray(x).reshape(4, 3)  # a view of the wrapped array, written
            v[1] = 9.0
            t = np.asarray(x)[1]
            t *= 2
            it = onp.nditer(np.asarray(x), op_flags=["readwrite"])  # NumPy writing through __array__
            for e in it:
                e[...] = 0.0
            np.copyto(np.asarray(x), 3.0)
            r = np.add(x, 0)
            r -= 100
            assert x.asnumpy().tolist() == host.tolist(), policy
            want = host + 1
            want[0, 0] = -5.0
            _same(a, want)
            _same(v, onp.array([[0, 1, 2], [9, 9, 9], [6, 7, 8], [9, 10, 11]], dtype=onp.float32))
            _same(t, host[1] * 2)
            _same(r, host - 100)


def test_out_may_not_be_an_mxnet_array(mxm):
    x = mxm.np.ones(3)
    with pytest.raises(TypeError, match=r"exp\(\): out= is an MXNet array \(ndarray\); imperdl never writes"):
        np.exp(np.ones(3), out=x)
    assert x.asnumpy().tolist() == [1.0, 1.0, 1.0]
    out = np.empty(3)
    np.exp(x, out=out)  # an MXNet input with an imperdl out
    _same(out, onp.exp(onp.ones(3, dtype=onp.float32)).astype(onp.float64))


def _loss(anp_or_np):
    def f(w, x):
        return anp_or_np.sum(anp_or_np.tanh(anp_or_np.dot(x, w)) ** 2) + anp_or_np.sum(w * w)

    return f


@pytest.mark.parametrize("policy", POLICIES)
def test_gradients_with_respect_to_mxnet_arrays(mxm, policy):
    _set_policy(policy)
    rng = onp.random.default_rng(1)
    w, x = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    want_w, want_x = autograd.grad(_loss(anp), (0, 1))(w, x)
    for flavour in ("nd", "np"):
        mw, mx_ = _flavours(mxm, w)[flavour], _flavours(mxm, x)[flavour]
        gw, gx = grad(_loss(np), (0, 1))(mw, mx_)
        _same(gw, want_w)
        _same(gx, want_x)
        gw32 = grad(_loss(np))(_flavours(mxm, w.astype(onp.float32))[flavour], x)  # float32 in, float32 out
        assert gw32.dtype == onp.float32
        onp.testing.assert_allclose(gw32.asnumpy(), want_w, rtol=1e-4, atol=1e-5)
        # a dict of parameters
        g = grad(lambda p: _loss(np)(p["w"], x))({"w": mw})
        _same(g["w"], want_w)
        gi = grad(lambda v: np.sum(v * 1.5))(mxm.nd.array([1, 2, 3], dtype="int32"))  # integers: float64
        _same(gi, onp.full(3, 1.5))
        assert mw.asnumpy().tolist() == w.tolist()


def test_non_default_context_is_kept(mxm):
    imperdl.set_global_policy("prefer_mxnet")
    host = onp.linspace(-1, 1, 6, dtype=onp.float32).reshape(2, 3)
    cpu1 = imperdl.context.cpu(1)
    for x in (mxm.nd.array(host, ctx=mxm.cpu(1)), mxm.np.array(host, ctx=mxm.cpu(1))):
        a = np.asarray(x)
        assert a.context == cpu1
        with cpu1:
            imperdl.reset_statistics()
            y = np.tanh(x) * 2
            assert y.context == cpu1
            assert imperdl.statistics()["copies"] == {}  # computed where the array lives
        _same(y, onp.tanh(host) * 2)
        _same(np.tanh(x), onp.tanh(host))  # on the current context (cpu(0)): moved there on MXNet
        assert x.context == mxm.cpu(1)


def test_function_takes_mxnet_arrays(mxm):
    sym = mxm.sym
    fn = Function(sym.FullyConnected(sym.Variable("x"), name="fc", num_hidden=3), name="fc")
    rng = onp.random.default_rng(2)
    x, w, b = (rng.standard_normal(s).astype(onp.float32) for s in ((4, 5), (3, 5), (3,)))
    for flavour in ("nd", "np"):
        mx_x, mx_w, mx_b = (_flavours(mxm, v)[flavour] for v in (x, w, b))
        _same(fn(x=mx_x, fc_weight=mx_w, fc_bias=mx_b), x @ w.T + b)
        g = grad(lambda w_, x_, b_: np.sum(fn(x=x_, fc_weight=w_, fc_bias=b_) ** 2))(mx_w, mx_x, mx_b)
        onp.testing.assert_allclose(g.asnumpy(), (2 * (x @ w.T + b)).T @ x, rtol=1e-4, atol=1e-4)
        assert mx_w.asnumpy().tolist() == w.tolist()


def test_sparse_mxnet_arrays(mxm):
    host = onp.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]], dtype=onp.float32)
    csr = mxm.nd.array(host).tostype("csr")
    _same(np.sum(csr, axis=1), host.sum(axis=1))
