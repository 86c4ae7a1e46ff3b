"""The project's tools keep working: the coverage table is fresh, the benchmark runs (the demo: tests/test_demo.py)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a repository script with this interpreter, imperdl importable from the working tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _load(relpath: str):
    spec = importlib.util.spec_from_file_location(Path(relpath).stem, ROOT / relpath)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.mxnet  # the table is generated where MXNet runs (NumPy < 2: NumPy 2 has other names)
def test_coverage_table_is_fresh():
    proc = _run("tools/gen_coverage.py", "--check")
    if proc.returncode == 2:
        pytest.skip(proc.stderr.strip())  # the table lists the names of the NumPy the main suite runs on
    assert proc.returncode == 0, proc.stderr + "\n(regenerate with `make coverage-table`)"


def test_coverage_check_detects_a_stale_file(tmp_path):
    stale = tmp_path / "coverage.md"
    stale.write_text("# nothing\n")
    assert _run("tools/gen_coverage.py", "--check", "--output", str(stale)).returncode == 1
    assert _run("tools/gen_coverage.py", "--output", str(stale)).returncode == 0
    assert _run("tools/gen_coverage.py", "--check", "--output", str(stale)).returncode == 0


def test_coverage_render_counts_rows():
    gen = _load("tools/gen_coverage.py")
    table = [("add", True, True), ("sinc", False, True), ("linalg.inv", True, False), ("ndarray.fill", False, False)]
    text = gen.render(table)
    assert "| **total** | 4 | 2 | 2 |" in text
    assert "| numpy | 2 | 1 | 2 |" in text
    assert "| numpy.linalg | 1 | 1 | 0 |" in text
    assert "| ndarray methods | 1 | 0 | 0 |" in text
    assert "| `sinc` | no | yes |" in text


@pytest.mark.mxnet
def test_benchmark_quick_run_reports_overheads(tmp_path):
    out = tmp_path / "bench.json"
    proc = _run("bench/dispatch.py", "--quick", "--json", str(out), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "max overhead on 10x10:" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {(r["op"], tuple(r["shape"]), r["policy"]) for r in rows} == {
        (op, shape, pol)
        for op in ("add", "exp", "sum", "dot", "getitem")
        for shape in ((10, 10), (1000, 1000))
        for pol in ("prefer_mxnet", "only_numpy", "only_mxnet")
    }
    for r in rows:
        assert r["numpy_us"] > 0 and r["mxnet_us"] > 0
        if r["policy"] == "only_numpy":
            assert r["backend"] == "numpy"
        if r["policy"] == "only_mxnet":
            assert r["backend"] in ("mxnet", None)  # None: MXNet cannot run it exactly, imperdl refused
        if r["backend"] is not None:
            raw = r["mxnet_us"] if r["backend"] == "mxnet" else r["numpy_us"]
            assert abs(r["imperdl_us"] - raw - r["overhead_us"]) < 1e-9
