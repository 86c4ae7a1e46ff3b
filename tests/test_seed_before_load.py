"""A seed given before MXNet has loaded (MXNet loads lazily) still seeds MXNet's generator when it does load:
a script seeded at its top draws the same numbers on every run, on either backend."""
from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import imperdl
imperdl.set_global_policy("only_numpy")  # nothing has needed MXNet yet
import imperdl.numpy as np
from imperdl.core.backends import mxnet_backend
np.random.seed(3)
assert mxnet_backend._mx is None, "this check needs MXNet not yet loaded"
with imperdl.PreferMXNetPolicy():
    a = np.random.rand(50, 4)
    assert a.backends == ("mxnet",)
    print(repr(a.asnumpy().sum()))
"""


@pytest.mark.mxnet
def test_seed_before_mxnet_loads_is_applied_when_it_loads():
    runs = [subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout == runs[1].stdout
