"""The adversarial fuzzer (``engine.py``) over every primitive with an MXNet implementation, in a child process.

CI runs one deterministic pass bounded to ``IMPERDL_FUZZ_SECONDS`` (default 60 s). Setting the variable (say
``IMPERDL_FUZZ_SECONDS=900``) runs the long local mode instead: fresh random calls, round after round, until the
time is spent. A call that kills the child (a segfault in MXNet) fails the test naming that call.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.mxnet  # (every primitive with an MXNet implementation, under prefer_mxnet and only_mxnet)
def test_fuzz_matches_numpy(tmp_path):
    seconds = os.environ.get("IMPERDL_FUZZ_SECONDS")
    log = tmp_path / "calls.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "tests.fuzz.engine", seconds or "60", str(log), "0" if seconds else "1"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=float(seconds or 60) + 300)
    calls = log.read_text().splitlines() if log.exists() else []
    if proc.returncode < 0:
        last = calls[-1] if calls else "(no call logged)"
        raise AssertionError(f"the fuzzed process died of signal {-proc.returncode} on: {last}")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert len(calls) > 100, f"only {len(calls)} calls fuzzed"
