"""User errors: NumPy's exception type, a message naming the operator and the shapes, never MXNet's C++ text.

Each case runs under only_numpy, under prefer_mxnet with the shipped MXNet implementations, and under
prefer_mxnet with MXNet's own function forced to take the call (so MXNet really raises first).
"""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np

CASES = {
    "add": (lambda m: m.add(m.ones((2, 3)), m.ones((4,))), [(2, 3), (4,)]),
    "dot": (lambda m: m.dot(m.ones((2, 3)), m.ones((4,))), [(2, 3), (4,)]),
    "concatenate": (lambda m: m.concatenate([m.ones((2, 3)), m.ones((2, 4))]), [(2, 3), (2, 4)]),
    "reshape": (lambda m: m.reshape(m.ones((2, 3)), (4, 2)), [(2, 3)]),
    "bitwise_and": (lambda m: m.bitwise_and(m.ones(3), m.ones(3)), [(3,)]),
    "exp": (lambda m: m.exp("abc"), []),
    "sum": (lambda m: m.sum(m.ones((2, 3)), axis=5), [(2, 3)]),
}


def _shape_mentioned(shape, msg: str) -> bool:
    compact = msg.replace(" ", "")
    return f"({','.join(map(str, shape))}" in compact or f"[{','.join(map(str, shape))}]" in compact


@pytest.fixture(params=["only_numpy", "prefer_mxnet", "mxnet_first"])
def mode(request, fake_mxnet, mx):
    if request.param == "only_numpy":
        imperdl.set_global_policy("only_numpy")
    elif request.param == "mxnet_first":
        for name in CASES:
            fake_mxnet(name, getattr(mx, name))
    return request.param


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_matches_numpy(name, mode, no_mxnet_text):
    call, shapes = CASES[name]
    with pytest.raises(Exception) as theirs:
        call(onp)
    with pytest.raises(Exception) as ours:
        call(np)
    assert isinstance(ours.value, type(theirs.value)), (type(ours.value), type(theirs.value))
    msg = str(ours.value)
    assert name in msg
    for shape in shapes:
        assert _shape_mentioned(shape, msg), (shape, msg)
    assert str(theirs.value).strip() in msg  # NumPy's own explanation is kept
    no_mxnet_text(msg)


def test_operator_spelling_errors():
    a, b = np.ones((2, 3)), np.ones((4,))
    with pytest.raises(ValueError, match="add"):
        a + b
    with pytest.raises(ValueError, match="matmul"):
        a @ b
    with pytest.raises(TypeError):
        np.ones(3) & np.ones(3)
    with pytest.raises(TypeError):
        np.ones(3) << 1
    with pytest.raises(getattr(onp, "exceptions", onp).AxisError):  # (numpy.exceptions: NumPy >= 1.25)
        np.ones((2, 3)).sum(axis=2)
    with pytest.raises(ValueError):
        a.reshape(5)


def test_axis_error_is_also_index_and_value_error():
    with pytest.raises(IndexError):
        np.sum(np.ones(3), axis=1)
    with pytest.raises(ValueError):
        np.sum(np.ones(3), axis=1)


def test_index_errors_match_numpy():
    a = np.ones((2, 3))
    with pytest.raises(IndexError):
        a[5]
    with pytest.raises(IndexError):
        a[0, 0, 0]
    with pytest.raises(IndexError):
        a[5] = 1.0


def test_errors_are_not_remembered_as_fallbacks(fake_mxnet, mx):
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    fake_mxnet("add", mx.add)
    a, b = np.ones((2, 3)), np.ones((4,))
    with pytest.raises(ValueError):
        a + b
    assert imperdl.statistics()["ops"].get("add", {}).get("fallback", 0) == 0
    r = a + np.ones((3,))
    assert r.backends == ("mxnet",)
