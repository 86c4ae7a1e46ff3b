"""imperdl's glibc malloc settings (``core/allocator.py``): a step's freed buffers stay mapped for the next step,
unless the user chose otherwise. Each case runs in a fresh process (the settings are per process)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

# four 6.8 MB buffers made and freed per step, as a training step's activations are: page faults per step
_STEPS = """
import resource, sys
import numpy
import imperdl
from imperdl.core import allocator

def step():
    bufs = [numpy.ones(1_700_000, numpy.float32) for _ in range(4)]
    del bufs

for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(allocator.applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""

glibc = pytest.mark.skipif(not (hasattr(os, "confstr") and "glibc" in (os.confstr("CS_GNU_LIBC_VERSION") or "")),
                           reason="the settings are glibc's")


def _run(**env) -> tuple[bool, float]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "IMPERDL_MALLOC"))}
    proc = subprocess.run([sys.executable, "-c", _STEPS], env={**environ, **env}, capture_output=True, text=True,
                          timeout=120, check=True)
    applied, faults = proc.stdout.split()
    return applied == "True", float(faults)


@glibc
def test_freed_step_buffers_stay_mapped():
    applied, faults = _run()
    assert applied
    assert faults < 100  # (one fault per 4 KiB page: ~1,700 per buffer when glibc unmaps or trims them)


@glibc
@pytest.mark.parametrize("env", [{"IMPERDL_MALLOC": "system"}, {"MALLOC_TRIM_THRESHOLD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}])
def test_the_users_choice_is_kept(env):
    applied, faults = _run(**env)
    assert not applied
    _, tuned = _run()
    assert faults > 10 * max(tuned, 1.0)  # glibc's own thresholds: the same steps fault their buffers in again
