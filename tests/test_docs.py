"""Every code snippet in ``docs/`` runs, and the output a page shows is the output the snippet prints.

Conventions for pages (``docs/**/*.md``):

- A fenced block tagged ``python`` is executed. A page's blocks run in order, in one fresh namespace per page, so a
  later block may use what an earlier one defined. Blocks that must not run use ``bash``/``console`` (commands) or
  ``text``/no tag (displays). Other Python-ish tags (``py``, ``pycon``, ...) are refused, so nothing meant to run
  is skipped silently.
- A ``text`` block that comes right after a ``python`` block (only blank lines between them) is that block's
  expected output: what it writes to stdout and stderr together (``print``, logging handlers, warnings). The
  comparison ignores differences in whitespace, and ``...`` in the expected text matches any text (ids, paths).
- Inline code that names an ``imperdl`` object (``imperdl.core.grad``, ``imperdl.set_global_policy(...)``) must
  name one that exists (or one of imperdl's loggers), so the prose cannot drift from the code either.

All pages run in one subprocess (one import of imperdl and MXNet), each page in a fresh temporary directory and
from a clean engine: the default policy, fallback mode 'ignore', default context, zeroed statistics, the registry's
MXNet implementations and gradient rules as shipped, logging, warning filters and NumPy print options as before.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)(?P<rest>.*)$")
# tags that look like Python but would not run: refuse them rather than skip them
_PYTHONISH = {"py", "py3", "python3", "pycon", "ipython", "ipython3", "pyi", "python-repl"}


@dataclasses.dataclass
class Snippet:
    line: int  # 1-based line of the first code line in the page
    code: str
    expected: str | None = None  # the text block right after it, if any
    expected_line: int | None = None


def parse_blocks(text: str, name: str = "<page>") -> list[tuple[str, int, str, int, int]]:
    """Fenced blocks of a page as ``(lang, first code line, code, opening line, closing line)`` (1-based lines),
    the fence's indentation removed from the code."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m["indent"], m["fence"], m["lang"].lower()
        start = i + 1
        j = start
        closing = re.compile(rf"^{re.escape(indent)}{fence[0]}{{{len(fence)},}}[ \t]*$")
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        if j == len(lines):
            raise ValueError(f"{name}:{i + 1}: fenced block is never closed")
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[start:j]]
        blocks.append((lang, start + 1, "\n".join(body) + "\n", i + 1, j + 1))
        i = j + 1
    return blocks


def snippets(text: str, name: str = "<page>") -> list[Snippet]:
    """The executable snippets of a page, each with the output block that follows it (if any)."""
    out: list[Snippet] = []
    lines = text.splitlines()
    prev_end = None  # closing-fence line (1-based) of the previous python block
    for lang, first, code, open_line, close_line in parse_blocks(text, name):
        if lang in _PYTHONISH:
            raise ValueError(f"{name}:{open_line}: use ```python (run) or ```console/```text (not run), not {lang!r}")
        if lang == "python":
            out.append(Snippet(first, code))
            prev_end = close_line
            continue
        if lang == "text" and prev_end is not None and out[-1].expected is None:
            between = lines[prev_end:open_line - 1]
            if all(not ln.strip() for ln in between):
                out[-1].expected = code
                out[-1].expected_line = first
        prev_end = None
    return out


def output_matches(expected: str, actual: str) -> bool:
    """Equal up to whitespace; ``...`` in ``expected`` stands for any text (also none)."""
    exp = " ".join(expected.split())
    act = " ".join(actual.split())
    parts = re.split(r"\s*\.\.\.\s*", exp)
    pattern = r".*?".join(re.escape(p) for p in parts)
    return re.fullmatch(pattern, act, re.S) is not None


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _page_id(p: Path) -> str:
    return Path(p).resolve().relative_to(DOCS).as_posix()


# ------------------------------------------------------------------------------------------- the runner (child)
class _Sink:
    """stdout and stderr of the snippets: one stream object whose buffer is swapped per snippet, so a logging
    handler made in one snippet writes into the output of the later ones too."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def take(self) -> str:
        s = "".join(self.parts)
        self.parts = []
        return s


def _run_pages(paths: list[str]) -> list[dict]:
    import contextlib
    import logging
    import traceback
    import warnings

    import numpy

    import imperdl
    import imperdl.numpy  # noqa: F401
    from imperdl.core import registry
    from imperdl.core.backends import mxnet_backend

    before = logging.root.handlers[:]
    mxnet_backend.load()  # import noise (MXNet's own warnings) before any snippet, not inside one
    logging.root.handlers[:] = before  # MXNet's set_np calls logging.info(), which configures the root logger
    sys.path.insert(0, str(ROOT))  # the contributor page imports the test helpers (tests.gradients.checker)
    ctx = imperdl.current_context()
    printopts = numpy.get_printoptions()
    sink = _Sink()
    results = []
    for path in paths:
        page = Path(path).resolve()
        name = _page_id(page)
        saved_registry = {n: (p.impls[:], p.preds[:], p.meta, p.vjp) for n, p in registry.REGISTRY.items()}
        root_handlers, root_level = logging.root.handlers[:], logging.root.level
        loggers = {n: (lg.level, lg.handlers[:], lg.propagate, lg.disabled)
                   for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
        imperdl.set_global_policy(None)  # the default policy of the context, which outlives pages:
        imperdl.get_global_policy().clear_cache()  # forget decisions made with a page's registry changes
        imperdl.set_fallback_mode("ignore")
        imperdl.set_context(ctx)
        imperdl.reset_statistics()
        outputs = []
        namespace = {"__name__": "__main__"}
        cwd = os.getcwd()
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), \
                contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            os.chdir(tmp)
            try:
                for snip in snippets(page.read_text(), name):
                    code = compile("\n" * (snip.line - 1) + snip.code, str(page), "exec")
                    try:
                        exec(code, namespace)
                        outputs.append({"line": snip.line, "output": sink.take(), "error": None})
                    except BaseException:
                        outputs.append({"line": snip.line, "output": sink.take(), "error": traceback.format_exc()})
                        break
            finally:
                os.chdir(cwd)
        numpy.set_printoptions(**printopts)
        logging.root.handlers[:] = root_handlers
        logging.root.setLevel(root_level)
        for n, lg in logging.root.manager.loggerDict.items():
            if isinstance(lg, logging.Logger):
                level, handlers, propagate, disabled = loggers.get(n, (logging.NOTSET, [], True, False))
                lg.setLevel(level)
                lg.handlers[:] = handlers
                lg.propagate, lg.disabled = propagate, disabled
        for n, p in list(registry.REGISTRY.items()):
            if n in saved_registry:
                p.impls[:], p.preds[:], p.meta, p.vjp = saved_registry[n]
        results.append({"page": name, "snippets": outputs})
    return results


# ------------------------------------------------------------------------------------------- the tests (parent)
def _run_child(paths: list[Path]) -> dict:
    """Run the pages' snippets in a child process; {page id: [{line, output, error}]}."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        env.pop("IMPERDL_CHECK_META", None)  # run the snippets as users do
        proc = subprocess.run([sys.executable, __file__, str(out), *map(str, paths)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0 and out.exists(), f"docs runner failed:\n{proc.stdout}\n{proc.stderr}"
        return {r["page"]: r["snippets"] for r in json.loads(out.read_text())}


def _has_code(p: Path) -> bool:
    try:
        return bool(snippets(p.read_text(), _page_id(p)))
    except ValueError:  # a malformed page: test_every_page_parses names it
        return False


@pytest.mark.mxnet  # the pages show what runs where with MXNet installed (the documented default install)
def test_every_snippet_runs_and_prints_what_its_page_shows():
    """One test for all pages, so that one child process (one MXNet import) serves them, also under xdist."""
    paths = [p for p in pages() if _has_code(p)]
    assert paths, "no executable snippets found under docs/"
    ran = _run_child(paths)
    problems = []
    for page in paths:
        name = _page_id(page)
        results = {r["line"]: r for r in ran[name]}
        for snip in snippets(page.read_text(), name):
            r = results.get(snip.line)
            if r is None:
                problems.append(f"docs/{name}:{snip.line}: not run (an earlier snippet on the page failed)")
                continue
            if r["error"]:
                problems.append(f"docs/{name}:{snip.line}: raised\n{r['error']}")
                continue
            if snip.expected is not None and not output_matches(snip.expected, r["output"]):
                problems.append(f"docs/{name}:{snip.expected_line}: shown output differs from what runs.\n"
                                f"--- shown\n{snip.expected}--- printed\n{r['output']}")
    assert not problems, "\n\n".join(problems)


_INLINE = re.compile(r"(?<!`)`(imperdl(?:\.[A-Za-z_]\w*)*)(?:\([^`]*\))?`(?!`)")


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("page", pages(), ids=_page_id)
def test_imperdl_names_in_prose_exist(page):
    """Every inline-code ``imperdl...`` name on a page resolves (MinPy's docs described classes that were gone)."""
    text = page.read_text()
    import logging

    import imperdl  # noqa: F401  (creates its loggers, whose names pages mention too)

    missing = []
    for m in _INLINE.finditer(text):
        if m.group(1) in logging.root.manager.loggerDict:  # a logger: `imperdl.array`, `imperdl.dispatch`
            continue
        try:
            _resolve(m.group(1))
        except (ImportError, AttributeError) as e:
            line = text.count("\n", 0, m.start()) + 1
            missing.append(f"docs/{_page_id(page)}:{line}: `{m.group(1)}` does not exist ({e})")
    assert not missing, "\n".join(missing)


def test_every_page_parses():
    for p in pages():
        snippets(p.read_text(), _page_id(p))


# ------------------------------------------------------------------------------------- self-tests of the checker
def test_output_block_pairs_with_the_python_block_before_it():
    page = "x\n```python\nprint(1)\n```\n\n```text\n1\n```\n```python\nx = 2\n```\nprose\n```text\nnot output\n```\n"
    got = snippets(page)
    assert [(s.line, s.expected) for s in got] == [(3, "1\n"), (10, None)]


def test_pythonish_tags_and_unclosed_fences_are_refused():
    with pytest.raises(ValueError, match="pycon"):
        snippets("```pycon\n>>> 1\n```\n")
    with pytest.raises(ValueError, match="never closed"):
        snippets("```python\nprint(1)\n")


def test_indented_blocks_run_too():
    got = snippets("!!! note\n    ```python\n    print(3)\n    ```\n    ```text\n    3\n    ```\n")
    assert got[0].code == "print(3)\n" and got[0].expected == "3\n"


def test_output_comparison():
    assert output_matches("array([1., 2.])\n", "array([1.,  2.])")
    assert output_matches('Copy ... Array "..." of shape (10, 20).', 'Copy from A to B Array "1403" of shape (10, 20).')
    assert output_matches("a\n...\nb", "a\nb")
    assert not output_matches("array([1., 2.])", "array([1., 3.])")
    assert not output_matches("12.0", "12.0\n13.0")


if __name__ == "__main__":  # the child process: python tests/test_docs.py RESULTS.json PAGE...
    Path(sys.argv[1]).write_text(json.dumps(_run_pages(sys.argv[2:])))
