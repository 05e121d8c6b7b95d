# gradspec — every target installs what it needs into .venv and is quick when nothing changed.
#   make test    run the specs (pytest spec_tests) and write build/ledger.json
#   make docs    refresh the ledger, then build the site strictly into site/
#   make serve   make docs, then serve site/ on http://127.0.0.1:8000
#   make site-check  drive headless Chromium through every page of the built site
#   make bench   benchmarks of the training core
#   make lint    ruff check + format check

SHELL := /bin/bash
export NO_MKDOCS_2_WARNING := 1
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
HOST ?= 127.0.0.1
PORT ?= 8000

STAMP_TEST := $(VENV)/.stamp-test
STAMP_DOCS := $(VENV)/.stamp-docs
STAMP_SITE := $(VENV)/.stamp-site
CHROMIUM ?= /usr/bin/chromium
LEDGER := build/ledger.json
KATEX := docs/assets/vendor/katex/katex.min.js
SITE := site/index.html

CODE := $(shell find reference gradspec_plugin spec_tests -name '*.py' -not -path '*/__pycache__/*') spec_tests/claims.toml
DOCS := mkdocs.yml $(shell find docs -type f -not -path 'docs/assets/vendor/*' -not -path '*/__pycache__/*')

.PHONY: help test docs serve live site-check bench lint clean

help:
	@sed -n '1,8p' Makefile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip

$(STAMP_TEST): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test]'
	@touch $@

$(STAMP_DOCS): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test,docs]'
	@touch $@

$(STAMP_SITE): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test,docs,site]'
	@touch $@

test: $(STAMP_TEST)
	$(BIN)/python -m pytest spec_tests

# The docs show what the last run saw, failures included: a run with failing specs (exit 1)
# still refreshes the ledger and lets the site be built; any other error stops here.
$(LEDGER): $(CODE) | $(STAMP_TEST)
	@mkdir -p build
	$(BIN)/python -m pytest spec_tests -q -n 2 || [ $$? -eq 1 ]
	@touch $@

$(KATEX): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf docs/assets/vendor/katex && mkdir -p docs/assets/vendor/katex/contrib
	cp -r node_modules/katex/dist/katex.min.css node_modules/katex/dist/fonts docs/assets/vendor/katex/
	cp node_modules/katex/dist/contrib/auto-render.min.js docs/assets/vendor/katex/contrib/
	cp node_modules/katex/dist/katex.min.js docs/assets/vendor/katex/

$(SITE): $(STAMP_DOCS) $(LEDGER) $(KATEX) $(DOCS) $(CODE)
	$(BIN)/mkdocs build --strict
	@touch $@

docs: $(SITE)

serve: docs
	@echo "Serving site/ on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind $(HOST) --directory site

# Drives Debian's headless Chromium through every page (installed with apt-get if missing).
site-check: $(SITE) $(STAMP_SITE)
	@command -v $(CHROMIUM) >/dev/null || { \
	  echo "installing Debian's chromium (once)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(BIN)/python tools/site_check.py --chromium $(CHROMIUM)

live: $(STAMP_DOCS) $(LEDGER) $(KATEX)
	$(BIN)/mkdocs serve --dev-addr $(HOST):$(PORT)

bench: $(STAMP_TEST)
	@echo "The benchmark suite of the training core is not written yet (issue: fast training core)."

lint: $(STAMP_TEST)
	$(BIN)/ruff check reference gradspec_plugin spec_tests docs tools
	$(BIN)/ruff format --check reference gradspec_plugin spec_tests docs tools

clean:
	rm -rf build site node_modules docs/assets/vendor .pytest_cache .hypothesis
