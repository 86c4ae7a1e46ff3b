"""The smoke run (`make smoke`, and CI on the newest Pythons): imperdl imports quietly and leaves the user's
namespaces alone, a gradient is right, a ``Function`` runs, and without MXNet everything NumPy-only still works
while ``Function`` says in one line that it needs MXNet."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as onp
import pytest

import imperdl.numpy as np
from imperdl.core import Function, grad

# What a fresh process sees around imperdl: the import alone, then MXNet loaded on first need.
PROBE = r"""
import importlib.util, json, os, sys
import numpy
before = {"bool": "bool" in vars(numpy), "distutils": importlib.util.find_spec("distutils") is not None,
          "env": dict(os.environ)}
import imperdl.numpy as np
after_import = {"mxnet": "mxnet" in sys.modules}
from imperdl.core.backends import mxnet_backend
loaded = mxnet_backend.available()
y = np.arange(6.0).reshape(2, 3)
y = y[y > 2] * 2  # boolean indexing: MXNet's own code reads numpy.bool for it
print(json.dumps({"before": {k: v for k, v in before.items() if k != "env"}, "after_import": after_import,
                  "loaded": loaded, "bool": "bool" in vars(numpy), "distutils": "distutils" in sys.modules,
                  "env_added": sorted(set(os.environ) - set(before["env"])), "y": y.tolist()}))
"""


def _run(code: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_is_quiet_and_leaves_namespaces_alone():
    done = _run(PROBE, "-W", "error::DeprecationWarning")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no MXNet banner, no warnings
    seen = json.loads(done.stdout)
    assert seen["after_import"] == {"mxnet": False}  # MXNet loads on first need, not at import
    assert seen["y"] == [x * 2 for x in range(3, 6)]
    assert seen["bool"] == seen["before"]["bool"]  # no numpy.bool left behind
    if not seen["before"]["distutils"]:
        assert not seen["distutils"]  # the stand-in MXNet imported is gone again
    documented = {"MXNET_ENGINE_TYPE", "MXNET_SUBGRAPH_VERBOSE"} if seen["loaded"] else set()
    assert set(seen["env_added"]) <= documented  # docs/install.md lists what imperdl sets


def test_one_gradient_matches_finite_differences():
    x0 = onp.linspace(-1.0, 2.0, 5)

    def f(x):
        return np.sum(np.tanh(x) ** 2 * np.exp(-x))

    g = onp.asarray(grad(f)(np.array(x0)))
    eps = 1e-6
    fd = [(float(f(np.array(x0 + eps * e))) - float(f(np.array(x0 - eps * e)))) / (2 * eps) for e in onp.eye(5)]
    onp.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.mxnet
def test_one_function_call_and_its_gradient():
    import mxnet as mx

    fc = Function(mx.sym.FullyConnected(mx.sym.Variable("x"), name="fc", num_hidden=3), name="fc")
    rng = onp.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    out = fc(x=np.array(x), fc_weight=np.array(w), fc_bias=np.array(b))
    onp.testing.assert_allclose(onp.asarray(out), x @ w.T + b, rtol=1e-12)
    dw = grad(lambda w_: np.sum(fc(x=np.array(x), fc_weight=w_, fc_bias=np.array(b)) ** 2))(np.array(w))
    onp.testing.assert_allclose(onp.asarray(dw), 2 * (x @ w.T + b).T @ x, rtol=1e-10)


WITHOUT_MXNET = r"""
import sys
sys.modules["mxnet"] = None  # what a machine without MXNet sees
import numpy
import imperdl, imperdl.numpy as np
from imperdl.core import Function, MXNetUnavailableError, grad
from imperdl.nn import layers
x = np.array(numpy.arange(6.0).reshape(2, 3))
assert imperdl.current_context() == imperdl.cpu()
assert float(grad(lambda t: np.sum(np.sin(t)))(x)[0, 0]) == numpy.cos(0.0)
out = layers.affine(x, np.ones((3, 2)), np.zeros(2))
assert numpy.asarray(out).tolist() == (numpy.arange(6.0).reshape(2, 3) @ numpy.ones((3, 2))).tolist()
try:
    Function(object())
except MXNetUnavailableError as e:
    print(e)
"""


def test_without_mxnet_numpy_works_and_function_says_why():
    done = _run(WITHOUT_MXNET, "-W", "error::DeprecationWarning")
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert "\n" not in message and message.startswith("imperdl.core.Function needs MXNet")
    assert "pip install 'imperdl[mxnet]'" in message
