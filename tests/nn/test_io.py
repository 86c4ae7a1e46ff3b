"""NDArrayIter: MXNet's batching semantics for the three last_batch_handle modes, shuffling, state, errors."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl.numpy as np
from imperdl.core import Array
from imperdl.nn import DataBatch, NDArrayIter
from imperdl.nn.io import DataDesc

X = onp.arange(20, dtype=onp.float32).reshape(10, 2)
Y = onp.arange(10, dtype=onp.int64)


def epoch(it) -> list:
    """One epoch's batches as (labels, pad), after reset()."""
    it.reset()
    return [(b.label[0].tolist(), b.pad) for b in it]


def test_pad_wraps_to_the_start_and_counts_the_padding():
    it = NDArrayIter(X, Y, batch_size=4, last_batch_handle="pad")
    for _ in range(2):  # every epoch the same
        assert epoch(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0), ([8, 9, 0, 1], 2)]
    assert it.getnumiterations() == 3 and type(it.getnumiterations()) is int


def test_pad_with_fewer_samples_than_a_batch():
    it = NDArrayIter(X[:3], Y[:3], batch_size=8)
    assert epoch(it) == [([0, 1, 2, 0, 1, 2, 0, 1], 5)]


def test_discard_drops_the_incomplete_batch():
    it = NDArrayIter(X, Y, batch_size=4, last_batch_handle="discard")
    assert epoch(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]
    assert epoch(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]
    assert it.getnumiterations() == 2


def test_roll_over_carries_the_remainder_into_the_next_epoch():
    it = NDArrayIter(X, Y, batch_size=4, last_batch_handle="roll_over")
    assert it.getnumiterations() == 2
    assert epoch(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]
    it.reset()
    assert it.getnumiterations() == 3  # 2 carried + 10 new samples
    assert [b.label[0].tolist() for b in it] == [[8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]
    assert epoch(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]  # nothing left over after 12 = 3 * 4


def test_roll_over_reset_in_the_middle_of_an_epoch_carries_nothing():
    it = NDArrayIter(X, Y, batch_size=4, last_batch_handle="roll_over")
    it.reset()
    next(it)
    it.reset()
    assert [b.label[0].tolist() for b in it][0] == [0, 1, 2, 3]


def test_iteration_does_not_rewind_by_itself_like_mxnet():
    it = NDArrayIter(X, Y, batch_size=5)
    assert len(list(it)) == 2
    assert list(it) == []
    with pytest.raises(StopIteration):
        it.next()
    it.reset()
    assert it.iter_next() and len(list(it)) == 2


def test_batches_are_arrays_with_data_and_label_together():
    it = NDArrayIter(X, Y, batch_size=3, shuffle=True, seed=0)
    for b in it:
        assert isinstance(b, DataBatch)
        assert type(b.data[0]) is Array and type(b.label[0]) is Array
        assert b.data[0].dtype == onp.float32 and b.label[0].dtype == onp.int64
        onp.testing.assert_array_equal(b.data[0].asnumpy(), X[b.label[0].asnumpy()])
        onp.testing.assert_array_equal(b.index, b.label[0].asnumpy())


def test_shuffle_draws_a_new_permutation_each_epoch_and_is_seeded():
    a = NDArrayIter(X, Y, batch_size=10, shuffle=True, seed=3)
    b = NDArrayIter(X, Y, batch_size=10, shuffle=True, seed=3)
    orders = []
    for _ in range(3):
        la, lb = epoch(a), epoch(b)
        assert la == lb
        assert sorted(la[0][0]) == list(range(10))
        orders.append(la[0][0])
    assert orders[0] != orders[1] or orders[1] != orders[2]


def test_shuffle_without_seed_follows_numpy_global_seed():
    onp.random.seed(7)
    a = epoch(NDArrayIter(X, Y, batch_size=10, shuffle=True))
    np.random.seed(7)
    b = epoch(NDArrayIter(X, Y, batch_size=10, shuffle=True))
    assert a == b


def test_dict_list_and_imperdl_inputs():
    it = NDArrayIter({"data": Array(X)}, {"label": Y}, batch_size=4)
    assert it.provide_data == [("data", (4, 2))] and it.provide_label == [("label", (4,))]
    assert isinstance(it.provide_data[0], DataDesc)
    b = next(it)
    onp.testing.assert_array_equal(b.data[0].asnumpy(), X[:4])
    two = NDArrayIter([X, X * 2], Y, batch_size=4)
    assert [d.name for d in two.provide_data] == ["_0_data", "_1_data"]
    b = next(two)
    onp.testing.assert_array_equal(b.data[1].asnumpy(), 2 * X[:4])
    assert NDArrayIter(X, Y).provide_label == [("softmax_label", (1,))]


def test_no_label():
    it = NDArrayIter(X, batch_size=4)
    assert it.provide_label == []
    b = next(it)
    assert b.label == [] and b.data[0].shape == (4, 2)


@pytest.mark.parametrize("kwargs, match", [
    ({"last_batch_handle": "keep"}, "last_batch_handle must be one of"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"batch_size": -2}, "batch_size must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NDArrayIter(X, Y, **kwargs)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match=r"same number of samples.*'data': 10.*'softmax_label': 9"):
        NDArrayIter(X, Y[:9])
    with pytest.raises(ValueError, match="no samples"):
        NDArrayIter(X[:0], Y[:0])


@pytest.mark.parametrize("handle", ["pad", "discard", "roll_over"])
def test_state_round_trip_resumes_mid_epoch(handle):
    it = NDArrayIter(X, Y, batch_size=3, shuffle=True, seed=1, last_batch_handle=handle)
    epoch(it)
    it.reset()
    next(it)
    state = it.get_state()
    rest = [b.label[0].tolist() for b in it] + epoch(it)
    other = NDArrayIter(X, Y, batch_size=3, shuffle=True, seed=99, last_batch_handle=handle)
    other.set_state(state)
    assert [b.label[0].tolist() for b in other] + epoch(other) == rest
    with pytest.raises(ValueError, match="state is for 10 samples"):
        NDArrayIter(X[:5], Y[:5], batch_size=3).set_state(state)
