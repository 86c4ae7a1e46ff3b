"""Run published HIPS autograd / MinPy example programs under their own library and under imperdl; compare output.

The programs in ``autograd/`` and ``minpy/`` are the projects' own files, copied unmodified below a one-line header
that names their source and licence. They are the users' code under test, not ours. For a run, every program of a
library is copied into a scratch folder with

- the declared edits of ``EDITS`` applied (each must match exactly once: a published file that changes upstream
  makes the edit fail loudly instead of silently running something else). The edits only make a program small
  (fewer iterations, smaller synthetic data) or replace what cannot run offline; each says why;
- for the imperdl run only, the import lines rewritten: ``autograd`` (or ``minpy``) becomes ``imperdl`` in
  ``import``/``from`` statements, and nothing else. A program that needs more than that to run on imperdl says
  so in ``PORT_EDITS``: those are what a user still has to change, listed in docs/from-autograd.md.

``support/`` is put first on ``sys.path`` for both runs: a no-op ``matplotlib`` (the examples plot; we compare
what they print) and ``data_mnist`` returning small synthetic uint8 images and labels of MNIST's shapes instead
of downloading MNIST. ``support_minpy/`` is the reference for MinPy programs: MinPy does not install on current
Python, so a ``minpy`` package whose few names the programs use are HIPS autograd's and NumPy's (see its
docstring) stands in for it. Both runs seed NumPy's global generator with 0 (``support/sitecustomize.py``), which
MinPy-style programs draw from.

Usage: ``python tests/examples_published/run.py [name ...]`` prints one line per program (runs on each side, numbers
equal or the first difference). ``compare(name)`` is what the test suite calls.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# a number as programs print it: ints, floats, exponents, nan/inf (numbers glued to words, such as the 1 in
# "conv1" or a date, are text)
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])|(?<!\w)[-+]?(?:nan|inf)(?!\w)")


@dataclass(frozen=True)
class Program:
    """One published program: its library folder, file, and the sibling modules it imports from that folder."""

    lib: str
    file: str
    argv: tuple[str, ...] = ()
    rtol: float = 1e-6
    atol: float = 1e-12
    timeout: float = 300.0
    notes: str = ""
    extra: tuple[str, ...] = field(default=())


SHORTER = "fewer iterations, so the comparison takes seconds"
OWN_TEXT = "it trains on its own source, which the import rewrite changes: both runs read the published text"
PY3 = "the published file fails on Python 3 / NumPy >= 1.18 under autograd too"


def _iters(text: str, n: int) -> tuple[str, str, str]:
    return (text, re.sub(r"\d+", str(n), text, count=1), SHORTER)


def _maxiter(text: str, n: int) -> tuple[str, str, str]:
    return (text, text.replace("callback=callback)", f"callback=callback, options={{'maxiter': {n}}})"), SHORTER)


# Declared edits, per file: (published text, replacement, why). Applied to both runs.
EDITS: dict[tuple[str, str], tuple[tuple[str, str, str], ...]] = {
    ("autograd", "bayesian_neural_net.py"): (
        ("num=n_data/2),", "num=n_data//2),", PY3), ("num=n_data/2)])", "num=n_data//2)])", PY3),
        _iters("num_iters=1000, callback", 60)),
    ("autograd", "gaussian_process.py"): (
        ("num=n_data/2),", "num=n_data//2),", PY3), ("num=n_data/2)])", "num=n_data//2)])", PY3),
        _maxiter("method='CG', callback=callback)", 20)),
    ("autograd", "neural_net_regression.py"): (
        ("num=n_data/2),", "num=n_data//2),", PY3), ("num=n_data/2)])", "num=n_data//2)])", PY3),
        _iters("num_iters=1000, callback", 100)),
    ("autograd", "rkhs.py"): (("d1.items() + d2.items()", "list(d1.items()) + list(d2.items())", PY3),),
    ("autograd", "black_box_svi.py"): (_iters("num_iters=2000, callback", 200),),
    ("autograd", "convnet.py"): (_iters("num_epochs = 50", 2), ("rs = npr.RandomState()", "rs = npr.RandomState(0)",
                                                                 "unseeded: two runs of the original differ")),
    ("autograd", "deep_gaussian_process.py"): (_maxiter("method='CG', callback=callback)", 10),),
    ("autograd", "gmm.py"): (_maxiter("method='Newton-CG', callback=callback)", 5),),
    ("autograd", "ica.py"): (_maxiter("method='CG', callback=callback)", 20),),
    ("autograd", "gplvm.py"): (_maxiter("method='CG', callback=callback)", 10),),
    ("autograd", "hmm_em.py"): (_iters("max_lines=60", 3), ("'lstm.py')", "'lstm.py.txt')", OWN_TEXT),
                                ("atol=1e-3, rtol=1e-3", "atol=1e-1, rtol=1e-1", SHORTER)),
    ("autograd", "lstm.py"): (_iters("num_iters=1000, callback", 20), _iters("for t in range(20):", 2),
                              ("'lstm.py')", "'lstm.py.txt')", OWN_TEXT)),
    ("autograd", "rnn.py"): (_iters("num_iters=1000, callback", 20), _iters("for t in range(20):", 2),
                             ("'rnn.py')", "'rnn.py.txt')", OWN_TEXT)),
    ("autograd", "mixture_variational_inference.py"): (_iters("num_iters=2000, callback", 30),),
    ("autograd", "natural_gradient_black_box_svi.py"): (_iters("num_iters = 200", 10),),
    ("autograd", "ode_net.py"): (_iters("num_iters=1000, callback", 3),),
}

# Edits the imperdl run needs beyond the import lines: what a migrating user still changes, and why.
PORT_EDITS: dict[tuple[str, str], tuple[tuple[str, str, str], ...]] = {
    ("autograd", "bayesian_optimization.py"): (
        ("grad_obj = value_and_grad(lambda x: -acquisition_function(x))",
         "grad_obj = (lambda vg: lambda x: tuple(__import__('numpy').asarray(v) for v in vg(x)))("
         "value_and_grad(lambda x: -acquisition_function(x)))",
         "SciPy's L-BFGS-B hands the gradient to Fortran, which needs an ndarray (docs/from-autograd.md)"),),
    ("minpy", "basics_multiple_derivative.py"): (
        ("from imperdl.array_variants import ArrayType\n", "",
         "MinPy's internal enumeration of its two backends (unused by the program); imperdl has no such module"),),
    ("autograd", "convnet.py"): (
        ("convolve = autograd.scipy.signal.convolve", "convolve = imperdl.scipy.signal.convolve",
         "the body names the module through the package bound by `import autograd.scipy.signal`"),),
}

# Published files not copied into the scratch folder, because support/ replaces them.
REPLACED = {("autograd", "data_mnist.py"): "downloads MNIST: support/data_mnist.py gives synthetic data of its shapes"}

# every published program of both folders (data.py and data_mnist.py are autograd's helper modules, not programs)
PROGRAMS: dict[str, Program] = {
    f"{lib}/{path.stem}": Program(lib, path.name)
    for lib in ("autograd", "minpy")
    for path in sorted((HERE / lib).glob("*.py"))
    if path.name not in ("data.py", "data_mnist.py")
}
# its last line is the gradient at the optimum: round-off (1e-12) of a sum of 1000 terms, not a result
PROGRAMS["autograd/negative_binomial_maxlike"] = Program("autograd", "negative_binomial_maxlike.py", atol=1e-9)


def _edit(source: str, edits: tuple[tuple[str, str, str], ...], where: str) -> str:
    for old, new, why in edits:
        count = source.count(old)
        if count != 1:
            raise AssertionError(f"{where}: declared edit ({why}) expects {old!r} once, found it {count} times")
        source = source.replace(old, new)
    return source


IMPORT_LINE = re.compile(r"^(\s*(?:from|import)\s.*)$", re.MULTILINE)


def rewrite_imports(source: str, lib: str) -> str:
    """Replace the library's name by ``imperdl`` in import statements only (continuation lines included)."""
    word = re.compile(rf"\b{lib}\b")
    return IMPORT_LINE.sub(lambda m: word.sub("imperdl", m.group(1)), source)


def _stage(lib: str, target: str, folder: Path) -> None:
    """Copy the library's programs into ``folder`` with the declared edits, ported to imperdl when asked."""
    for path in sorted((HERE / lib).iterdir()):
        if (lib, path.name) in REPLACED:
            continue
        if path.suffix != ".py":
            shutil.copy(path, folder / path.name)
            continue
        (folder / (path.name + ".txt")).write_text(path.read_text())  # the published text, for programs that read it
        source = _edit(path.read_text(), EDITS.get((lib, path.name), ()), f"{lib}/{path.name}")
        if target == "imperdl":
            source = rewrite_imports(source, lib)
            source = _edit(source, PORT_EDITS.get((lib, path.name), ()), f"{lib}/{path.name} (port)")
        (folder / path.name).write_text(source)


@dataclass
class Run:
    target: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def error(self) -> str:
        """The last line of the traceback, or the end of stderr."""
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1] if lines else f"exit code {self.returncode}"


def run(name: str, target: str) -> Run:
    """Run program ``name`` once: ``target`` is the original library (``'autograd'``/``'minpy'``) or ``'imperdl'``."""
    prog = PROGRAMS[name]
    with tempfile.TemporaryDirectory(prefix=f"published-{name.replace('/', '-')}-") as tmp:
        folder = Path(tmp)
        _stage(prog.lib, target, folder)
        paths = [str(HERE / "support")]
        if target == "minpy":
            paths.append(str(HERE / "support_minpy"))
        paths.append(str(REPO))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), OMP_NUM_THREADS="1", MPLBACKEND="Agg",
                   PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, prog.file, *prog.argv], cwd=folder, env=env, capture_output=True,
                                  text=True, timeout=prog.timeout)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else e.stdout or ""
            return Run(target, -1, out, f"timed out after {prog.timeout} s", prog.timeout)
        return Run(target, done.returncode, done.stdout, done.stderr, time.perf_counter() - start)


def numbers(text: str) -> list[float]:
    return [float(m) for m in NUMBER.findall(text)]


def difference(reference: str, ours: str, rtol: float, atol: float) -> str | None:
    """None when both outputs are the same text with the same numbers (within tolerance), else the first difference."""
    ref_lines, our_lines = reference.splitlines(), ours.splitlines()
    if len(ref_lines) != len(our_lines):
        return f"{len(ref_lines)} lines printed by the original, {len(our_lines)} by imperdl"
    for i, (a, b) in enumerate(zip(ref_lines, our_lines)):
        if NUMBER.sub("#", a).split() != NUMBER.sub("#", b).split():
            return f"line {i + 1} text differs: {a!r} vs {b!r}"
        for x, y in zip(numbers(a), numbers(b)):
            same = (math.isnan(x) and math.isnan(y)) or x == y or abs(x - y) <= atol + rtol * abs(x)
            if not same:
                return f"line {i + 1}: {x!r} vs {y!r}: {a!r} vs {b!r}"
    return None


def compare(name: str) -> tuple[Run, Run, str | None]:
    """Run ``name`` on its library and on imperdl; the third item is None when they printed the same numbers."""
    prog = PROGRAMS[name]
    original = run(name, prog.lib)
    ours = run(name, "imperdl")
    if original.returncode != 0:
        return original, ours, f"the original run failed: {original.error()}"
    if ours.returncode != 0:
        return original, ours, f"imperdl run failed: {ours.error()}"
    return original, ours, difference(original.stdout, ours.stdout, prog.rtol, prog.atol)


def main(names: list[str]) -> None:
    for name in names or list(PROGRAMS):
        original, ours, diff = compare(name)
        verdict = "same numbers" if diff is None else diff
        print(f"{name:40} {original.seconds:6.1f}s {ours.seconds:6.1f}s  {len(numbers(original.stdout)):5d} numbers  "
              f"{verdict}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
