"""imperdl beside the user's own MXNet code in one process (issue #12): whatever engine MXNet runs (chosen by
imperdl, by the user's MXNET_ENGINE_TYPE, or started by the user's MXNet code before imperdl loaded), gradients
equal only_numpy's; the user's Gluon training gives the same numbers with or without imperdl used in between;
MXNet arrays of either API are accepted as inputs. Process state is the point, so each case is a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.mxnet  # every case runs the user's MXNet code

HERE = Path(__file__).parent / "mxnet_user"
ROOT = Path(__file__).resolve().parent.parent


def _run(script: str, *argv: str, engine: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MXNET_ENGINE_TYPE", "IMPERDL_ZERO_COPY")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    if engine is not None:
        env["MXNET_ENGINE_TYPE"] = engine
    proc = subprocess.run([sys.executable, str(HERE / script), *argv], env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("order, engine, runs, shares", [
    ("imperdl_first", None, "NaiveEngine", True),  # imperdl chooses (CPU wheel): synchronous, buffers shared
    ("imperdl_first", "ThreadedEnginePerDevice", "ThreadedEnginePerDevice", False),
    ("imperdl_first", "NaiveEngine", "NaiveEngine", True),
    ("user_first", None, "ThreadedEnginePerDevice", False),  # MXNet started before imperdl could choose
    ("user_first", "NaiveEngine", "NaiveEngine", True),
    ("user_first", "ThreadedEngine", "ThreadedEnginePooled", False),
])
def test_gradients_whatever_engine_runs(order, engine, runs, shares):
    r = _run("engine_case.py", order, engine=engine)
    assert r["engine"] == runs
    assert r["zero_copy"] is shares
    assert all(r["finite"]), r
    assert max(r["rel_err"]) < 1e-4, r


@pytest.fixture(scope="module")
def gluon_runs():
    return {(fl, order): _run("gluon_case.py", fl, order) for fl in ("nd", "np") for order in ("none", "between",
                                                                                                "first")}


@pytest.mark.parametrize("flavour", ["nd", "np"])
@pytest.mark.parametrize("order", ["between", "first"])
def test_user_gluon_training_unchanged(gluon_runs, flavour, order):
    base, got = gluon_runs[(flavour, "none")], gluon_runs[(flavour, order)]
    assert base["run1"] == base["run2"]  # the baseline itself is deterministic
    assert got["run1"] == base["run1"] and got["run2"] == base["run2"]  # bit-identical losses and parameters
    assert got["state0"] == got["state1"] == base["state1"]  # np_shape / np_array as the user set them
    assert got["run1"]["type"] == ("ndarray" if flavour == "np" else "NDArray")


@pytest.mark.parametrize("flavour", ["nd", "np"])
@pytest.mark.parametrize("order", ["between", "first"])
def test_imperdl_results_beside_gluon(gluon_runs, flavour, order):
    got = gluon_runs[(flavour, order)]
    for key in ("imperdl0", "imperdl1") if order == "first" else ("imperdl1",):
        r = got[key]
        assert r["grad_err"] < 1e-12
        assert r["zero_size"] == [0, 3]
        assert r["scalar"] == [[], pytest.approx(r["scalar_want"], abs=1e-12)]


@pytest.fixture(scope="module")
def params_runs():
    # the engine the user's MXNet code starts (threaded), and the synchronous one (imperdl then shares buffers)
    return {(fl, engine): _run("params_case.py", fl, engine=engine) for fl in ("nd", "np")
            for engine in (None, "NaiveEngine")}


@pytest.mark.parametrize("flavour", ["nd", "np"])
@pytest.mark.parametrize("engine", [None, "NaiveEngine"])
def test_gluon_parameters_as_imperdl_inputs(params_runs, flavour, engine):
    """A Gluon net's ``p.data()`` in an imperdl computation mid-training: the forward pass equals the net's, the
    gradients equal HIPS autograd's, and the training then goes on bit-identically (nothing was written)."""
    run = params_runs[(flavour, engine)]
    base, got = run["none"], run["imperdl"]
    r = got["imperdl"]
    assert r["out_err"] < 1e-5 and r["grad_err"] < 1e-5, r
    assert r["grad_dtypes"] == ["float32"] * 4
    assert r["w"] == [5.0, pytest.approx(r["w"][1])] and r["w"][1] > 0  # imperdl's copy written, not the user's
    assert got["run1"] == base["run1"] and got["run2"] == base["run2"] and got["params"] == base["params"]
