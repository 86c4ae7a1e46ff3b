"""imperdl.misc.flatten against autograd.misc.flatten on the same pytrees: same vector, same rebuilt tree."""
from __future__ import annotations

import numpy as onp
import pytest
from autograd.misc import flatten as ag_flatten

import imperdl.numpy as np
from imperdl.core import Array, grad
from imperdl.misc import flatten, flatten_func
from imperdl.misc.flatten import flatten as flatten_from_module


def _trees():
    rng = onp.random.RandomState(0)
    yield rng.randn(3, 4)
    yield 2.5
    yield ()
    yield []
    yield [rng.randn(2), (rng.randn(1, 3), 4.0)]
    yield {"w": rng.randn(3, 2), "b": rng.randn(2), "a": [rng.randn(2, 2), {"z": 1.5, "c": rng.randn(4)}]}
    yield (rng.randn(2).astype(onp.float32), rng.randn(3))
    yield {"layers": [{"W": rng.randn(4, 3), "b": onp.zeros(3)}, {"W": rng.randn(3, 1), "b": onp.zeros(1)}],
           "log_sigma": onp.float64(-1.0)}


def _same_tree(ours, theirs):
    assert type(ours) is type(theirs) or (type(ours) is Array and isinstance(theirs, onp.ndarray))
    if isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same_tree(a, b)
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs)  # the dict's own key order, as autograd rebuilds it
        for k in theirs:
            _same_tree(ours[k], theirs[k])
    else:
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        onp.testing.assert_array_equal(ours.asnumpy(), theirs)


def _to_imperdl(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_to_imperdl(e) for e in tree)
    if isinstance(tree, dict):
        return {k: _to_imperdl(v) for k, v in tree.items()}
    return np.array(tree) if isinstance(tree, onp.ndarray) else tree


@pytest.mark.filterwarnings("ignore:Output seems independent of input:UserWarning")
@pytest.mark.parametrize("tree", list(_trees()), ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("as_imperdl", [False, True], ids=["numpy-leaves", "imperdl-leaves"])
def test_flatten_round_trip_matches_autograd(tree, as_imperdl):
    vec, unflatten = flatten(_to_imperdl(tree) if as_imperdl else tree)
    ag_vec, ag_unflatten = ag_flatten(tree)
    assert type(vec) is Array and vec.shape == ag_vec.shape and vec.dtype == ag_vec.dtype
    onp.testing.assert_array_equal(vec.asnumpy(), ag_vec)
    moved = ag_vec * 3.0 - 1.0
    _same_tree(unflatten(np.array(moved)), ag_unflatten(moved))


def test_module_path_is_autograds():
    assert flatten_from_module is flatten


def test_unflatten_rejects_a_vector_of_the_wrong_size():
    _, unflatten = flatten({"a": onp.ones(3), "b": onp.ones((2, 2))})
    with pytest.raises(ValueError, match=r"expected a vector of shape \(7,\), got \(6,\)"):
        unflatten(np.ones(6))


def test_gradients_flow_through_flatten_and_unflatten():
    rng = onp.random.RandomState(1)
    params = {"W": rng.randn(3, 2), "b": rng.randn(2)}
    x = rng.randn(5, 3)
    flat, unflatten = flatten(params)

    def loss_flat(v):
        p = unflatten(v)
        return np.sum(np.tanh(np.dot(x, p["W"]) + p["b"]) ** 2)

    def loss_tree(p):
        return loss_flat(flatten(p)[0])

    g_flat = grad(loss_flat)(flat)
    g_tree = grad(loss_tree)(params)
    onp.testing.assert_allclose(g_flat.asnumpy(), flatten(g_tree)[0].asnumpy(), rtol=1e-13)
    # finite differences on the flat vector, float64
    base = flat.asnumpy()
    eps = 1e-6
    for i in range(base.size):
        e = onp.zeros_like(base)
        e[i] = eps
        fd = (float(loss_flat(np.array(base + e))) - float(loss_flat(np.array(base - e)))) / (2 * eps)
        assert abs(fd - float(g_flat[i])) < 1e-7 * max(1.0, abs(fd))


def test_flatten_func_matches_autograd():
    from autograd.misc.flatten import flatten_func as ag_flatten_func

    example = {"a": onp.arange(3.0), "b": [onp.ones((2, 2))]}

    def fn(p, k):
        return {"out": p["a"] * k, "s": [p["b"][0] + k]}

    f, unflatten, x0 = flatten_func(fn, example)
    ag_f, ag_unflatten, ag_x0 = ag_flatten_func(fn, example)
    onp.testing.assert_array_equal(x0.asnumpy(), ag_x0)
    onp.testing.assert_array_equal(f(x0, 2.0).asnumpy(), ag_f(ag_x0, 2.0))
