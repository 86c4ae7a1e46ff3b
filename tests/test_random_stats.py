"""Random samplers on MXNet draw from the distribution NumPy would: sample moments against the requested
parameters (large samples, fixed seeds, tolerances of several standard errors), float64/int64 results,
reproducibility under ``imperdl.numpy.random.seed``, and the seed document's ``gaussian_cluster_generator``
(MinPy crashed on its array-valued ``np.random.normal``) running with the normal call on MXNet.
"""
from __future__ import annotations

import math

import numpy as onp
import pytest
from test_seeds import gaussian_cluster_generator  # seed 000's generator, shared with the seed tests

import imperdl
import imperdl.numpy as np

pytestmark = pytest.mark.mxnet  # (this module measures or checks what runs on MXNet)

N = 200_000


@pytest.fixture(autouse=True)
def prefer_mxnet():
    imperdl.set_global_policy("prefer_mxnet")
    np.random.seed(1234)


def _on_mxnet(name: str) -> int:
    return imperdl.statistics()["ops"].get(name, {}).get("mxnet", 0)


def _draw(name, *args, **kwargs):
    """Call ``imperdl.numpy.random.<name>`` and check it ran on MXNet; return the sample as a NumPy array."""
    before = _on_mxnet("random." + name)
    out = getattr(np.random, name)(*args, **kwargs)
    assert _on_mxnet("random." + name) == before + 1, f"random.{name} did not run on MXNet"
    return out.asnumpy()


# name, args, kwargs, expected mean, expected std
MOMENTS = [
    ("normal", (1.5, 2.0), {}, 1.5, 2.0),
    ("uniform", (-1.0, 3.0), {}, 1.0, 4 / math.sqrt(12)),
    ("standard_normal", (), {}, 0.0, 1.0),
    ("random_sample", (), {}, 0.5, 1 / math.sqrt(12)),
    ("lognormal", (0.0, 0.5), {}, math.exp(0.125), math.sqrt((math.exp(0.25) - 1) * math.exp(0.25))),
    ("exponential", (2.0,), {}, 2.0, 2.0),
    ("standard_exponential", (), {}, 1.0, 1.0),
    ("gamma", (3.0, 2.0), {}, 6.0, math.sqrt(3.0) * 2.0),
    ("standard_gamma", (0.5,), {}, 0.5, math.sqrt(0.5)),
    ("beta", (2.0, 5.0), {}, 2 / 7, math.sqrt(10 / (49 * 8))),
    ("chisquare", (4.0,), {}, 4.0, math.sqrt(8.0)),
    ("gumbel", (1.0, 2.0), {}, 1.0 + 2.0 * 0.5772156649, 2.0 * math.pi / math.sqrt(6)),
    ("logistic", (1.0, 2.0), {}, 1.0, 2.0 * math.pi / math.sqrt(3)),
    ("laplace", (1.0, 2.0), {}, 1.0, 2.0 * math.sqrt(2)),
    ("rayleigh", (2.0,), {}, 2.0 * math.sqrt(math.pi / 2), 2.0 * math.sqrt((4 - math.pi) / 2)),
    ("weibull", (2.0,), {}, math.gamma(1.5), math.sqrt(math.gamma(2.0) - math.gamma(1.5) ** 2)),
    ("pareto", (5.0,), {}, 1 / 4, math.sqrt(5 / (16 * 3))),
    ("power", (3.0,), {}, 3 / 4, math.sqrt(3 / (16 * 5))),
]


@pytest.mark.parametrize("name,args,kwargs,mean,std", MOMENTS, ids=[m[0] for m in MOMENTS])
def test_moments(name, args, kwargs, mean, std):
    x = _draw(name, *args, size=N, **kwargs)
    assert x.dtype == onp.float64 and x.shape == (N,)
    assert abs(x.mean() - mean) < 6 * std / math.sqrt(N), (x.mean(), mean)
    assert abs(x.std() / std - 1) < 0.02, (x.std(), std)


def test_array_parameters_broadcast_per_column():
    mu = onp.linspace(-3, 3, 50)
    sigma = onp.linspace(0.1, 2, 50)
    x = _draw("normal", np.array(mu), np.array(sigma), (4000, 50))
    assert x.dtype == onp.float64 and x.shape == (4000, 50)
    onp.testing.assert_allclose(x.mean(0), mu, atol=6 * 2 / math.sqrt(4000))
    onp.testing.assert_allclose(x.std(0) / sigma, 1, atol=0.08)
    g = _draw("gamma", np.array(onp.array([0.0, 1.0, 4.0])), 2.0, (20000, 3))
    assert (g[:, 0] == 0).all()  # shape 0 draws 0, as in NumPy
    onp.testing.assert_allclose(g[:, 1:].mean(0), [2.0, 8.0], rtol=0.05)


def test_float32_parameters_give_float64_samples():
    x = np.random.normal(np.array(onp.zeros(3, onp.float32)), 1.0)
    assert x.dtype == onp.float64 and x.shape == (3,)
    assert np.random.uniform(np.array(onp.zeros((2, 1), onp.int32)), 1.0, (2, 2)).dtype == onp.float64


def test_rand_randn_randint():
    u = _draw("rand", 300, 400)
    assert u.dtype == onp.float64 and u.shape == (300, 400) and 0 <= u.min() and u.max() < 1
    z = _draw("randn", N)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    k = _draw("randint", -3, 4, size=N)
    assert k.dtype == onp.int64  # NumPy's default, not MXNet's int32
    assert k.min() == -3 and k.max() == 3
    counts = onp.bincount(k + 3) / N
    onp.testing.assert_allclose(counts, 1 / 7, atol=0.01)
    assert _draw("randint", 5, size=10, dtype="int32").dtype == onp.int32


def test_choice():
    p = onp.array([0.1, 0.0, 0.2, 0.7])
    c = _draw("choice", 4, N, p=np.array(p))
    assert c.dtype == onp.int64
    onp.testing.assert_allclose(onp.bincount(c, minlength=4) / N, p, atol=0.01)
    perm = _draw("choice", 10, 10, replace=False)
    assert sorted(perm.tolist()) == list(range(10))
    grid = _draw("choice", 12, (3, 4), replace=False)
    assert grid.shape == (3, 4) and len(set(grid.ravel().tolist())) == 12
    vals = _draw("choice", np.array(onp.array([1.5, 2.5, 3.5])), (1000,))
    assert vals.dtype == onp.float64 and set(vals.tolist()) <= {1.5, 2.5, 3.5}


@pytest.mark.parametrize("call,exc", [
    (lambda: np.random.randint(5, 5, size=3), ValueError),  # MXNet itself dies with SIGFPE here
    (lambda: np.random.choice(0, 3), ValueError),  # likewise
    (lambda: np.random.choice(-1, 3), ValueError),  # MXNet returns zeros
    (lambda: np.random.choice(3, 2, p=np.array(onp.array([0.5, 0.5]))), ValueError),  # MXNet ignores the length
    (lambda: np.random.choice(2, 2, p=np.array(onp.array([0.5, 0.6]))), ValueError),
    (lambda: np.random.choice(3, 4, replace=False), ValueError),
    (lambda: np.random.normal(np.array(onp.zeros((2, 3))), 1.0, (3,)), ValueError),  # MXNet returns shape (3,)
    (lambda: np.random.normal(0.0, -1.0, 3), ValueError),
    (lambda: np.random.exponential(-0.0, 3), ValueError),  # NumPy's signbit rule
    (lambda: np.random.beta(0.0, 1.0, 3), ValueError),
    (lambda: np.random.uniform(0.0, onp.inf, 3), OverflowError),
])
def test_numpy_errors(call, exc):
    with pytest.raises(exc):
        call()


def test_seed_makes_mxnet_sampling_reproducible():
    def draws():
        return [np.random.normal(np.array(onp.zeros(5)), 1.0, (2, 5)).asnumpy(),
                np.random.randint(0, 100, size=8).asnumpy(), np.random.gamma(2.0, 1.0, 6).asnumpy()]

    np.random.seed(7)
    first = draws()
    np.random.seed(7)
    second = draws()
    np.random.seed(8)
    third = draws()
    for a, b in zip(first, second):
        onp.testing.assert_array_equal(a, b)
    assert not onp.array_equal(first[0], third[0])


def test_scalar_calls_stay_numpy_scalars():
    """size=None with scalar parameters: NumPy's Python float, so the call stays on NumPy."""
    assert type(np.random.normal()) is float
    assert type(np.random.randint(5)) is int


def test_seed_000_gaussian_cluster_generator():
    x, y, mu = gaussian_cluster_generator(10000, 500, 5)
    assert _on_mxnet("random.normal") == 5  # every class's draw ran on MXNet
    assert imperdl.statistics()["ops"]["random.normal"].get("fallback", 0) == 0
    x, y, mu = x.asnumpy(), y.asnumpy(), mu.asnumpy()
    assert x.shape == (10000, 500) and x.dtype == onp.float64 and y.shape == (10000, 5)
    for i in range(5):
        block = x[i * 2000:(i + 1) * 2000]
        onp.testing.assert_allclose(block.mean(0), mu[i], atol=6 * 0.1 / math.sqrt(2000))
        assert abs((block - mu[i]).std() - 0.1) < 0.005
        assert (y[i * 2000:(i + 1) * 2000, i] == 1).all()
    assert y.sum() == 10000
