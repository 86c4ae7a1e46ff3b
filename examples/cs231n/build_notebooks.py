"""Build every assignment's starter and reference-solution notebooks from one source, so the two cannot drift.

A source (``sources/<Name>.py``) is a runnable Python script in the "percent" cell format:

- ``# %% [markdown]`` starts a markdown cell; its lines are comments (``# text``), written without the ``# ``;
- ``# %%`` starts a code cell;
- inside a code cell, the lines between ``# BEGIN SOLUTION <label>`` and ``# END SOLUTION`` are the reference
  solution of one TODO. The solution notebook keeps them; the starter notebook replaces them with a line that
  raises ``NotImplementedError``, so a student who runs a cell before writing its TODO gets a clear message,
  and the test that runs the starters knows where to stop. Cells with a TODO carry the tag ``todo``.

The notebooks' first code cell starts with ``%matplotlib inline``. Running a source directly
(``python sources/FullyConnectedNets.py``) runs the reference solution as a script.

Usage: ``python build_notebooks.py`` rewrites the notebooks; ``python build_notebooks.py --check`` only reports
(exit status 1) the ones that differ from what the sources give. Output is deterministic (fixed cell ids), so
regenerating an unchanged source leaves its files byte for byte identical.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
SOLUTIONS = HERE / "solutions"

# the assignments, in course order (the source file stem is the notebook name)
ASSIGNMENTS = ("FullyConnectedNets", "BatchNormalizationDropout", "ConvolutionalNetworks", "RecurrentNetworks")

_CELL = re.compile(r"^# %%(?:\s+\[(?P<kind>\w+)\])?\s*$")
_BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?:\s+(?P<label>.*\S))?\s*$")
_END = re.compile(r"^\s*# END SOLUTION\s*$")

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


@dataclass
class Cell:
    kind: str  # 'markdown' | 'code'
    lines: list[str] = field(default_factory=list)


class SourceError(ValueError):
    """A source file breaks the cell format; the message names the file and line."""


def parse(path: Path) -> list[Cell]:
    """The cells of a source file. Comment lines before the first cell marker (a ruff pragma) are dropped."""
    cells: list[Cell] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _CELL.match(line)
        if m:
            kind = m.group("kind") or "code"
            if kind not in ("markdown", "code"):
                raise SourceError(f"{path.name}:{lineno}: unknown cell kind [{kind}]")
            cells.append(Cell(kind))
            continue
        if not cells:
            if line.strip() and not line.startswith("#"):
                raise SourceError(f"{path.name}:{lineno}: code before the first '# %%' cell marker")
            continue
        cell = cells[-1]
        if cell.kind == "markdown":
            if line.strip() and not (line == "#" or line.startswith("# ")):
                raise SourceError(f"{path.name}:{lineno}: a markdown cell line must start with '# ': {line!r}")
            line = line[2:]
        cell.lines.append(line)
    for cell in cells:
        while cell.lines and not cell.lines[-1].strip():
            cell.lines.pop()
        while cell.lines and not cell.lines[0].strip():
            cell.lines.pop(0)
    return [c for c in cells if c.lines]


def render(cell: Cell, starter: bool, where: str) -> tuple[str, bool]:
    """(cell text for the starter or the solution notebook, whether the cell holds a TODO)."""
    out: list[str] = []
    has_todo = False
    inside: re.Match | None = None
    for line in cell.lines:
        begin, end = _BEGIN.match(line), _END.match(line)
        if begin:
            if inside is not None:
                raise SourceError(f"{where}: nested '# BEGIN SOLUTION'")
            inside, has_todo = begin, True
            indent, label = begin.group("indent"), begin.group("label") or "this TODO"
            out.append(f"{indent}# ---------------- TODO: {label} ----------------")
            if starter:
                out.append(f'{indent}raise NotImplementedError("TODO: write {label} (see the comments above)")')
            continue
        if end:
            if inside is None:
                raise SourceError(f"{where}: '# END SOLUTION' without BEGIN")
            out.append(f"{inside.group('indent')}# ---------------- end of TODO ----------------")
            inside = None
            continue
        if inside is None or not starter:
            out.append(line)
    if inside is not None:
        raise SourceError(f"{where}: '# BEGIN SOLUTION' without END")
    return "\n".join(out), has_todo


def build(name: str, starter: bool) -> nbformat.NotebookNode:
    """The starter (``starter=True``) or solution notebook of assignment ``name``."""
    cells = parse(SOURCES / f"{name}.py")
    if starter:
        note = (f"*Starter notebook.* Write the code in the cells marked **TODO** (each raises `NotImplementedError` "
                f"until you do), then run the checks below them. The reference solution is "
                f"`../solutions/{name}.ipynb`.")
    else:
        note = (f"*Reference solution.* The starter notebook for students is `../{name}/{name}.ipynb`; both are "
                f"generated from `sources/{name}.py` by `build_notebooks.py`.")
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    first_code = True
    for i, cell in enumerate(cells):
        cid = f"cell-{i:03d}"
        if cell.kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell("\n".join(cell.lines), id=cid))
            if i == 0:  # the note on what this notebook is goes right under the title and introduction
                nb.cells.append(nbformat.v4.new_markdown_cell(note, id="header"))
            continue
        text, has_todo = render(cell, starter, f"{name}.py cell {i}")
        if first_code:
            # without the magic, ipykernel 6.29 with matplotlib 3.8 shows a session's first figure as text only
            text, first_code = "%matplotlib inline\n" + text, False
        code = nbformat.v4.new_code_cell(text, id=cid)
        if has_todo:
            code.metadata["tags"] = ["todo"]
        nb.cells.append(code)
    if not any(c.get("id") == "header" for c in nb.cells):
        raise SourceError(f"{name}.py: the first cell must be markdown (the title and introduction)")
    nbformat.validate(nb)
    return nb


def targets(name: str) -> dict[Path, str]:
    """Output path -> file contents, for both notebooks of one assignment."""
    return {
        HERE / name / f"{name}.ipynb": nbformat.writes(build(name, starter=True)) + "\n",
        SOLUTIONS / f"{name}.ipynb": nbformat.writes(build(name, starter=False)) + "\n",
    }


def stale(names=ASSIGNMENTS) -> list[Path]:
    """Notebooks whose file differs from what their source gives (missing ones included)."""
    out = []
    for name in names:
        for path, text in targets(name).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report stale notebooks instead of writing them")
    parser.add_argument("names", nargs="*", default=list(ASSIGNMENTS), help="assignments (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(ASSIGNMENTS))
    if unknown:
        parser.error(f"unknown assignment(s) {unknown}; known: {list(ASSIGNMENTS)}")
    if args.check:
        bad = stale(args.names)
        for path in bad:
            print(f"stale: {path.relative_to(HERE)} (run python {Path(__file__).name})")
        return 1 if bad else 0
    for name in args.names:
        for path, text in targets(name).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(HERE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
