"""Fallback notification (CuPy's idea) and copy logging (MinPy's): every NumPy fallback can be seen."""
from __future__ import annotations

import logging
import warnings

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np


@pytest.fixture(autouse=True)
def _prefer_mxnet():
    """Fallbacks are PreferMXNet's notion, the default before cost-aware placement: set it explicitly."""
    imperdl.set_global_policy("prefer_mxnet")


@pytest.fixture
def xy():
    """Inputs made before any mode is set, so only the call under test can fall back."""
    return np.zeros((2, 3)), np.ones((2, 3))


def test_default_mode_is_ignore(xy):
    assert imperdl.get_fallback_mode() == "ignore"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.logaddexp(*xy)


@pytest.mark.parametrize("mode", ["ignore", "log", "warn", "raise"])
def test_set_and_get_modes(mode):
    imperdl.set_fallback_mode(mode)
    assert imperdl.get_fallback_mode() == mode
    with imperdl.fallback_mode("ignore"):
        assert imperdl.get_fallback_mode() == "ignore"
    assert imperdl.get_fallback_mode() == mode


def test_unknown_mode_rejected():
    with pytest.raises(ValueError):
        imperdl.set_fallback_mode("shout")
    with pytest.raises(ValueError):
        imperdl.fallback_mode("shout")
    assert imperdl.get_fallback_mode() == "ignore"


def test_warn_mode_gives_fallback_warning(xy):
    with imperdl.fallback_mode("warn"):
        with pytest.warns(imperdl.FallbackWarning, match="logaddexp"):
            z = np.logaddexp(*xy)
    onp.testing.assert_allclose(z.asnumpy(), onp.logaddexp(onp.zeros((2, 3)), onp.ones((2, 3))))
    assert issubclass(imperdl.FallbackWarning, UserWarning)


def test_raise_mode_gives_fallback_error(xy):
    imperdl.set_fallback_mode("raise")
    with pytest.raises(imperdl.FallbackError, match="logaddexp"):
        np.logaddexp(*xy)
    a = np.array([1.0, 2.0])  # building from Python data is host work, never a fallback
    assert a.shape == (2,)


def test_log_mode_logs_on_dispatch_logger(xy, caplog):
    with caplog.at_level(logging.INFO, logger="imperdl.dispatch"):
        with imperdl.fallback_mode("log"):
            np.logaddexp(*xy)
    recs = [r for r in caplog.records if r.name == "imperdl.dispatch"]
    assert recs and "logaddexp" in recs[-1].getMessage()


def test_no_notification_under_only_numpy(xy):
    with imperdl.OnlyNumPyPolicy(), imperdl.fallback_mode("raise"):
        np.logaddexp(*xy)  # NumPy by choice is not a fallback


def test_no_notification_when_mxnet_runs(mx_sinc):
    x = np.array([0.5, 1.0])
    with imperdl.fallback_mode("raise"):
        np.sinc(x)
        with pytest.raises(imperdl.FallbackError, match="sinc"):
            np.sinc(np.array([1, 2]))  # declined by the predicate


def test_mxnet_failure_is_notified(mx_sinc):
    mx_sinc.fail_ndim = 2
    x = np.array([[0.5, 1.0]])
    with imperdl.fallback_mode("warn"):
        with pytest.warns(imperdl.FallbackWarning) as rec:
            np.sinc(x)
    msg = str(rec[0].message)
    assert "sinc" in msg and "MXNet failed" in msg


@pytest.mark.parametrize("mode", ["log", "warn", "raise"])
def test_with_block_restores_on_exception(mode):
    imperdl.set_fallback_mode("ignore")
    with pytest.raises(KeyError):
        with imperdl.fallback_mode(mode):
            assert imperdl.get_fallback_mode() == mode
            raise KeyError
    assert imperdl.get_fallback_mode() == "ignore"
    imperdl.set_fallback_mode("warn")
    with imperdl.fallback_mode(mode):
        with imperdl.fallback_mode("ignore"):
            assert imperdl.get_fallback_mode() == "ignore"
        assert imperdl.get_fallback_mode() == mode
    assert imperdl.get_fallback_mode() == "warn"


def test_copy_logging_both_directions(mx_sinc, fake_mxnet, caplog):
    fake_mxnet("cosh", None)  # make sure cosh runs on NumPy, as in seed 000
    x = np.sinc(np.array([0.25, 0.5]))  # on MXNet
    assert x.backends == ("mxnet",)
    with caplog.at_level(logging.DEBUG, logger="imperdl.array"):
        y = np.cosh(x)  # NumPy: MXNet -> NumPy copy
        np.sinc(y)  # MXNet again: NumPy -> MXNet copy
    msgs = [r.getMessage() for r in caplog.records if r.name == "imperdl.array"]
    assert len(msgs) == 2, msgs
    assert msgs[0].startswith("Copy from MXNet array to NumPy array")
    assert msgs[1].startswith("Copy from NumPy array to MXNet array")
    assert "(2,)" in msgs[0]


def test_copy_logging_silent_above_debug(mx_sinc, fake_mxnet, caplog):
    fake_mxnet("cosh", None)
    x = np.sinc(np.array([0.25, 0.5]))
    with caplog.at_level(logging.INFO, logger="imperdl.array"):
        np.cosh(x)
    assert not [r for r in caplog.records if r.name == "imperdl.array"]
