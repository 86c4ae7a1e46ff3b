"""Statistics: per-operator counts by backend, fallbacks, copies (count, bytes, direction), and reset."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core.backends import mxnet_backend as _mxb


@pytest.fixture(autouse=True)
def _prefer_mxnet_and_copies(monkeypatch):
    """Written for PreferMXNet (the default before cost-aware placement) and for transfers that copy: both set
    explicitly (zero-copy transfers are counted in tests/test_zero_copy.py)."""
    imperdl.set_global_policy("prefer_mxnet")
    _mxb.load()
    monkeypatch.setattr(_mxb, "ZERO_COPY", False)


def test_counts_by_backend(mx_sinc, count):
    x = np.array(onp.linspace(0.1, 1.0, 10))
    np.sinc(x)
    np.sinc(x)
    np.sinc(np.array([1, 2]))  # declined: fallback
    with imperdl.OnlyNumPyPolicy():
        np.sinc(x)
    s = imperdl.statistics()
    assert s["ops"]["sinc"] == {"numpy": 1, "mxnet": 2, "fallback": 1}
    assert count("array", "numpy") == 2
    assert s["total"]["mxnet"] >= 2 and s["total"]["fallback"] >= 1


def test_copy_counts_and_bytes(mx_sinc):
    x = np.array(onp.linspace(0.1, 1.0, 10))  # 80 bytes on the host
    y = np.sinc(x)  # host -> MXNet
    np.sinc(x)  # x already has a fresh MXNet copy: no new copy
    y.asnumpy()  # MXNet -> host
    y.asnumpy()
    s = imperdl.statistics()
    assert s["copies"]["numpy->mxnet"] == {"count": 1, "bytes": 80}
    assert s["copies"]["mxnet->numpy"] == {"count": 1, "bytes": 80}
    assert s["syncs"] == 1


def test_write_makes_the_other_copy_stale(mx_sinc):
    x = np.array(onp.linspace(0.1, 1.0, 4))
    np.sinc(x)
    assert set(x.backends) == {"numpy", "mxnet"}
    x[0] = 0.0  # runs on one side (MXNet where it can): the other copy is stale now
    assert len(x.backends) == 1
    ups = 2 if x.backends == ("numpy",) else 1
    y = np.sinc(x)
    assert imperdl.statistics()["copies"]["numpy->mxnet"]["count"] == ups
    want = onp.linspace(0.1, 1.0, 4)
    want[0] = 0.0
    onp.testing.assert_allclose(y.asnumpy(), onp.sinc(want))


def test_cross_device_move_counts_bytes(mx_sinc):
    x = np.sinc(np.array(onp.ones(4)))
    with imperdl.cpu(1):
        y = np.sinc(x)
    assert y.context == imperdl.cpu(1)
    moves = imperdl.statistics()["copies"]["mxnet->mxnet"]
    assert moves["count"] == 1
    assert moves["bytes"] == 32, moves


def test_reset():
    np.exp(np.ones(3))
    assert imperdl.statistics()["ops"]
    imperdl.reset_statistics()
    s = imperdl.statistics()
    assert s["ops"] == {} and s["copies"] == {} and s["syncs"] == 0
    assert s["total"] == {"numpy": 0, "mxnet": 0, "fallback": 0}


def test_print_statistics(mx_sinc, fake_mxnet, capsys):
    fake_mxnet("cosh", None)
    np.sinc(np.array([0.5]))
    np.cosh(np.array([0.5]))
    imperdl.print_statistics()
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("sinc"))
    assert line.split()[1:] == ["1", "0", "0"]  # mxnet, numpy, fallback
    assert "cosh" in out and "numpy->mxnet" in out


def test_a_call_mxnet_fails_on_counts_once_as_a_fallback(mx_sinc, count):
    imperdl.set_global_policy("prefer_mxnet")
    mx_sinc.fail_ndim = 2
    np.sinc(np.array([[0.25, 0.5], [1.0, 2.0]]))
    assert mx_sinc.calls == [2]  # MXNet was tried, raised, and NumPy gave the result
    assert (count("sinc", "mxnet"), count("sinc", "fallback")) == (0, 1)
