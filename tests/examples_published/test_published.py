"""Published HIPS autograd and MinPy example programs print the same numbers on imperdl, with only their imports
changed (see run.py for how each is run, the declared edits and the reference used for MinPy programs).

A selection that runs in seconds is part of the suite; ``python tests/examples_published/run.py`` runs them all.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("autograd")  # the oracle: the programs' own library

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402

# fast, and between them: MNIST-shaped data with adam and flatten, autograd's generalized convolve (LeNet), an
# LSTM, scipy.stats distributions imported as modules, scipy.special in a maximum likelihood fit, a user primitive
# with check_grads, scipy.optimize's Newton-CG driving grad and hessian_vector_product; MinPy's grad on logistic
# models, grad_and_loss over a list of argnums, and its policy module
SELECTED = (
    "autograd/neural_net",
    "autograd/convnet",
    "autograd/lstm",
    "autograd/natural_gradient_black_box_svi",
    "autograd/negative_binomial_maxlike",
    "autograd/define_gradient",
    "autograd/fixed_points",
    "autograd/gmm",
    "minpy/logistic_regression",
    "minpy/basics_multiple_derivative",
    "minpy/basics_multiplication",
)


@pytest.mark.parametrize("name", SELECTED)
def test_published_program_prints_the_same_numbers(name):
    original, ours, difference = run.compare(name)
    assert original.returncode == 0, original.stderr[-3000:]
    assert ours.returncode == 0, ours.stderr[-3000:]
    assert len(run.numbers(original.stdout)) > 0
    assert difference is None, difference


@pytest.mark.parametrize("target", ["autograd", "imperdl"])
def test_every_declared_edit_applies_once(tmp_path, target):
    """A published file that changed upstream (re-copied) must fail here, not run something other than declared."""
    for lib in ("autograd", "minpy"):
        folder = tmp_path / f"{lib}-{target}"
        folder.mkdir()
        run._stage(lib, target if target == "imperdl" else lib, folder)
        staged = {p.name for p in folder.glob("*.py")}
        assert {p.name for p in (run.HERE / lib).glob("*.py")} - staged <= {"data_mnist.py"}
        if target == "imperdl":
            for path in folder.glob("*.py"):
                imports = [ln for ln in path.read_text().splitlines() if ln.lstrip().startswith(("import ", "from "))]
                assert not any(lib in ln.split() or f"{lib}." in ln for ln in imports), path.name


def test_import_rewrite_touches_import_lines_only():
    source = "import autograd.numpy as np\nfrom autograd import grad\nx = 'autograd'\nconvolve = autograd.f\n"
    assert run.rewrite_imports(source, "autograd") == (
        "import imperdl.numpy as np\nfrom imperdl import grad\nx = 'autograd'\nconvolve = autograd.f\n")


def test_comparison_sees_a_changed_number_and_tolerates_round_off():
    assert run.difference("loss 1.0 at 3\n", "loss 1.0000000000001 at 3\n", 1e-6, 0.0) is None
    assert "1.001" in run.difference("loss 1.0 at 3\n", "loss 1.001 at 3\n", 1e-6, 0.0)
    assert run.difference("loss 1.0\n", "gain 1.0\n", 1e-6, 0.0) is not None
    assert run.difference("a 1\n", "a 1\nb 2\n", 1e-6, 0.0) is not None
