"""The MXNet import shims (imperdl/core/backends/mxnet_compat.py): each one tested where it acts."""
from __future__ import annotations

import os
import subprocess
import sys
import types
import warnings

import numpy as onp
import pytest

from imperdl.core.backends import mxnet_backend as _mxb
from imperdl.core.backends import mxnet_compat as C


@pytest.mark.parametrize(
    ("a", "b"), [("1.26.4", "1.17"), ("1.23.5", "1.15"), ("2.0.0rc1", "1.6.0"), ("1.10", "1.9.3"), ("1.6.0", "1.6")]
)
def test_version_stand_in_orders_like_numeric_tuples(a, b):
    va, vb = C._Version(a), C._Version(b)
    ta, tb = (tuple(int(p) for p in v.split("rc")[0].split(".")) for v in (a, b))
    assert (va >= vb, va < vb, va == vb) == (ta >= tb, ta < tb, ta == tb)
    assert (va >= b) == (ta >= tb)  # MXNet also compares against plain strings


def test_distutils_stand_in_only_during_the_import(monkeypatch):
    """Where no distutils exists, the stand-in serves the import and is gone afterwards; numpy.bool likewise."""
    monkeypatch.setattr(C.importlib.util, "find_spec", lambda name: None)
    for name in ("distutils", "distutils.version"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    had_bool = "bool" in vars(onp)
    with C._import_shims():
        from distutils.version import LooseVersion, StrictVersion

        assert StrictVersion is LooseVersion is C._Version
        assert LooseVersion(onp.__version__) >= LooseVersion("1.17")
        assert "bool" in vars(onp)
    assert "distutils" not in sys.modules and "distutils.version" not in sys.modules
    assert ("bool" in vars(onp)) == had_bool


def test_mxnet_sees_numpy_with_bool_and_the_user_does_not(mx):
    if "bool" in vars(onp):
        pytest.skip("this NumPy has numpy.bool itself")
    import mxnet.numpy.multiarray as mxm

    assert mxm._np.bool is bool and mxm._np.ndarray is onp.ndarray and mxm._np.float32 is onp.float32
    a = mx.array([1.0, 2.0, 3.0])
    assert a[mx.array([True, False, True], dtype=onp.bool_)].asnumpy().tolist() == [1.0, 3.0]  # reads _np.bool
    assert "bool" not in vars(onp)


def test_filtered_stderr_drops_only_the_banner(capfd):
    with C.filtered_stderr(C.BANNER):
        os.write(2, b"[11:26:18] ../src/engine/engine.cc:54: MXNet start using engine: NaiveEngine\n")
        os.write(2, b"something else MXNet said\n")
    err = capfd.readouterr().err
    assert err == "something else MXNet said\n"


def test_probe_reports_no_kernel_image():
    fail = [sys.executable, "-c", "raise SystemExit('MXNetError: CUDA: no kernel image is available for execution')"]
    assert C.probe_gpu(fail) == "no kernel image is available for execution on the device"
    assert C.probe_gpu([sys.executable, "-c", "raise SystemExit('driver too old')"]) == "driver too old"
    assert C.probe_gpu([sys.executable, "-c", "print('ok')"]) is None


def test_unusable_gpu_warns_once_and_imperdl_uses_the_cpu(monkeypatch):
    fake = types.SimpleNamespace(context=types.SimpleNamespace(num_gpus=lambda: 1))
    monkeypatch.setattr(C, "no_gpu_driver", lambda: False)
    monkeypatch.setattr(_mxb, "load", lambda: fake)
    monkeypatch.setattr(_mxb, "_gpus", None)
    monkeypatch.setattr(C, "probe_gpu", lambda: "no kernel image is available for execution on the device")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _mxb.num_gpus() == 0
        assert _mxb.num_gpus() == 0
    assert [type(w.message) for w in caught] == [C.GPUUnusableWarning]
    assert "using cpu()" in str(caught[0].message) and "5.0-8.6" in str(caught[0].message)
    monkeypatch.setattr(C, "probe_gpu", lambda: None)
    monkeypatch.setattr(_mxb, "_gpus", None)
    assert _mxb.num_gpus() == 1


@pytest.mark.mxnet
def test_probe_script_runs_and_fails_cleanly_on_the_cpu_wheel():
    if _mxb.num_gpus():
        pytest.skip("a usable GPU is present")
    reason = C.probe_gpu()
    assert reason and "Traceback" not in reason


_USER_IMPORTS_AFTER_IMPERDL = """
import sys, numpy
import imperdl.numpy as np
from imperdl.core.backends import mxnet_compat as C
hooked = C._hook in sys.meta_path
assert hooked == C._needs_shims(), (hooked, numpy.__version__)
import mxnet as mx            # the user's own imports, after imperdl's
from mxnet import autograd, gluon
assert C._hook not in sys.meta_path and mx.__spec__.name == "mxnet" and mx.__spec__.origin.endswith("__init__.py")
net = gluon.nn.Dense(2, in_units=3)
net.initialize()
with autograd.record():
    loss = net(mx.nd.ones((4, 3))).sum()
loss.backward()
assert net.weight.grad().shape == (2, 3)
assert float(np.sum(np.ones(3) * 2)) == 6.0
print("ok", hooked, "bool" in vars(numpy))
"""


@pytest.mark.mxnet
def test_user_imports_mxnet_after_imperdl_on_any_supported_numpy():
    """On NumPy 1.24-1.26 (or Python 3.12+ without distutils) MXNet fails to import by itself; after ``import
    imperdl`` the user's own ``import mxnet`` works, and NumPy's namespace stays without ``bool``."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", _USER_IMPORTS_AFTER_IMPERDL], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    ok, hooked, has_bool = done.stdout.split()
    assert ok == "ok" and has_bool == str("bool" in vars(onp))


def test_no_gpu_driver_reads_the_driver_listing(monkeypatch):
    def listing(entries):
        def listdir(path):
            assert path == "/proc/driver/nvidia/gpus"
            if entries is None:
                raise FileNotFoundError(path)
            return entries
        return listdir

    monkeypatch.setattr(C.sys, "platform", "linux")
    monkeypatch.setattr(C.os, "listdir", listing(None))
    assert C.no_gpu_driver()
    monkeypatch.setattr(C.os, "listdir", listing([]))
    assert C.no_gpu_driver()
    monkeypatch.setattr(C.os, "listdir", listing(["0000:3b:00.0"]))
    assert not C.no_gpu_driver()
    monkeypatch.setattr(C.sys, "platform", "darwin")
    assert not C.no_gpu_driver()


_SMALL_PROGRAM = """
import sys
import imperdl.numpy as np
from imperdl.core import grad
g = grad(lambda x: np.sum(np.tanh(x) * 2.0))(np.linspace(-1.0, 1.0, 5))
print(float(np.sum(g)), "mxnet" in sys.modules)
"""


def test_small_program_on_a_machine_without_gpu_driver_never_imports_mxnet():
    """The default policy asks the context, which asks how many GPUs there are: without a driver that needs no
    MXNet import, and the cost-aware policy keeps five-element work on NumPy, so MXNet is never loaded."""
    if not C.no_gpu_driver():
        pytest.skip("this machine has a GPU driver")
    done = subprocess.run([sys.executable, "-c", _SMALL_PROGRAM], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    total, loaded = done.stdout.split()
    x = onp.linspace(-1.0, 1.0, 5)
    assert float(total) == pytest.approx(float(onp.sum(2.0 / onp.cosh(x) ** 2)), rel=1e-12)
    assert loaded == "False"
