"""The course (examples/cs231n): every reference-solution notebook runs to the end, every starter notebook runs up to
its first unwritten TODO, and the committed notebooks are exactly what build_notebooks.py makes of the sources.

Notebooks run in a Jupyter kernel started from this interpreter, with IMPERDL_COURSE_SMALL=1 (the notebooks shrink
their data and epochs) and one OpenMP thread. A failing cell (an exception or a failed assertion: the notebooks
assert what they claim) fails the test with the cell's traceback.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from nbclient.exceptions import CellExecutionError  # noqa: E402

COURSE = Path(__file__).resolve().parent.parent / "examples" / "cs231n"
KERNEL = "imperdl-course"
CELL_TIMEOUT = 600


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", COURSE / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


BUILD = _builder()
NAMES = list(BUILD.ASSIGNMENTS)
# notebooks that run an MXNet symbol through imperdl.core.Function: skipped where MXNet cannot be imported
NEEDS_MXNET = {"ConvolutionalNetworks"}
RUNS = [pytest.param(n, marks=pytest.mark.mxnet) if n in NEEDS_MXNET else n for n in NAMES]


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernelspec running ipykernel on this interpreter, with the course's CI environment."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    # CIFAR10_DIR="" keeps the optional CIFAR-10 cell from training even where a copy exists
    env = {"IMPERDL_COURSE_SMALL": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "CIFAR10_DIR": ""}
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "imperdl course (CI)", "language": "python", "env": env,
    }))
    return root


def _client(nb, kernel_dir: Path, workdir: Path) -> nbclient.NotebookClient:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    ksm = KernelSpecManager(kernel_dirs=[str(kernel_dir / "kernels")])
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)
    return nbclient.NotebookClient(nb, km=km, kernel_name=KERNEL, timeout=CELL_TIMEOUT,
                                   resources={"metadata": {"path": str(workdir)}})


def test_notebooks_match_their_sources():
    """Regenerating from sources/ gives the committed .ipynb files byte for byte."""
    assert NAMES, "no assignment sources found"
    stale = BUILD.stale()
    assert not stale, f"stale notebooks (run python examples/cs231n/build_notebooks.py): {stale}"


def test_generator_turns_solution_regions_into_todos(tmp_path):
    cell = BUILD.Cell("code", ["def f(x):", "    # TODO: double x", "    # BEGIN SOLUTION f", "    y = 2 * x",
                               "    # END SOLUTION", "    return y"])
    starter, has_todo = BUILD.render(cell, starter=True, where="t")
    solution, _ = BUILD.render(cell, starter=False, where="t")
    assert has_todo and "y = 2 * x" in solution and "y = 2 * x" not in starter
    assert '    raise NotImplementedError("TODO: write f' in starter and "BEGIN SOLUTION" not in starter + solution
    namespace: dict = {}
    exec(starter, namespace)
    with pytest.raises(NotImplementedError, match="TODO: write f"):
        namespace["f"](1)
    exec(solution, namespace)
    assert namespace["f"](3) == 6
    for broken in (["# BEGIN SOLUTION", "# BEGIN SOLUTION", "# END SOLUTION"], ["# BEGIN SOLUTION", "x = 1"],
                   ["# END SOLUTION"]):
        with pytest.raises(BUILD.SourceError):
            BUILD.render(BUILD.Cell("code", broken), starter=True, where="t")
    source = tmp_path / "x.py"
    source.write_text("# %% [markdown]\n# # Title\nnot a comment\n")
    with pytest.raises(BUILD.SourceError, match="must start with"):
        BUILD.parse(source)


@pytest.mark.parametrize("name", NAMES)
def test_starter_hides_the_solutions(name):
    starter = nbformat.read(COURSE / name / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(COURSE / "solutions" / f"{name}.ipynb", as_version=4)
    assert len(starter.cells) == len(solution.cells)
    todo = 0
    for s, r in zip(starter.cells, solution.cells):
        assert s.cell_type == r.cell_type and s.get("id") == r.get("id")
        if "todo" in s.metadata.get("tags", []):
            todo += 1
            assert "raise NotImplementedError" in s.source and s.source != r.source
            assert "raise NotImplementedError" not in r.source
        elif s.get("id") != "header":
            assert s.source == r.source
    assert todo >= 3, f"{name}: only {todo} TODO cells"
    assert (COURSE / name / "README.md").is_file(), f"{name} has no README.md"


@pytest.mark.parametrize("name", RUNS)
def test_solution_notebook_runs(name, kernel_dir, tmp_path):
    nb = nbformat.read(COURSE / "solutions" / f"{name}.ipynb", as_version=4)
    start = time.perf_counter()
    try:
        _client(nb, kernel_dir, tmp_path).execute()
    except CellExecutionError as e:
        pytest.fail(f"{name}: a cell failed:\n{e}", pytrace=False)
    print(f"{name}: {time.perf_counter() - start:.1f} s")
    assert not list(tmp_path.iterdir()), f"{name} wrote files into its working directory"


@pytest.mark.parametrize("name", RUNS)
def test_starter_notebook_runs_until_its_first_todo(name, kernel_dir, tmp_path):
    """Every cell before the first unwritten TODO runs cleanly; the first failure is that TODO's
    NotImplementedError, raised by a TODO cell or a check cell after one."""
    nb = nbformat.read(COURSE / name / f"{name}.ipynb", as_version=4)
    client = _client(nb, kernel_dir, tmp_path)
    seen_todo = False
    stopped_at = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            seen_todo = seen_todo or "todo" in cell.metadata.get("tags", [])
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as e:
                assert e.ename == "NotImplementedError", f"{name}: cell {index} failed before any TODO:\n{e}"
                assert seen_todo and "TODO" in e.evalue, f"{name}: cell {index}: {e.evalue}"
                stopped_at = index
                break
    assert stopped_at is not None, f"{name}: the starter ran to the end, so its TODOs raise nothing"


def test_course_readme_lists_every_assignment():
    text = (COURSE / "README.md").read_text()
    for name in NAMES:
        assert name in text, f"examples/cs231n/README.md does not mention {name}"
    assert os.path.basename(BUILD.__file__) in text
