# Two commands for a fresh clone: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test docs docs-serve install install-test install-docs browser clean

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

# The viewer's browser tests drive Debian's chromium through chromium-driver: installed here when missing,
# where apt-get and root are at hand (beside pip's install); elsewhere those tests skip and say why.
browser:
	@command -v chromedriver >/dev/null || ! command -v apt-get >/dev/null || [ "$$(id -u)" != 0 ] || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
	   >/dev/null) || echo "Could not install chromium and chromium-driver: the browser tests will skip."

test:
	$(MAKE) --no-print-directory -j2 install-test browser
	$(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder tests

# The docs site, built strictly into site/: a broken link, a missing page or an unknown name fails it.
docs: install-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean

docs-serve: install-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) runs build site *.egg-info .pytest_cache
