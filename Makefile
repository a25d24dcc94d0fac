# The two quick-start commands: `make serve` and `make test`. Each installs what it needs.
VENV      ?= .venv
PYTHON    ?= python3
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: serve test bench lint install deps-test

serve: $(STAMP)          ## API + worker on the embedded SQLite engine, mock runtime
	$(VENV)/bin/roost serve

test: $(STAMP) deps-test ## the whole test suite, as CI runs it
	$(PY) -m pytest

bench: $(STAMP)          ## the benchmark suite (prints ratios against Huey)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check core plugins tests bench
	$(VENV)/bin/mypy core plugins

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "roost needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

deps-test:               ## system pieces the tests use: Chromium, the MongoDB wire server
	scripts/install-test-deps
