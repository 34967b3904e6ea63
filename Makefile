# Two commands for a fresh clone: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test docs docs-serve install install-test install-docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.py | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: setup.py | $(BIN)/python
	$(PIP) install -e ".[test]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-docs: setup.py | $(BIN)/python
	$(PIP) install -e ".[docs]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

install-docs: $(VENV)/.installed-docs

demo: install
	$(BIN)/showattend demo --out runs/demo

test: install-test
	$(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder tests

# The docs site, built strictly into site/: a broken link, a missing page or an unknown name fails it.
docs: install-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean

docs-serve: install-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) runs build site *.egg-info .pytest_cache
