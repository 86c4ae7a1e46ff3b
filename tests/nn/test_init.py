"""imperdl.nn.init: shapes, dtypes, the distributions' parameters (checked statistically on large draws),
fan conventions, repeatability under np.random.seed, and config errors; under both policies."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core.array import Array
from imperdl.nn import init


@pytest.fixture(autouse=True, params=["prefer_mxnet", "only_numpy"])
def policy(request):
    imperdl.set_global_policy(request.param)
    return request.param


def host(a):
    assert type(a) is Array, type(a)
    return a.asnumpy()


@pytest.mark.parametrize("shape, expected", [
    (7, (7, 7)),
    ((7,), (7, 7)),
    ((20, 30), (20, 30)),
    ((8, 3, 5, 5), (75, 200)),
    ((4, 2, 3), (6, 12)),
])
def test_fans(shape, expected):
    assert init.fans(shape) == expected


def test_xavier_is_glorot_uniform():
    np.random.seed(0)
    w = host(init.xavier((200, 300)))
    limit = onp.sqrt(6 / 500)
    assert w.shape == (200, 300) and w.dtype == onp.float32
    assert w.min() >= -limit and w.max() <= limit
    assert w.max() > 0.99 * limit and w.min() < -0.99 * limit
    onp.testing.assert_allclose(w.std(), limit / onp.sqrt(3), rtol=0.02)
    assert abs(w.mean()) < 0.01 * limit


def test_xavier_conv_fans():
    np.random.seed(0)
    w = host(init.xavier((16, 8, 3, 3)))
    limit = onp.sqrt(6 / (8 * 9 + 16 * 9))
    assert onp.abs(w).max() <= limit and onp.abs(w).max() > 0.95 * limit


@pytest.mark.parametrize("name", ["kaiming", "he"])
def test_kaiming_is_he_normal(name):
    np.random.seed(1)
    w = host(init.get(name)((400, 100)))
    onp.testing.assert_allclose(w.std(), onp.sqrt(2 / 400), rtol=0.02)
    assert abs(w.mean()) < 0.01 * onp.sqrt(2 / 400) * 3
    w = host(init.kaiming((10, 6, 2, 2), {"dtype": "float64"}))
    assert w.dtype == onp.float64 and w.shape == (10, 6, 2, 2)


def test_gaussian():
    np.random.seed(2)
    w = host(init.gaussian((300, 300)))
    onp.testing.assert_allclose(w.std(), 0.001, rtol=0.02)
    w = host(init.gaussian((300, 300), {"stdvar": 2.0, "mu": 5.0, "dtype": onp.float64}))
    assert w.dtype == onp.float64
    onp.testing.assert_allclose([w.mean(), w.std()], [5.0, 2.0], rtol=0.01)


def test_uniform():
    np.random.seed(3)
    w = host(init.uniform((100, 100)))
    assert -0.1 <= w.min() and w.max() <= 0.1 and w.max() > 0.099
    w = host(init.uniform((100, 100), {"range": (2, 3)}))
    assert 2 <= w.min() and w.max() <= 3
    onp.testing.assert_allclose(w.mean(), 2.5, rtol=0.01)
    with pytest.raises(ValueError, match="'range' must be a \\(low, high\\) pair"):
        init.uniform((2,), {"range": 0.1})


def test_constant():
    w = host(init.constant((2, 3)))
    onp.testing.assert_array_equal(w, onp.zeros((2, 3), onp.float32))
    assert w.dtype == onp.float32
    w = host(init.constant(4, {"value": 1.5, "dtype": "float64"}))
    onp.testing.assert_array_equal(w, onp.full(4, 1.5))
    assert w.dtype == onp.float64


def test_custom():
    w = host(init.custom((2, 3), {"function": lambda shape: onp.arange(6.0).reshape(shape)}))
    onp.testing.assert_array_equal(w, onp.arange(6.0).reshape(2, 3))
    assert w.dtype == onp.float32
    with pytest.raises(ValueError, match=r"the function returned shape \(6,\), expected \(2, 3\)"):
        init.custom((2, 3), {"function": lambda shape: onp.zeros(6)})
    with pytest.raises(ValueError, match="config 'function' must be a callable"):
        init.custom((2, 3))


@pytest.mark.parametrize("name", ["xavier", "kaiming", "gaussian", "uniform"])
def test_random_rules_repeat_under_np_random_seed(name):
    rule = init.get(name)
    np.random.seed(42)
    a = host(rule((5, 4), {}))
    b = host(rule((5, 4), {}))
    np.random.seed(42)
    c = host(rule((5, 4), {}))
    onp.testing.assert_array_equal(a, c)
    assert not onp.array_equal(a, b)


def test_config_none_and_dtype():
    for name in ("xavier", "kaiming", "gaussian", "uniform", "constant"):
        assert host(init.get(name)((3, 2), None)).dtype == onp.float32
        assert host(init.get(name)((3, 2), {"dtype": onp.float64})).dtype == onp.float64


def test_unknown_config_keys_are_named():
    with pytest.raises(ValueError, match=r"init rule 'gaussian': unknown config key\(s\) \['std'\]"):
        init.gaussian((2, 2), {"std": 0.1})
    with pytest.raises(ValueError, match=r"init rule 'xavier': unknown config key\(s\) \['gain', 'mu'\]"):
        init.xavier((2, 2), {"mu": 0, "gain": 2})


def test_get():
    assert init.get("xavier") is init.xavier
    assert init.get("he") is init.kaiming
    assert init.get(init.constant) is init.constant
    with pytest.raises(ValueError, match=r"unknown init rule 'glorot'; known rules: \['constant', 'custom'"):
        init.get("glorot")
