# Entry points: make demo | make test | make smoke | make course | make bench | make bench-callgrind | make coverage-table | make docs
# Each creates $(VENV) with $(PYTHON) if missing and installs the package editable with the extras it needs.
# An install is stamped with a hash of pyproject.toml, so a second run installs nothing until that file changes.
#
#   make test                                            the whole suite (Python 3, MXNet)
#   make test PYTHON=python3.13 VENV=.venv313 EXTRA=dev  the NumPy-only suite (no MXNet; NumPy 2 where it resolves)
#   make smoke PYTHON=python3.12 VENV=.venv312           import, seed snippets, a gradient, a Function call

PYTHON ?= python3
VENV ?= .venv
# the extra `make test` installs: 'test' (with MXNet) or 'dev' (NumPy only: MXNet-only tests skip themselves)
EXTRA ?= test
PY := $(VENV)/bin/python
# $(PYTHON) as an executable path. A name such as python3.12 that is not on PATH (pyenv shims only answer for the
# selected versions) is looked up among pyenv's installed versions.
PYTHON_EXE := $(or $(shell $(PYTHON) -c "import sys; print(sys.executable)" 2>/dev/null),$(lastword $(sort \
  $(wildcard $(shell pyenv root 2>/dev/null)/versions/$(patsubst python%,%,$(PYTHON))*/bin/$(PYTHON)))))
KEY := $(shell $(or $(PYTHON_EXE),python3) -c "import hashlib;print(hashlib.sha256(open('pyproject.toml','rb').read()).hexdigest()[:16])")
# pytest-xdist workers, one per core (`make test WORKERS=0` runs serially). Each worker gets one OpenMP thread:
# MXNet's and OpenBLAS's thread pools in two workers would otherwise fight over two cores (measured on the
# 2-core machines: serial 31 s, 2 workers 52 s, 2 workers with OMP_NUM_THREADS=1 24 s).
WORKERS ?= auto
PYTEST = $(if $(filter-out 0,$(WORKERS)),OMP_NUM_THREADS=1) $(PY) -m pytest -p no:cacheprovider -q \
  $(if $(filter-out 0,$(WORKERS)),-n $(WORKERS))
# `make course` opens a browser where there is a screen; elsewhere Jupyter prints the URL to open
NO_BROWSER := $(if $(or $(DISPLAY),$(WAYLAND_DISPLAY),$(filter Darwin,$(shell uname))),,--no-browser)
# Jupyter refuses to run as root (containers, CI) unless told
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: demo test smoke course bench bench-callgrind coverage-table docs

$(PY):
	@test -n "$(PYTHON_EXE)" || { echo "make: no interpreter '$(PYTHON)' (on PATH or in pyenv)"; exit 1; }
	$(PYTHON_EXE) -m venv $(VENV)

# $(VENV)/.installed-<extra>-<key>: '.[extra]' installed for this pyproject.toml ('base' = no extra)
$(VENV)/.installed-%-$(KEY): | $(PY)
	rm -f $(VENV)/.installed-$*-*
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.$(if $(filter base,$*),,[$*])'
	touch $@

demo: $(VENV)/.installed-demo-$(KEY)
	$(PY) examples/demo.py

test: $(VENV)/.installed-$(EXTRA)-$(KEY)
	$(VENV)/bin/ruff check .
	IMPERDL_CHECK_META=1 $(PYTEST)

smoke: $(VENV)/.installed-smoke-$(KEY)
	$(PY) -m pytest -p no:cacheprovider -q tests/test_smoke.py tests/test_seeds.py tests/test_mxnet_compat.py

# Jupyter Lab on the course (examples/cs231n/README.md says how to start an assignment); Ctrl-C stops it
course: $(VENV)/.installed-lab-$(KEY)
	$(VENV)/bin/jupyter lab $(NO_BROWSER) $(ALLOW_ROOT) --ServerApp.root_dir=examples/cs231n

# every bench/*.py script (files starting with _ are shared modules, not benchmarks), then the ratio chart of
# run_all's results (bench/results.png); the callgrind table runs ~50x slower under valgrind: make bench-callgrind
BENCH_SCRIPTS := $(filter-out bench/_% bench/callgrind.py bench/chart.py,$(sort $(wildcard bench/*.py)))
bench: $(VENV)/.installed-bench-$(KEY)
	set -e; for f in $(BENCH_SCRIPTS); do echo "== $$f"; $(PY) $$f; done
	$(PY) bench/chart.py --json bench/results.json

bench-callgrind: $(VENV)/.installed-bench-$(KEY)
	$(PY) bench/callgrind.py

coverage-table: $(VENV)/.installed-mxnet-$(KEY)
	$(PY) tools/gen_coverage.py

# the documentation site (mkdocs.yml), built strictly: any warning (a broken link or anchor, a page left out of
# the nav, an object mkdocstrings cannot find) fails it. Output in site/ (git-ignored); tests/test_docs.py runs
# the pages' snippets.
docs: $(VENV)/.installed-docs-$(KEY)
	$(VENV)/bin/mkdocs build --strict --site-dir site
