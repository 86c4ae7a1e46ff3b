"""``bench/run_all.py --smoke`` runs every workload with every implementation, writes JSON in the documented schema,
and ``tools/gen_performance.py`` renders it. No timing assertions: the machines are shared and noisy. What is
asserted is what a broken benchmark would get wrong: an implementation that fails, gradients or losses that do
not match hand-written NumPy (a peer timing different work), targets computed from the wrong rows.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.mxnet  # (this module measures or checks what runs on MXNet)

ROOT = Path(__file__).resolve().parent.parent
TIMED = ("chain", "mlp", "cnn", "rnn", "svi")
TIMED_ROWS = ("numpy (hand-written)", "imperdl default", "imperdl only_numpy", "imperdl prefer_mxnet",
              "imperdl jit", "HIPS autograd", "PyTorch eager", "PyTorch eager (1 thread)", "MXNet imperative",
              "MXNet Gluon hybridized")
MEMORY_ROWS = ("numpy (hand-written)", "imperdl default", "imperdl only_numpy", "imperdl prefer_mxnet",
               "HIPS autograd", "PyTorch eager", "MXNet imperative")
TARGET_IDS = ("chain-vs-autograd", "chain-vs-pytorch", "mlp-vs-numpy", "cnn-vs-gluon", "cnn-vs-pytorch",
              "svi-vs-autograd", "rnn-vs-numpy", "chain-jit-vs-pytorch", "mlp-jit-vs-numpy", "cnn-jit-vs-gluon",
              "memory-vs-numpy")
JIT_WORKLOADS = ("chain", "mlp", "cnn")  # the workloads with an "imperdl jit" row (whole step under imperdl.jit)


def _have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def _optional(row_name: str) -> bool:
    """PyTorch rows are n/a or failed where torch is not installed (CI installs the test extra, not bench)."""
    return row_name.startswith("PyTorch") and not _have_torch()


def _gen_performance():
    spec = importlib.util.spec_from_file_location("gen_performance", ROOT / "tools" / "gen_performance.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # as from a shell: not the engine variable imperdl set in this pytest process when it loaded MXNet
    env = {k: v for k, v in os.environ.items() if k != "MXNET_ENGINE_TYPE"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run_all.py"), "--smoke", "--json", str(out / "r.json"),
         "--markdown", str(out / "r.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, f"run_all --smoke failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return {"dir": out, "data": json.loads((out / "r.json").read_text()), "md": (out / "r.md").read_text(),
            "stdout": proc.stdout}


def test_top_level_schema(smoke):
    data = smoke["data"]
    assert data["schema"] == 1 and data["mode"] == "smoke"
    assert set(data) >= {"machine", "workloads", "targets", "profiles", "wall_seconds"}
    m = data["machine"]
    assert m["cores"] >= 1 and m["cpu"] and m["date"]
    assert set(m["versions"]) >= {"python", "numpy", "mxnet", "torch", "autograd", "imperdl"}
    assert "Policy" in m["imperdl_default_policy"]
    assert set(data["workloads"]) == {*TIMED, "memory"}


def test_every_family_ran_in_its_own_process(smoke):
    threads = smoke["data"]["machine"]["threads"]
    assert set(threads) - {"jax"} == {"numpy", "imperdl", "mxnet", "torch", "torch1"}  # jax: where its venv exists
    if "jax" in threads:
        assert threads["jax"]["loaded"] == ["jax"]
    assert "torch" not in threads["imperdl"]["loaded"] and "mxnet" not in threads["torch"]["loaded"]
    assert "mxnet" not in threads["numpy"]["loaded"]
    assert threads["imperdl"]["MXNET_ENGINE_TYPE"] == "NaiveEngine"  # imperdl's choice, in imperdl's process only
    assert threads["mxnet"]["MXNET_ENGINE_TYPE"] is None  # MXNet peers: MXNet's own default engine
    if _have_torch():
        assert threads["torch1"]["torch_threads"] == 1


@pytest.mark.parametrize("name", TIMED)
def test_timed_workload_rows(smoke, name):
    w = smoke["data"]["workloads"][name]
    assert w["unit"] in ("us/op", "ms/step") and w["rounds"] >= 1
    rows = {r["name"]: r for r in w["rows"]}
    expected = [n for n in TIMED_ROWS if (_have_torch() or not n.startswith("PyTorch"))
                and (n != "imperdl jit" or name in JIT_WORKLOADS)]
    assert [r["name"] for r in w["rows"] if r["name"] in expected] == expected  # present, in canonical order
    for r in w["rows"]:
        if _optional(r["name"]):
            continue
        assert "error" not in r, f"{name}: {r['name']} failed: {r.get('error')}"
        if "na" in r:
            assert ((name, r["name"]) == ("cnn", "HIPS autograd") or r["name"].startswith("JAX")
                    or (name == "svi" and r["name"].startswith("MXNet"))), \
                f"{name}: {r['name']} unexpectedly n/a"
            continue
        assert 0 < r["min"] <= r["median"] <= r["max"] and r["rounds"] == w["rounds"]
    ref = rows["imperdl default"]["median"]
    for r in w["rows"]:
        if "median" in r:
            assert r["ratio"] == pytest.approx(ref / r["median"])


@pytest.mark.parametrize("name", TIMED)
def test_every_implementation_computes_the_same_gradients(smoke, name):
    rows = smoke["data"]["workloads"][name]["rows"]
    checked = [r for r in rows if r.get("grad_max_rel_diff") is not None]
    # NumPy, three imperdl policies, autograd or MXNet, PyTorch where installed (svi has no MXNet row: one fewer)
    minimum = 6 - (name == "svi" and not _have_torch())
    assert len(checked) >= minimum, [r["name"] for r in checked]
    for r in checked:
        assert "grad_error" not in r, r
        assert r["grad_max_rel_diff"] < 1e-3, f"{name}: {r['name']} gradients differ from hand-written NumPy"


def test_memory_rows(smoke):
    w = smoke["data"]["workloads"]["memory"]
    rows = {r["name"]: r for r in w["rows"]}
    assert tuple(rows) == MEMORY_ROWS
    for r in w["rows"]:
        if _optional(r["name"]):
            continue
        assert "error" not in r, f"{r['name']} failed: {r.get('error')}"
        assert r["peak_mb"] >= r["baseline_mb"] > 0 and r["delta_mb"] == pytest.approx(
            r["peak_mb"] - r["baseline_mb"], abs=0.11)
        assert r["loss_rel_diff"] < 1e-4, f"{r['name']} trained a different network (loss {r['final_loss']})"
    assert rows["imperdl default"]["steps"] == w["config"]["steps"]


def test_targets_come_from_the_right_rows(smoke):
    data = smoke["data"]
    targets = {t["id"]: t for t in data["targets"]}
    assert tuple(targets) == TARGET_IDS
    assert {i for i, t in targets.items() if t.get("row") == "imperdl jit"} == {f"{w}-jit-vs-{p}" for w, p in (
        ("chain", "pytorch"), ("mlp", "numpy"), ("cnn", "gluon"))}
    for t in targets.values():
        if _optional(t["peer"]):
            continue
        rows = {r["name"]: r for r in data["workloads"][t["workload"]]["rows"]}
        key = "delta_mb" if t["workload"] == "memory" else "median"
        assert t["imperdl"] == rows[t.get("row", "imperdl default")][key]
        assert t["peer_value"] == rows[t["peer"]][key]
        if t["ratio"] is not None:
            assert t["ratio"] == pytest.approx(t["imperdl"] / t["peer_value"])
            assert t["met"] is (t["ratio"] <= t["limit"])


def test_missed_targets_have_a_profile(smoke):
    data = smoke["data"]
    for t in data["targets"]:
        if t["met"] is False:
            prof = data["profiles"][t["workload"] + (" jit" if t.get("row") == "imperdl jit" else "")]
            assert "error" not in prof, prof
            assert ("by_line" in prof) if t["workload"] == "memory" else ("tottime" in prof and prof["steps"] >= 1)


def test_markdown_is_what_gen_performance_renders(smoke):
    out = smoke["dir"]
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_performance.py"), "--json", str(out / "r.json"),
                            "--out", str(out / "r.md"), "--check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    md = smoke["md"]
    assert md.startswith("# Performance\n")
    for heading in ("## The machine and the run", "## Targets", "## Summary", "### chain:", "### mlp:", "### cnn:",
                    "### rnn:", "### memory:"):
        assert heading in md
    for t in smoke["data"]["targets"]:
        assert t["text"] in md
    assert smoke["data"]["machine"]["cpu"] in md


def test_a_timed_wrong_result_fails_the_round():
    """Each round checks its last timed step against the reference: a benchmark never times a wrong answer."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import _harness as H
    finally:
        sys.path.remove(str(ROOT / "bench"))
    import numpy as onp

    ref = {"x": onp.arange(4.0)}
    calls = []

    def step():
        calls.append(1)
        return onp.arange(4.0) * (1.0 if len(calls) < 3 else 1.01)  # the third call is 1% off

    case = H.Case("c", "imperdl", step=step, check=lambda _, got: H.expect_close({"x": got}, ref, "c"))
    assert H._round(case, 2) >= 0  # two right results
    with pytest.raises(H.WrongResult, match="differs from the reference"):
        H._round(case, 1)
    seen = []
    case = H.Case("s", "imperdl", step=lambda: seen.append("step"), snapshot=lambda: seen.append("snapshot"),
                  check=lambda before, got: seen.append("check"))
    H._round(case, 3)
    assert seen == ["step", "step", "snapshot", "step", "check"]  # the last timed step is the one checked


def test_chart_and_extra_sections_come_from_the_json(smoke, tmp_path):
    """bench/chart.py draws the ratio chart from the run's JSON; the page links it (and the callgrind and thread
    tables) only when those files sit next to the JSON."""
    spec = importlib.util.spec_from_file_location("bench_chart", ROOT / "bench" / "chart.py")
    chart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chart)
    data = smoke["data"]
    ratios = chart.ratios(data)
    assert ratios["chain"]["HIPS autograd"] == next(r["ratio"] for r in data["workloads"]["chain"]["rows"]
                                                    if r["name"] == "HIPS autograd")
    jit_bars = chart.row_ratios(data)  # the jit targets' own bars: the jit row / the target's peer
    for t in data["targets"]:
        if t.get("row") and t["ratio"]:
            assert (t["row"], t["peer"], t["ratio"], t["limit"]) in jit_bars[t["workload"]]
    gen = _gen_performance()
    assert "![" not in gen.render(data, base=tmp_path) and "callgrind" not in gen.render(data, base=tmp_path)
    chart.draw(data, tmp_path / gen.CHART)
    assert (tmp_path / gen.CHART).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / gen.CALLGRIND).write_text(json.dumps({
        "steps": 2, "ops_per_step": 50, "date": "d", "seconds": 1,
        "rows": [{"name": "numpy (hand-written)", "per_op": 11231.0}, {"name": "JAX eager", "skipped": "why"}]}))
    md = gen.render(data, base=tmp_path)
    assert f"]({gen.CHART})" in md and "| numpy (hand-written) | 11,231 |" in md and "skipped: why" in md


def test_render_refuses_an_unknown_schema():
    with pytest.raises(ValueError, match="schema"):
        _gen_performance().render({"schema": 99})


def test_published_page_matches_its_json():
    """docs/performance.md is generated from docs/performance.json, never edited by hand."""
    if not (ROOT / "docs" / "performance.json").exists():
        pytest.skip("no published results yet (python bench/run_all.py --docs)")
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_performance.py"), "--check"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
