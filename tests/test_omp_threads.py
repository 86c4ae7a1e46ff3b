"""OpenMP threads: imperdl's MXNet work runs with its own team size whatever ``OMP_NUM_THREADS`` says, and the
user's own MXNet code keeps the user's setting (docs/performance.md, "Thread pools").

Checked from what MXNet itself decides, not from timings: ``mxnet::engine::OpenMP::GetRecommendedOMPThreadCount``
(exported by libmxnet) is the team size MXNet's CPU kernels open their parallel regions with.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from imperdl.core.backends import mxnet_compat

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import ctypes, json, threading
import imperdl, imperdl.numpy as np
from imperdl.core.backends import mxnet_backend as mxb, mxnet_compat

mx = mxb.load()
lib = mx.base._LIB
get = lib._ZN5mxnet6engine6OpenMP3GetEv
get.restype, get.argtypes = ctypes.c_void_p, []
rec = lib._ZNK5mxnet6engine6OpenMP28GetRecommendedOMPThreadCountEb
rec.restype, rec.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_bool]

def recommended():
    return rec(get(), True)

out = {"threads": mxb.THREADS, "expected": mxnet_compat.omp_threads(), "outside": recommended()}
with mxb.section:
    out["inside"] = recommended()
    with mxb.section:
        out["nested"] = recommended()
    out["after_nested"] = recommended()
out["after"] = recommended()
with imperdl.PreferMXNetPolicy():
    y = np.exp(np.ones((4, 4), dtype="float32"))
out["ran_on_mxnet"] = imperdl.statistics()["ops"]["exp"]["mxnet"]
out["after_operator"] = recommended()
other = {}

def in_thread():
    with mxb.section:
        other["inside"] = recommended()
    other["after"] = recommended()

t = threading.Thread(target=in_thread)
t.start(); t.join()
out["thread"] = other
print(json.dumps(out))
"""


def _env() -> dict:
    return {k: v for k, v in os.environ.items()
            if k not in ("MXNET_ENGINE_TYPE", "MXNET_OMP_MAX_THREADS", mxnet_compat.THREADS_VARIABLE)}


def _child(env_extra: dict) -> dict:
    env = _env()
    env.update(env_extra, PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode == 0:
        return json.loads(out.strip().splitlines()[-1])
    if "needs MXNet" in err or "No module named 'mxnet'" in err:
        pytest.skip("needs MXNet")
    raise AssertionError(err[-3000:])


@pytest.mark.mxnet  # (the child asks MXNet's own library)
def test_imperdl_mxnet_work_ignores_omp_num_threads_and_keeps_the_users():
    mine = mxnet_compat.omp_threads(_env())
    user = mine + 2  # the user's OMP_NUM_THREADS: more than imperdl's count (MXNet alone would follow it)
    got = _child({"OMP_NUM_THREADS": str(user)})
    assert got["threads"] == got["expected"] == mine
    assert got["inside"] == got["nested"] == got["after_nested"] == mine
    assert got["outside"] == got["after"] == got["after_operator"] == user  # the user's own MXNet code: theirs
    assert got["ran_on_mxnet"] == 1
    assert got["thread"] == {"inside": mine, "after": user}


def test_thread_count_rule():
    f = mxnet_compat.omp_threads
    assert f({}, cpus=2, machine="x86_64") == 1  # MXNet's own default: half the logical CPUs on x86
    assert f({}, cpus=16, machine="x86_64") == 8
    assert f({}, cpus=1, machine="x86_64") == 1
    assert f({}, cpus=4, machine="aarch64") == 4
    assert f({"OMP_NUM_THREADS": "2"}, cpus=2, machine="x86_64") == 1  # not the user's OpenMP count
    assert f({"MXNET_OMP_MAX_THREADS": "3"}, cpus=2, machine="x86_64") == 3
    assert f({"MXNET_OMP_MAX_THREADS": "3", "IMPERDL_MXNET_THREADS": "2"}, cpus=2, machine="x86_64") == 2
    assert f({"OMP_NUM_THREADS": "1", "IMPERDL_MXNET_THREADS": "2"}, cpus=2, machine="x86_64") == 2
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match="IMPERDL_MXNET_THREADS=.*positive whole number"):
            f({"IMPERDL_MXNET_THREADS": bad}, cpus=2, machine="x86_64")
