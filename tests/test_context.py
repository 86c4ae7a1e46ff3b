"""Contexts: where MXNet data lives; process-global, restored exactly by ``with`` blocks (also on errors)."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np


def test_constructors_and_equality():
    assert imperdl.cpu() == imperdl.cpu(0) == imperdl.context.cpu()
    assert imperdl.gpu(1) == imperdl.gpu(1) != imperdl.gpu(0)
    assert imperdl.cpu() != imperdl.gpu(0)
    assert hash(imperdl.gpu(2)) == hash(imperdl.gpu(2))
    assert repr(imperdl.cpu()) == "cpu(0)" and repr(imperdl.gpu(3)) == "gpu(3)"
    assert imperdl.gpu(1).device_type == "gpu" and imperdl.gpu(1).device_id == 1
    with pytest.raises(ValueError):
        imperdl.context.Context("tpu", 0)


def test_default_context_matches_hardware():
    want = imperdl.gpu(0) if imperdl.context.num_gpus() > 0 else imperdl.cpu()
    assert imperdl.current_context() == want


def test_set_context():
    imperdl.set_context(imperdl.cpu(1))
    assert imperdl.current_context() == imperdl.cpu(1)
    with pytest.raises(TypeError):
        imperdl.set_context("cpu")
    assert imperdl.current_context() == imperdl.cpu(1)


def test_with_restores_also_on_exceptions():
    before = imperdl.current_context()
    c1, c2 = imperdl.cpu(1), imperdl.cpu(2)
    with c1:
        assert imperdl.current_context() == c1
        with c2:
            assert imperdl.current_context() == c2
            with c1:  # the same object re-entered
                assert imperdl.current_context() == c1
            assert imperdl.current_context() == c2
        assert imperdl.current_context() == c1
    assert imperdl.current_context() == before
    with pytest.raises(RuntimeError):
        with c2:
            raise RuntimeError
    assert imperdl.current_context() == before


def test_arrays_report_the_context_they_were_made_on(mx_sinc):
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    x = np.array([0.5, 1.0])
    with imperdl.cpu(1):
        y = np.sinc(x)
    assert y.context == imperdl.cpu(1)
    z = np.sinc(y)  # used on the current context: moved there
    assert z.context == imperdl.current_context()
    onp.testing.assert_allclose(z.asnumpy(), onp.sinc(onp.sinc([0.5, 1.0])))
    assert x.context == imperdl.cpu(1)  # x's MXNet copy was made for the call on cpu(1)
    np.sinc(x)
    assert x.context == imperdl.current_context()  # ... and moved when used back here


@pytest.mark.mxnet
def test_mxnet_context_object():
    import mxnet

    assert imperdl.cpu(0).as_mxnet() == mxnet.cpu(0)


def test_host_only_array_is_on_cpu():
    with imperdl.cpu(1):
        a = np.array([1, 2])
    assert a.context == imperdl.cpu()


@pytest.mark.gpu
def test_gpu_arrays(mx_sinc):
    x = np.array(onp.linspace(0.1, 1.0, 8))
    with imperdl.gpu(0):
        y = np.sinc(x)
        assert imperdl.current_context() == imperdl.gpu(0)
    assert y.context == imperdl.gpu(0)
    onp.testing.assert_allclose(y.asnumpy(), onp.sinc(onp.linspace(0.1, 1.0, 8)))


@pytest.mark.gpu
def test_gpu_is_default_when_present():
    assert imperdl.current_context() == imperdl.gpu(0)
