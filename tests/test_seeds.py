"""The seed documents as tests: each snippet they show must work here (``minpy`` read as ``imperdl``,
CuPy's fallback ``numpy`` read as ``imperdl.numpy``), including the parts they describe as broken.
"""
from __future__ import annotations

import logging

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Array

# ------------------------------------------------------------------------------------ seed 000 (MinPy tutorial)


def _copy_logs(caplog, direction):
    return [r for r in caplog.records if r.name == "imperdl.array" and r.getMessage().startswith(direction)]


def test_seed000_logging_story_as_written(caplog):
    logging.getLogger("imperdl.array").setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="imperdl.array"):
            x = np.zeros((10, 20))
            y = np.cosh(x)
            z = np.log(y)
            copies = imperdl.statistics()["copies"]
    finally:
        logging.getLogger("imperdl.array").setLevel(logging.WARN)
    onp.testing.assert_array_equal(z.asnumpy(), onp.zeros((10, 20)))
    assert z.dtype == onp.float64
    # every logged copy is a counted copy, and the other way round
    assert len(_copy_logs(caplog, "Copy from MXNet array to NumPy array")) == copies.get("mxnet->numpy", {}).get(
        "count", 0)
    assert len(_copy_logs(caplog, "Copy from NumPy array to MXNet array")) == copies.get("numpy->mxnet", {}).get(
        "count", 0)


def test_seed000_logging_story_with_cosh_missing(caplog, fake_mxnet, mx):
    """The tutorial's situation: zeros and log on MXNet, cosh only on NumPy -> one copy each way, logged."""
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    fake_mxnet("cosh", None)
    from imperdl.core.registry import primitive

    for name, impl in (("zeros", lambda shape: mx.zeros(shape, dtype="float64",
                                                        ctx=imperdl.current_context().as_mxnet())),
                       ("log", mx.log)):
        if primitive(name).impls[1] is None:  # until the shipped tables have it, stand in for them
            fake_mxnet(name, impl)
    with caplog.at_level(logging.DEBUG, logger="imperdl.array"):
        x = np.zeros((10, 20))
        assert x.backends == ("mxnet",)
        y = np.cosh(x)
        z = np.log(y)
    down = _copy_logs(caplog, "Copy from MXNet array to NumPy array")
    up = _copy_logs(caplog, "Copy from NumPy array to MXNet array")
    assert len(down) == 1 and len(up) == 1
    assert "(10, 20)" in down[0].getMessage()
    assert caplog.records.index(down[0]) < caplog.records.index(up[0])
    assert z.backends == ("mxnet",) and z.dtype == onp.float64
    onp.testing.assert_array_equal(z.asnumpy(), onp.zeros((10, 20)))


def gaussian_cluster_generator(num_samples=10000, num_features=500, num_classes=5):
    """Seed 000's generator with Python 3 integer division (the seed is Python 2)."""
    mu = np.random.rand(num_classes, num_features)
    sigma = np.ones((num_classes, num_features)) * 0.1
    num_cls_samples = num_samples // num_classes
    x = np.zeros((num_samples, num_features))
    y = np.zeros((num_samples, num_classes))
    for i in range(num_classes):
        cls_samples = np.random.normal(mu[i, :], sigma[i, :], (num_cls_samples, num_features))
        x[i * num_cls_samples:(i + 1) * num_cls_samples] = cls_samples
        y[i * num_cls_samples:(i + 1) * num_cls_samples, i] = 1
    return x, y, mu


def _check_clusters(x, y, mu, n=500, f=40, c=5):
    assert isinstance(x, Array) and isinstance(y, Array)
    assert x.shape == (n, f) and y.shape == (n, c)
    assert x.dtype == onp.float64 and y.dtype == onp.float64
    hy = y.asnumpy()
    onp.testing.assert_array_equal(hy.sum(axis=1), onp.ones(n))
    onp.testing.assert_array_equal(hy.argmax(axis=1), onp.repeat(onp.arange(c), n // c))
    hx, hmu = x.asnumpy(), mu.asnumpy()
    for i in range(c):
        block = hx[i * (n // c):(i + 1) * (n // c)]
        onp.testing.assert_allclose(block.mean(axis=0), hmu[i], atol=0.05)
        assert 0.08 < (block - hmu[i]).std() < 0.12


def test_seed000_gaussian_clusters_default_policy():
    np.random.seed(0)
    _check_clusters(*gaussian_cluster_generator(500, 40, 5))


def test_seed000_gaussian_clusters_auto_blacklist():
    p = imperdl.AutoBlacklistPolicy(gen_rule=True, append_rule=True)
    imperdl.set_global_policy(p)
    np.random.seed(1)
    with p:
        _check_clusters(*gaussian_cluster_generator(500, 40, 5))
    _check_clusters(*gaussian_cluster_generator(500, 40, 5))
    assert imperdl.get_global_policy() is p


def test_seed000_python2_division_fails_like_numpy():
    """With ``/`` the size is a float: NumPy refuses it, so must we (same exception type)."""
    with pytest.raises(TypeError):
        onp.random.normal(onp.zeros(3), onp.ones(3), (100 / 5, 3))
    with pytest.raises(TypeError):
        np.random.normal(np.zeros(3), np.ones(3), (100 / 5, 3))


# ------------------------------------------------------------------------------------ seed 001 (CuPy fallback_mode)


def test_seed001_fallback_mode_session():
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    numpy = np
    o = numpy.ones((3, 4))
    assert isinstance(o, Array) and o.dtype == onp.float64
    onp.testing.assert_array_equal(o.asnumpy(), onp.ones((3, 4)))
    x = numpy.array([1, 2, 3, 4])
    assert type(x) is Array
    r = numpy.argmin(x)
    assert type(r) is Array
    assert r.shape == () and r.dtype == onp.int64 and int(r) == 0
    assert repr(r) == "array(0)"
    x = numpy.array([float("nan"), 2, 3, 4])
    with imperdl.fallback_mode("warn"):
        with pytest.warns(imperdl.FallbackWarning, match="nanargmin"):
            r = numpy.nanargmin(x)
    assert int(r) == 1 and r.dtype == onp.int64
    assert imperdl.statistics()["ops"]["nanargmin"]["fallback"] == 1
    assert numpy.linalg.__name__ == "imperdl.numpy.linalg"
    assert numpy.matrixlib.matrix is onp.matrix
    with pytest.raises(TypeError):
        numpy.linalg()
    with pytest.raises(TypeError):
        numpy.matrixlib()


def test_seed001_scalars_constants():
    assert onp.isnan(np.nan) and np.pi == onp.pi
    assert repr(np.linalg).startswith("<module 'imperdl.numpy.linalg'")


# ------------------------------------------------------------------------------------ seed 002 (MXNet gotchas)


@pytest.fixture
def nd(mx):
    """``mxnet.nd``, in the process state imperdl leaves MXNet in (the snippets must still work there)."""
    np.exp(np.ones(2))  # imperdl has loaded and configured MXNet
    from mxnet import nd

    return nd


def test_seed002_full_like_replacement(nd):
    np_y = onp.full_like(a=onp.arange(6, dtype=int), fill_value=10)
    nd_y = nd.ones(shape=(6,)) * 10
    assert onp.array_equal(np_y, nd_y.asnumpy())


def test_seed002_pad_array_helper(nd):
    def pad_array(data, max_length):
        data_expanded = data.reshape(1, 1, 1, data.shape[0])
        data_padded = nd.pad(data_expanded, mode="constant",
                             pad_width=[0, 0, 0, 0, 0, 0, 0, max_length - data.shape[0]], constant_value=0)
        return data_padded.reshape(max_length)

    r = pad_array(nd.array([1, 2, 3]), max_length=10)
    onp.testing.assert_array_equal(r.asnumpy(), [1, 2, 3, 0, 0, 0, 0, 0, 0, 0])


def test_seed002_loss_buffer_training_loop(nd, capsys):
    import mxnet as mx
    from mxnet import autograd, gluon

    class LossBuffer:
        def __init__(self):
            self._loss = None

        def new_loss(self, loss):
            ret = self._loss
            self._loss = loss
            return ret

        @property
        def loss(self):
            return self._loss

    mx.random.seed(0)
    net = gluon.nn.Dense(10)
    ce = gluon.loss.SoftmaxCELoss()
    net.initialize()
    data = nd.random.uniform(shape=(256, 100))
    label = nd.array(onp.random.RandomState(0).randint(0, 10, (256,)), dtype="int32")
    train_dataset = gluon.data.ArrayDataset(data, label)
    train_data = gluon.data.DataLoader(train_dataset, batch_size=64, shuffle=True, num_workers=0)
    trainer = gluon.Trainer(net.collect_params(), optimizer="sgd")
    loss_buffer = LossBuffer()
    for data, label in train_data:
        with autograd.record():
            out = net(data)
            prev_loss = loss_buffer.new_loss(ce(out, label))
        loss_buffer.loss.backward()
        trainer.step(data.shape[0])
        if prev_loss is not None:
            print(f"Loss: {onp.mean(prev_loss.asnumpy())}")
    lines = capsys.readouterr().out.splitlines()
    losses = [float(ln.split(": ")[1]) for ln in lines if ln.startswith("Loss: ")]
    assert len(losses) == 3
    assert all(onp.isfinite(v) and 1.0 < v < 4.0 for v in losses)


def test_seed002_retold_full_like():
    y = np.full_like(np.arange(6, dtype=int), 10)
    want = onp.full_like(onp.arange(6, dtype=int), 10)
    assert y.dtype == want.dtype
    onp.testing.assert_array_equal(y.asnumpy(), want)
    y = np.full_like(a=np.arange(6, dtype=int), fill_value=10)
    onp.testing.assert_array_equal(y.asnumpy(), want)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 1, 3), (1, 1, 1, 3), (1, 1, 1, 1, 3)])
@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy"])
def test_seed002_retold_pad_any_rank(shape, policy):
    imperdl.set_global_policy(policy)
    data = onp.arange(1.0, 1.0 + onp.prod(shape)).reshape(shape)
    width = [(0, 0)] * (len(shape) - 1) + [(0, 10 - shape[-1])]
    r = np.pad(np.array(data), width, mode="constant", constant_values=0)
    want = onp.pad(data, width, mode="constant", constant_values=0)
    assert r.shape == want.shape and r.dtype == want.dtype
    onp.testing.assert_array_equal(r.asnumpy(), want)
    r1 = np.pad(np.array([1, 2, 3]), (0, 7))
    onp.testing.assert_array_equal(r1.asnumpy(), [1, 2, 3, 0, 0, 0, 0, 0, 0, 0])


# ------------------------------------------------------------------------------------ seed 003 (MinPy blog post)


@pytest.mark.parametrize("policy", ["prefer_mxnet", "only_numpy", "blacklist", "auto_blacklist"])
def test_seed003_logaddexp_fallback(policy, count):
    imperdl.set_global_policy(policy)
    x = np.zeros((2, 3))
    y = np.ones((2, 3))
    z = np.logaddexp(x, y)
    assert isinstance(z, Array) and z.dtype == onp.float64
    onp.testing.assert_allclose(z.asnumpy(), onp.logaddexp(onp.zeros((2, 3)), onp.ones((2, 3))))
    kind = "numpy" if policy == "only_numpy" else "fallback"
    assert count("logaddexp", kind) == 1
    assert count("logaddexp", "mxnet") == 0


def test_seed003_imperative_example():
    a = np.ones(10)
    b = np.ones(10) * 2
    c = b * a
    d = c + 1
    onp.testing.assert_array_equal(d.asnumpy(), onp.full(10, 3.0))
