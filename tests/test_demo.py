"""examples/demo.py, the main demo: a reduced run trains, reaches a reasonable accuracy, writes its plot, and its
exit status reflects the accuracy target; --gpu without a GPU says so and falls back to the CPU."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.mxnet  # (this module measures or checks what runs on MXNet)

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"

pytest.importorskip("mlxtend")


def _run(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", **(env_extra or {})}
    return subprocess.run([sys.executable, str(DEMO), *args], capture_output=True, text=True, env=env, timeout=300)


def _demo_module():
    spec = importlib.util.spec_from_file_location("imperdl_demo", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reduced_demo_trains_and_saves_its_plot(tmp_path):
    # 2000 images, one epoch (40 steps): about 90% validation accuracy in a few seconds
    proc = _run("--epochs", "1", "--num-train", "2000", "--out", str(tmp_path), "--min-accuracy", "0.8")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    acc = float(re.search(r"validation accuracy: ([0-9.]+)", proc.stdout).group(1))
    assert acc >= 0.8, proc.stdout
    plot = tmp_path / "demo_history.png"
    assert f"plot saved to {plot}" in proc.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000
    assert "training on CPU" in proc.stdout
    # the eager-vs-jit comparison ran and both trained the same parameters (the demo exits otherwise)
    assert re.search(r"eager [0-9.]+ ms, imperdl.jit [0-9.]+ ms; parameters identical bit for bit", proc.stdout)


def test_missed_target_gives_exit_status_1_and_primitives_run_too(tmp_path):
    proc = _run("--epochs", "1", "--num-train", "200", "--conv", "primitives", "--out", str(tmp_path),
                "--min-accuracy", "0.999", "--compare-steps", "0")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "imperdl.jit traced the training step 1 time(s)" in proc.stdout  # primitives: the main run is jitted
    assert "time per training step" not in proc.stdout  # --compare-steps 0
    assert "below the target" in proc.stderr
    assert (tmp_path / "demo_history.png").is_file()


def test_both_conv_implementations_compute_the_same_network():
    """The MXNet-symbol blocks and imperdl's primitives give the same scores and gradients (float64)."""
    import numpy

    import imperdl.numpy as np
    from imperdl.core import grad

    demo = _demo_module()
    rng = numpy.random.RandomState(0)
    X = rng.randn(3, 1, 28, 28)
    y = numpy.array([1, 7, 3])
    models = [demo.SmallConvNet(conv=c) for c in ("symbol", "primitives")]
    for name, cfg in models[0].param_configs.items():
        value = np.array(0.1 * rng.randn(*cfg["shape"]))
        for m in models:
            m.params[name] = value

    def loss(params, m):
        saved, m.params = m.params, params
        try:
            return m.loss(m.forward(X, "train"), y)
        finally:
            m.params = saved

    (g_sym, g_prim) = (grad(loss)(m.params, m) for m in models)
    numpy.testing.assert_allclose(numpy.asarray(models[0].forward(X, "test")),
                                  numpy.asarray(models[1].forward(X, "test")), rtol=1e-10)
    for name in g_sym:
        numpy.testing.assert_allclose(numpy.asarray(g_sym[name]), numpy.asarray(g_prim[name]), rtol=1e-8,
                                      atol=1e-12, err_msg=name)


def test_gpu_request_without_a_gpu_falls_back_to_the_cpu_with_a_message(monkeypatch):
    import imperdl

    demo = _demo_module()
    assert demo.choose_context(False)[0] == imperdl.cpu()
    ctx, why = demo.choose_context(True)
    if imperdl.context.num_gpus() > 0:
        assert ctx == imperdl.gpu(0) and "GPU 0" in why
    else:
        assert ctx == imperdl.cpu() and "MXNet sees none" in why and "CPU" in why
    monkeypatch.delenv("IMPERDL_GPU", raising=False)
    assert demo.parse_args([]).gpu is False and demo.parse_args(["--gpu"]).gpu is True
    monkeypatch.setenv("IMPERDL_GPU", "1")
    assert demo.parse_args([]).gpu is True
    monkeypatch.setenv("IMPERDL_GPU", "0")
    assert demo.parse_args([]).gpu is False
