"""numpy.nditer over an Array, read-write: CS231n's eval_numerical_gradient perturbs its input while iterating,
by indexing (``x[ix] = oldval + h``) or through the iterator (``it[0][...] = v``). Writes must reach the Array
(whichever backend holds its fresh copy, with or without memory shared with MXNet) and its views, with the real
``numpy.nditer`` and ``imperdl.numpy.nditer``; results are compared with the same code run on NumPy."""
from __future__ import annotations

import numpy
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core.backends import mxnet_backend

H = 1e-5


@pytest.fixture(params=[("only_numpy", True), ("prefer_mxnet", True), ("prefer_mxnet", False)],
                ids=["only_numpy", "prefer_mxnet-shared", "prefer_mxnet-copied"])
def setting(request, monkeypatch):
    """A policy, and whether MXNet shares host memory (False: every transfer is a copy, as on a GPU)."""
    policy, shared = request.param
    mxnet_backend.load()
    monkeypatch.setattr(mxnet_backend, "ZERO_COPY", mxnet_backend.ZERO_COPY and shared)
    old = imperdl.get_global_policy()
    imperdl.set_global_policy(policy)
    yield policy
    imperdl.set_global_policy(old)


ITERATORS = {"numpy.nditer": lambda: numpy.nditer, "imperdl.numpy.nditer": lambda: np.nditer}


def _f(mod):
    w = numpy.linspace(-1.0, 1.0, 6).reshape(2, 3)
    return lambda x: mod.sum(mod.tanh(x * w) ** 2)


def eval_numerical_gradient(f, x, nditer, through_iterator: bool):
    """CS231n's loop, perturbing by indexing or through ``it[0]``."""
    grad = numpy.zeros(x.shape)
    it = nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix] if not through_iterator else it[0].copy()
        if through_iterator:
            it[0][...] = oldval + H
        else:
            x[ix] = oldval + H
        fxph = float(f(x))
        if through_iterator:
            it[0][...] = oldval - H
        else:
            x[ix] = oldval - H
        fxmh = float(f(x))
        if through_iterator:
            it[0][...] = oldval
        else:
            x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * H)
        it.iternext()
    return grad


@pytest.mark.parametrize("through_iterator", [False, True], ids=["x[ix]=", "it[0][...]="])
@pytest.mark.parametrize("which", sorted(ITERATORS))
def test_eval_numerical_gradient_matches_numpy(setting, which, through_iterator):
    x0 = (numpy.arange(6.0).reshape(2, 3) + 1.0) / 5.0
    want = eval_numerical_gradient(_f(numpy), x0.copy(), numpy.nditer, through_iterator)
    x = np.exp(np.log(np.array(x0)))  # a computed Array: under prefer_mxnet its fresh copy is on MXNet
    got = eval_numerical_gradient(_f(np), x, ITERATORS[which](), through_iterator)
    numpy.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    numpy.testing.assert_allclose(numpy.asarray(x), numpy.exp(numpy.log(x0)))  # restored, as on NumPy


@pytest.mark.parametrize("which", sorted(ITERATORS))
def test_writes_through_the_iterator_reach_the_array_and_later_results(setting, which):
    x = np.exp(np.array(numpy.zeros((2, 3))))  # ones, computed
    it = ITERATORS[which]()(x, op_flags=["readwrite"])
    for k, e in enumerate(it):
        e[...] = k
        assert float(np.sum(x)) == sum(range(k + 1)) + (5 - k)  # each write is seen by the next computation
    numpy.testing.assert_array_equal(x.asnumpy(), numpy.arange(6.0).reshape(2, 3))
    y = np.exp(x)
    it = ITERATORS[which]()(x, op_flags=["readwrite"])
    for e in it:
        e[...] = -1.0
    numpy.testing.assert_allclose(y.asnumpy(), numpy.exp(numpy.arange(6.0).reshape(2, 3)))  # results made earlier keep
    numpy.testing.assert_allclose(np.exp(x).asnumpy(), numpy.exp(-numpy.ones((2, 3))))


@pytest.mark.parametrize("which", sorted(ITERATORS))
def test_writes_through_the_iterator_of_a_view_reach_its_base(setting, which):
    want = numpy.ones((3, 4))
    base = np.exp(np.zeros((3, 4)))
    views = {"numpy": want[1:, ::2], "imperdl": base[1:, ::2]}
    other = base[0]  # a view made before the iteration sees the writes too
    for name, v in views.items():
        nditer = numpy.nditer if name == "numpy" else ITERATORS[which]()
        for k, e in enumerate(nditer(v, op_flags=["readwrite"])):
            e[...] = 10.0 + k
    numpy.testing.assert_array_equal(base.asnumpy(), want)
    numpy.testing.assert_array_equal(views["imperdl"].asnumpy(), views["numpy"])
    for e in ITERATORS[which]()(base[0], op_flags=["readwrite"]):
        e[...] = 7.0
    numpy.testing.assert_array_equal(other.asnumpy(), numpy.full(4, 7.0))
    numpy.testing.assert_array_equal(np.sum(base, axis=1).asnumpy(), [28.0] + list(want[1:].sum(axis=1)))


def test_a_tape_keeps_what_it_saw_when_numpy_writes_the_memory_later(setting):
    from imperdl.core import make_vjp

    x = np.exp(np.zeros(3))
    buf = numpy.asarray(x)  # NumPy holds x's memory from now on
    c = np.array([1.0, 2.0, 3.0])
    vjp, _ = make_vjp(lambda c: np.sum(c * x))(c)
    buf[...] = 100.0  # after the tape recorded x
    numpy.testing.assert_allclose(vjp().asnumpy(), numpy.ones(3))
    numpy.testing.assert_allclose(x.asnumpy(), numpy.full(3, 100.0))


@pytest.mark.filterwarnings("ignore:Setting the shape on a NumPy array:DeprecationWarning")  # NumPy 2.5, both sides
def test_shape_assignment_keeps_the_memory_numpy_holds(setting):
    """``a.shape = s`` on an array NumPy holds, and on a view, keeps aliasing the same memory, as in NumPy."""
    results = []
    for mod in (numpy, np):
        a = mod.arange(6.0) * 1.0
        numpy.asarray(a)
        a.shape = (2, 3)
        numpy.asarray(a)[1, 1] = 40.0
        b = mod.arange(12.0) * 1.0
        v = b[2:8]
        v.shape = (2, 3)
        v[1, 1] = -1.0
        results.append((numpy.array(a), numpy.array(b), numpy.array(v)))
    for want, got in zip(*results):
        numpy.testing.assert_array_equal(got, want)
