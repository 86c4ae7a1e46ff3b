"""Data-parallel training on MXNet's KVStore: real ps-lite runs on loopback through the launcher.

One launch (2 workers, 1 server) checks the gradient sum step by step and the Solver with checkpoint and resume;
one trains with ``dist_async`` and a server optimizer; one kills a worker. The launcher stops every process it
started before it returns (its own tests check that); each launch here is bounded by ``timeout``.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as onp
import pytest

import imperdl
from imperdl.core import Array
from imperdl.core.backends import mxnet_backend as _mxb

pytestmark = pytest.mark.mxnet

HERE = Path(__file__).resolve().parent
ROOT = Path(imperdl.__file__).resolve().parent.parent
WORKER = str(HERE / "_dp_worker.py")
LIMIT = 120  # seconds for one launch, start-up of four Python processes included

sys.path.insert(0, str(HERE))
import _dp_common as common  # noqa: E402


def _launch(tmp_path, mode: str, env: dict | None = None, workers: int = 2, servers: int = 1
            ) -> tuple[int, str, float]:
    from imperdl.launch import run

    _mxb.load() or pytest.skip("needs MXNet")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    out = io.StringIO()
    start = time.monotonic()
    rc = run([WORKER, str(tmp_path), mode], workers=workers, servers=servers, timeout=LIMIT, output=out,
             env={"PYTHONPATH": path, "OMP_NUM_THREADS": "1", **(env or {})})
    return rc, out.getvalue(), time.monotonic() - start


@pytest.fixture(scope="module")
def digits():
    return common.digits()


@pytest.fixture(scope="module")
def sync_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sync")
    # two servers, and MXNet's big-array bound lowered so that W1 (and W1's float64 words) are split across them
    rc, text, _ = _launch(tmp, "sync", env={"MXNET_KVSTORE_BIGARRAY_BOUND": "1000"}, servers=2)
    assert rc == 0, text[-3000:]
    return tmp


@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-5), ("float64", 1e-10)])
def test_each_step_identical_on_workers_and_equal_to_one_process(sync_run, digits, dtype, rtol):
    r0 = onp.load(sync_run / f"steps-{dtype}-rank0.npz")
    r1 = onp.load(sync_run / f"steps-{dtype}-rank1.npz")
    reference = common.sgd_steps(digits, common.init_params(dtype, seed=0), dtype)  # rank 0's start, whole batch
    assert len(reference) == common.STEPS + 1
    for t, ref in enumerate(reference):
        for k, want in ref.items():
            a, b = r0[f"{t}/{k}"], r1[f"{t}/{k}"]
            assert a.dtype == b.dtype == onp.dtype(dtype)  # never cast behind the user's back
            assert onp.array_equal(a, b), f"step {t}: {k} differs between the workers"
            if t == 0:  # rank 0's parameters, bit for bit (float64 too: MXNet's servers hold float32 precision)
                assert onp.array_equal(a, want), f"{k} was not broadcast exactly"
            # (float64 sums avoid the servers' float32 arithmetic: a gather, then a float64 sum on each worker)
            onp.testing.assert_allclose(a, want, rtol=rtol, atol=rtol * 1e-2, err_msg=f"step {t} {k}")
    assert not onp.array_equal(r0["3/W1"], r0["0/W1"])  # it trained


def test_solver_checkpoint_resume_matches_one_process(sync_run, digits, tmp_path):
    r0, r1 = onp.load(sync_run / "solver-rank0.npz"), onp.load(sync_run / "solver-rank1.npz")
    for k in r0.files:
        assert onp.array_equal(r0[k], r1[k]), f"{k} differs between the workers"
    assert sorted(os.listdir(sync_run)) == sorted(  # one checkpoint, written by rank 0, no temporary file left
        ["solver.npz"] + [f"{w}-rank{r}.npz" for w in ("solver", "iter", "nan") for r in (0, 1)]
        + [f"steps-{d}-rank{r}.npz" for d in ("float32", "float64") for r in (0, 1)])
    onp.random.seed(0)  # rank 0's initial parameters
    s = common.solver(digits, str(tmp_path / "one"), 3, None)
    s.train()
    onp.testing.assert_allclose(r0["loss"], s.loss_history, rtol=1e-4)
    for k, v in s.model.params.items():
        onp.testing.assert_allclose(r0[k], v.asnumpy(), rtol=1e-4, atol=1e-5, err_msg=k)
    from imperdl.nn.checkpoint import load_checkpoint

    assert load_checkpoint(sync_run / "solver.npz")["step"] == len(s.loss_history) == 3 * (1397 // 50)


def test_minpy_form_shuffling_iterator_follows_rank_0(sync_run, digits):
    r0, r1 = onp.load(sync_run / "iter-rank0.npz"), onp.load(sync_run / "iter-rank1.npz")
    for k in r0.files:
        assert onp.array_equal(r0[k], r1[k]), f"{k} differs between the workers"
    onp.random.seed(0)  # rank 0's iterator seed and parameters
    s = common.iter_solver(digits, 1, None)
    s.train()
    assert len(s.loss_history) == len(r0["loss"]) == -(-1397 // 100)
    onp.testing.assert_allclose(r0["loss"], s.loss_history, rtol=1e-4)
    for k, v in s.model.params.items():
        onp.testing.assert_allclose(r0[k], v.asnumpy(), rtol=1e-4, atol=1e-5, err_msg=k)


def test_non_finite_loss_on_one_worker_stops_all_at_the_same_step(sync_run):
    r0, r1 = onp.load(sync_run / "nan-rank0.npz"), onp.load(sync_run / "nan-rank1.npz")
    assert int(r0["step"]) == int(r1["step"]) == 4  # only rank 1's loss was NaN
    for k in r0.files:
        assert onp.array_equal(r0[k], r1[k]), k
    assert onp.isfinite(r0["W1"]).all() and len(r0["loss"]) == 4  # parameters from before the bad step


def test_dist_async_with_server_optimizer_converges(tmp_path):
    rc, text, _ = _launch(tmp_path, "async")
    assert rc == 0, text[-3000:]
    for r in (0, 1):
        got = onp.load(tmp_path / f"async-rank{r}.npz")
        assert float(got["first"]) > 2.0  # ln(10) at the start
        assert float(got["final"]) < 0.8, text[-2000:]  # both workers moved the shared weights down
        assert "float32 precision" in str(got["refused"]) and "W1" in str(got["refused"])


def test_killed_worker_ends_the_run_with_an_error(tmp_path):
    rc, text, elapsed = _launch(tmp_path, "die", env={"IMPERDL_DIST_TIMEOUT": "10"})
    assert rc != 0
    assert "finished: the dead peer was not noticed" not in text
    assert elapsed < 60, text[-2000:]
    assert "worker" in text and ("signal" in text or "status" in text or "did not finish" in text), text[-2000:]


def test_example_reaches_the_same_accuracy_launched_and_alone():
    """The README's command: examples/distributed_digits.py on 2 workers and as one process."""
    from imperdl.launch import run

    _mxb.load() or pytest.skip("needs MXNet")
    example = str(ROOT / "examples" / "distributed_digits.py")
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
           "OMP_NUM_THREADS": "1"}
    out = io.StringIO()
    assert run([example, "--epochs", "2"], workers=2, timeout=LIMIT, output=out, env=env) == 0, out.getvalue()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_") and k != "MXNET_ENGINE_TYPE"}
    alone = subprocess.run([sys.executable, example, "--epochs", "2"], capture_output=True, text=True,
                           timeout=LIMIT, env={**clean, **env})
    assert alone.returncode == 0, alone.stderr[-2000:]
    launched = [line.split("] ", 1)[1] for line in out.getvalue().splitlines() if "final test accuracy" in line]
    assert len(launched) == 1  # rank 0 alone prints it
    assert launched[0] == alone.stdout.strip().splitlines()[-1]
    assert float(launched[0].split(": ")[1]) > 0.7  # (2 epochs; 5 reach 0.935, both ways)


def test_watchdog_ends_a_blocked_call_with_a_message():
    code = ("import time\nfrom imperdl.distributed.watchdog import Watchdog\n"
            "with Watchdog(0.5, 'rank 1 of 2').guard('allreduce_gradients'):\n    time.sleep(30)\n")
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    from imperdl.distributed import EXIT_TIMEOUT

    assert p.returncode == EXIT_TIMEOUT
    assert time.monotonic() - start < 20
    assert "rank 1 of 2: allreduce_gradients did not finish within 0.5 s" in p.stderr


@pytest.fixture
def local_world():
    import imperdl.distributed as dist

    dist.shutdown()
    dist.init("local")
    try:
        yield dist
    finally:
        dist.shutdown()


def test_local_store_two_cpu_contexts_in_one_process(local_world):
    dist = local_world
    mx = _mxb.load()
    a = mx.nd.array([[1.0, 2.0]], ctx=mx.cpu(0))  # MXNet arrays are taken as they are, on their own contexts
    b = mx.nd.array([[3.0, 6.0]], ctx=mx.cpu(1))
    assert dist.world_size() == 1 and dist.rank() == 0
    out = dist.allreduce_gradients({"w": [a, b]})
    assert [o.context for o in out["w"]] == [imperdl.cpu(0), imperdl.cpu(1)]
    for o in out["w"]:
        assert o.dtype == onp.float32
        onp.testing.assert_array_equal(o.asnumpy(), [[2.0, 4.0]])
    total = dist.allreduce_gradients({"w": [a, b]}, op="sum")["w"]
    onp.testing.assert_array_equal(total[1].asnumpy(), [[4.0, 8.0]])
    onp.testing.assert_array_equal(a.asnumpy(), [[1.0, 2.0]])  # the inputs are left alone
    dist.set_optimizer("sgd", learning_rate=0.5)  # the update runs in the store
    w = dist.update_on_server({"w": [a, b]}, {"w": [Array(onp.zeros((1, 2), "float32"))] * 2})
    onp.testing.assert_allclose(w["w"][0].asnumpy(), [[-2.0, -4.0]])  # 0 - 0.5 * (a + b)
    with pytest.raises(TypeError, match="'n' has dtype int32"):
        dist.allreduce_gradients({"n": Array(onp.ones(2, "int32"))})


def test_one_process_without_launcher_is_unchanged(local_world, digits, tmp_path):
    dist = local_world
    g = {"w": Array(onp.ones(3, "float16"))}
    assert dist.allreduce_gradients(g)["w"] is g["w"]  # a world of one: nothing to add, nothing copied
    runs = []
    for kv in (None, "dist_sync"):
        onp.random.seed(0)
        s = common.solver(digits, str(tmp_path / f"c{kv}"), 1, kv)
        s.train()
        runs.append(s.loss_history)
    assert runs[0] == runs[1]
