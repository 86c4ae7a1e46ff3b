# Entry points: make demo | make test | make bench | make coverage-table | make docs
# Each creates .venv with $(PYTHON) if missing and installs the package editable with the extras it needs.
# An install is stamped with a hash of pyproject.toml, so a second run installs nothing until that file changes.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KEY := $(shell $(PYTHON) -c "import hashlib;print(hashlib.sha256(open('pyproject.toml','rb').read()).hexdigest()[:16])")
# pytest-xdist workers, one per core (`make test WORKERS=0` runs serially). Each worker gets one OpenMP thread:
# MXNet's and OpenBLAS's thread pools in two workers would otherwise fight over two cores (measured on the
# 2-core machines: serial 31 s, 2 workers 52 s, 2 workers with OMP_NUM_THREADS=1 24 s).
WORKERS ?= auto

.PHONY: demo test bench coverage-table docs

$(PY):
	$(PYTHON) -m venv $(VENV)

# $(VENV)/.installed-<extra>-<key>: '.[extra]' installed for this pyproject.toml ('base' = no extra)
$(VENV)/.installed-%-$(KEY): | $(PY)
	rm -f $(VENV)/.installed-$*-*
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.$(if $(filter base,$*),,[$*])'
	touch $@

demo: $(VENV)/.installed-data-$(KEY)
	$(PY) examples/demo.py

test: $(VENV)/.installed-test-$(KEY)
	$(VENV)/bin/ruff check .
	IMPERDL_CHECK_META=1 $(if $(filter-out 0,$(WORKERS)),OMP_NUM_THREADS=1) \
	  $(PY) -m pytest -p no:cacheprovider -q $(if $(filter-out 0,$(WORKERS)),-n $(WORKERS))

# every bench/*.py script (files starting with _ are shared modules, not benchmarks)
bench: $(VENV)/.installed-bench-$(KEY)
	set -e; for f in $(filter-out bench/_%,$(sort $(wildcard bench/*.py))); do echo "== $$f"; $(PY) $$f; done

coverage-table: $(VENV)/.installed-base-$(KEY)
	$(PY) tools/gen_coverage.py

# the documentation site (mkdocs.yml), built strictly: any warning (a broken link or anchor, a page left out of
# the nav, an object mkdocstrings cannot find) fails it. Output in site/ (git-ignored); tests/test_docs.py runs
# the pages' snippets.
docs: $(VENV)/.installed-docs-$(KEY)
	$(VENV)/bin/mkdocs build --strict --site-dir site
