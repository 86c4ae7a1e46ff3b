"""NumPy's scalar semantics: where NumPy returns a scalar (a full reduction, a full integer index, a ufunc of
scalars), ``n += v`` rebinds ``n`` and leaves other references alone; 0-d arrays and 0-d views still update in place.

A convnet computed its flattened size with ``n = np.prod(shape)`` and then ``n += ...`` changed every reference to
the shared 0-d result. Each case runs under every policy and is compared with real NumPy doing the same."""
from __future__ import annotations

import numpy
import pytest

import imperdl
import imperdl.numpy as np

POLICIES = ["only_numpy", "prefer_mxnet"]


@pytest.fixture(params=POLICIES)
def policy(request):
    old = imperdl.get_global_policy()
    imperdl.set_global_policy(request.param)
    yield request.param
    imperdl.set_global_policy(old)


def _alias_then_add(mod, make, v):
    """``n = make(mod); m = n; n += v`` -> (n, m) as host values."""
    n = make(mod)
    m = n
    n += v
    return numpy.asarray(n), numpy.asarray(m)


SCALAR_CASES = {
    "prod of a shape": (lambda mod: mod.prod((2, 3, 4)), 1),
    "prod of a shape, float step": (lambda mod: mod.prod((2, 3)), 0.5),
    "sum": (lambda mod: mod.sum(mod.arange(6.0).reshape(2, 3)), 1.0),
    "sum method": (lambda mod: mod.arange(6.0).reshape(2, 3).sum(), 2.0),
    "mean": (lambda mod: mod.mean(mod.arange(6.0)), 1.0),
    "max": (lambda mod: mod.max(mod.arange(6.0)), 1.0),
    "full integer index": (lambda mod: mod.arange(6.0).reshape(2, 3)[1, 2], 1.0),
    "integer index of a 1-d array": (lambda mod: mod.arange(4)[2], 3),
    "dot of vectors": (lambda mod: mod.dot(mod.arange(3.0), mod.arange(3.0)), 1.0),
    "ufunc of a scalar": (lambda mod: mod.exp(mod.sum(mod.arange(3.0))), 1.0),
}


@pytest.mark.parametrize("case", sorted(SCALAR_CASES))
def test_inplace_on_a_scalar_result_rebinds(policy, case):
    make, v = SCALAR_CASES[case]
    want_n, want_m = _alias_then_add(numpy, make, v)
    got_n, got_m = _alias_then_add(np, make, v)
    for got, want in ((got_n, want_n), (got_m, want_m)):
        assert got.dtype == want.dtype and got.shape == want.shape
        numpy.testing.assert_allclose(got, want)


def test_scalar_result_keeps_rebinding_in_a_loop(policy):
    a = np.arange(12.0).reshape(3, 4)
    first = a[0, 1]
    n = first
    for _ in range(3):
        n += 1.0
    assert float(first) == 1.0 and float(n) == 4.0
    assert float(a[0, 1]) == 1.0  # the source array is untouched


def test_scalar_loss_from_grad_and_loss_rebinds(policy):
    from imperdl.core import grad_and_loss

    _, loss = grad_and_loss(lambda w: np.sum(w * w))(np.ones(3))
    kept = loss
    loss += 1.0
    assert float(kept) == 3.0 and float(loss) == 4.0


ARRAY_CASES = {
    "np.array(5.0)": lambda mod: mod.array(5.0),
    "np.zeros(())": lambda mod: mod.zeros(()),
    "copy of a 0-d array": lambda mod: mod.copy(mod.array(2.0)),
    "reshape to ()": lambda mod: mod.arange(1.0).reshape(()),
}


@pytest.mark.parametrize("case", sorted(ARRAY_CASES))
def test_inplace_on_a_0d_array_updates_every_reference(policy, case):
    make = ARRAY_CASES[case]
    want_n, want_m = _alias_then_add(numpy, make, 1.0)
    got_n, got_m = _alias_then_add(np, make, 1.0)
    numpy.testing.assert_allclose(got_n, want_n)
    numpy.testing.assert_allclose(got_m, want_m)  # the alias saw the update, as with NumPy's 0-d ndarray


def test_inplace_on_a_0d_view_writes_its_base(policy):
    want = numpy.arange(6.0).reshape(2, 3)
    got = np.arange(6.0).reshape(2, 3)
    for a in (want, got):
        v = a[1, 2, ...]
        v += 10.0
    numpy.testing.assert_array_equal(numpy.asarray(got), want)
