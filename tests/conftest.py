"""Shared fixtures: every test starts from the default engine state and leaves it that way.

The engine keeps process-wide state (global policy and its decision caches, fallback mode, statistics, current
context). A test that changes it and fails half-way must not poison the next test, so the autouse fixture puts
everything back whatever happened.

MXNet is optional (``pip install imperdl`` without the ``mxnet`` extra, or NumPy 2). A test that needs it says so
in one of two ways, and is then skipped, with the reason MXNet cannot be imported, where it cannot:
- it uses the ``mx`` or ``fake_mxnet`` fixture (directly or through ``mxnet_array``, ``mx_sinc``, ...);
- it carries ``@pytest.mark.mxnet`` (or a module sets ``pytestmark = pytest.mark.mxnet``).
A module that imports ``mxnet`` at the top cannot be collected without it: import it inside the tests (or use
``mx``) instead. ``pytest -m "not mxnet"`` runs the NumPy-only part anywhere.
"""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
from imperdl.core import registry as _registry
from imperdl.core.array import Array
from imperdl.core.backends import mxnet_backend as _mxb

# text that only MXNet's C++ layer produces; it must never reach a user's exception
MXNET_TEXT = ("Traceback", ".cc:", "Stack trace", "MXNetError", "[bt]")


# fixtures that hand out MXNet objects or fake MXNet implementations (which only run where the MXNet backend
# does): a test using one, even indirectly, needs MXNet
MXNET_FIXTURES = frozenset({"mx", "fake_mxnet"})


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a GPU that MXNet can see (skipped otherwise)")


def pytest_collection_modifyitems(config, items):
    """Mark tests that use an MXNet fixture as ``mxnet``; skip ``mxnet`` tests where MXNet cannot be imported and
    ``gpu`` tests where MXNet sees no GPU (the CPU wheel sees none)."""
    for item in items:
        if MXNET_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mxnet)
    skips = {}
    if not _mxb.available():
        skips["mxnet"] = pytest.mark.skip(reason=f"needs MXNet: {_mxb.unavailable_reason()}")
    if imperdl.context.num_gpus() == 0:
        skips["gpu"] = pytest.mark.skip(reason="MXNet sees no GPU here")
    for item in items:
        for marker, skip in skips.items():
            if marker in item.keywords:
                item.add_marker(skip)
                break


@pytest.fixture(autouse=True)
def clean_engine():
    """Restore policy, fallback mode and context after the test; start from zeroed statistics."""
    policy = imperdl.get_global_policy()
    mode = imperdl.get_fallback_mode()
    ctx = imperdl.current_context()
    imperdl.reset_statistics()
    yield
    imperdl.set_global_policy(policy)
    imperdl.set_fallback_mode(mode)
    imperdl.set_context(ctx)
    imperdl.reset_statistics()


@pytest.fixture
def mx():
    """The ``mxnet.numpy`` module (loaded through imperdl's adapter so its environment fixes apply)."""
    assert _mxb.available(), _mxb.unavailable_reason()
    return _mxb._mnp


@pytest.fixture
def mxnet_array(mx):
    """Factory: an Array whose only fresh copy lives on MXNet, like the result of an MXNet-run primitive."""

    def make(values, dtype=None):
        host = onp.asarray(values, dtype=dtype)
        ctx = imperdl.current_context()
        data = mx.array(host, dtype=host.dtype, ctx=ctx.as_mxnet())
        a = Array(data, 1, ctx)
        assert a.backends == ("mxnet",)
        return a

    return make


@pytest.fixture
def fake_mxnet():
    """Factory: give a NumPy function a test-only MXNet implementation; the original comes back afterwards.

    Policies cache decisions per primitive, so the global policy forgets its decisions for that primitive both
    when the fake is installed and when it is removed.
    """
    saved = []

    def install(name, impl, pred=None, meta=None):
        prim = _registry.primitive(name)
        saved.append((prim, list(prim.impls), list(prim.preds), prim.meta))
        _registry.register_mxnet(name, impl, pred)
        prim.meta = meta
        imperdl.get_global_policy().caches.pop(prim, None)
        return prim

    yield install
    for prim, impls, preds, meta in reversed(saved):
        prim.impls[:] = impls
        prim.preds[:] = preds
        prim.meta = meta
        imperdl.get_global_policy().caches.pop(prim, None)


@pytest.fixture
def mx_sinc(fake_mxnet, mx):
    """'sinc' (which MXNet lacks) given an exact MXNet implementation that records its calls.

    ``mx_sinc.calls`` lists the ranks it was called with; ``mx_sinc.fail_ndim`` makes it raise, with text like
    MXNet's C++ errors, for inputs of that rank (a *valid* call MXNet cannot do).
    """

    class Fake:
        calls: list = []
        fail_ndim = None

    fake = Fake()
    fake.calls = []

    def impl(x):
        fake.calls.append(x.ndim)
        if x.ndim == fake.fail_ndim:
            raise RuntimeError(
                "Traceback (most recent call last):\n  File \"../src/operator/fake.cc\", line 42\n"
                "MXNetError: Check failed: fake.cc:42 Stack trace:\n  [bt] (0) libmxnet.so"
            )
        host = onp.sinc(x.asnumpy())
        return mx.array(host, dtype=host.dtype, ctx=imperdl.current_context().as_mxnet())

    def pred(x):
        return type(x) is Array and x.dtype in (onp.float32, onp.float64)

    fake.prim = fake_mxnet("sinc", impl, pred)
    return fake


def ops_count(name: str, kind: str) -> int:
    """How many calls of ``name`` ran on ``kind`` ('numpy' | 'mxnet' | 'fallback') since the last reset."""
    return imperdl.statistics()["ops"].get(name, {}).get(kind, 0)


@pytest.fixture
def count():
    return ops_count


def _assert_no_mxnet_text(message: str) -> None:
    for bad in MXNET_TEXT:
        assert bad not in message, f"MXNet internals leaked into the message: {message!r}"


@pytest.fixture
def no_mxnet_text():
    """Checker: a message shown to users carries no MXNet C++ text."""
    return _assert_no_mxnet_text
