# gradspec — every target installs what it needs into .venv and is quick when nothing changed.
#   make test    run the specs (pytest spec_tests) and write build/ledger.json
#   make docs    refresh the ledger, then build the site strictly into site/
#   make serve   make docs, then serve site/ on http://127.0.0.1:8000
#   make site-check  drive headless Chromium through every page of the built site
#   make bench   benchmarks of the training core (writes build/benchmarks.json, docs/data/)
#   make bench-check  fails when a benchmark ratio misses its target or falls >30% below baseline
#   make fuzz    the bad-input suite with many more random examples (FUZZ_EXAMPLES=400)
#   make bench-distributed  the data-parallel trainer: ranks, n up to BIG=DIR, memory
#   make lint    ruff check + format check
#   make matrix TORCH="2.13.0 2.14.1"  the specs on each torch release, ledgers diffed
#   make mutation  mutation testing of reference/ (mutmut; MODULES=reference/x.py for a part)
#   make stability  the specs in 20 random orders and twice without cache; fails on any flip

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
	@sed -n '1,/^$$/p' Makefile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip

$(STAMP_TEST): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test,fast]'
	@touch $@

$(STAMP_DOCS): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test,fast,docs]'
	@touch $@

$(STAMP_SITE): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test,fast,docs,site]'
	@touch $@

# Two workers, one test file per worker at a time (--dist loadfile: a file's module-scoped
# fixtures, such as the torchrun launches of test_distributed.py, run once).
test: $(STAMP_TEST)
	$(BIN)/python -m pytest spec_tests -n 2 --dist loadfile

# The docs show what the last run saw, failures included: a run with failing specs (exit 1)
# still refreshes the ledger and lets the site be built; any other error stops here.
$(LEDGER): $(CODE) | $(STAMP_TEST)
	@mkdir -p build
	$(BIN)/python -m pytest spec_tests -q -n 2 --dist loadfile || [ $$? -eq 1 ]
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

# Drives Debian's headless Chromium through every page. Installs, with apt-get if missing,
# Debian's chromium and a CJK font (so the screenshots show the glossary's Chinese terms).
site-check: $(SITE) $(STAMP_SITE)
	@missing=""; \
	command -v $(CHROMIUM) >/dev/null || missing="chromium"; \
	dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian's $$missing (once)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(BIN)/python tools/site_check.py --chromium $(CHROMIUM)

live: $(STAMP_DOCS) $(LEDGER) $(KATEX)
	$(BIN)/mkdocs serve --dev-addr $(HOST):$(PORT)

# Benchmarks of the training core (spec_tests/benchmarks/benchlib.py): real sizes, timed by
# pytest-benchmark; writes build/benchmarks.json (times, ratios, machine) and the copy the
# site renders (docs/data/benchmarks.json). Its own ledger, so build/ledger.json is untouched.
bench: $(STAMP_TEST)
	@mkdir -p build docs/data
	GRADSPEC_BENCH=full $(BIN)/python -m pytest spec_tests/benchmarks/test_bench_core.py -q \
	  -p no:randomly -p no:cacheprovider --ledger build/bench-ledger.json \
	  --benchmark-json=build/benchmark-raw.json --benchmark-columns=min,median,rounds \
	  --benchmark-sort=name
	$(BIN)/python spec_tests/benchmarks/benchlib.py report build/benchmark-raw.json \
	  build/benchmarks.json docs/data/benchmarks.json

# The regression gate: every gated ratio of the last `make bench` must meet its target and
# stay within 30% of spec_tests/benchmarks/baseline.json (runs `make bench` if never run).
.PHONY: bench-check
bench-check: $(STAMP_TEST)
	@test -f build/benchmarks.json || $(MAKE) bench
	$(BIN)/python spec_tests/benchmarks/benchlib.py check build/benchmarks.json \
	  spec_tests/benchmarks/baseline.json

# The bad-input suite at depth: every public callable, hypothesis drawing data and attacks
# from a fresh random seed, FUZZ_EXAMPLES per callable (make test runs 8, derandomized).
.PHONY: fuzz
FUZZ_EXAMPLES ?= 400
fuzz: $(STAMP_TEST)
	@mkdir -p build
	GRADSPEC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) GRADSPEC_FUZZ_RANDOM=1 $(BIN)/python -m pytest \
	  spec_tests/test_bad_input.py -q -n 2 -k fuzzed -p no:cacheprovider \
	  --ledger build/fuzz-ledger.json

# The data-parallel trainer (chapter "Past one machine"): time / one read against n, 1 and 2
# ranks under torchrun, per-step vs one-shot, peak memory. BIG=DIR adds an existing shard
# directory (e.g. 3e8 rows from `gradspec shards make`). Writes docs/data/distributed*.
.PHONY: bench-distributed
bench-distributed: $(STAMP_TEST)
	$(BIN)/python tools/bench_distributed.py $(if $(BIG),--big $(BIG))

lint: $(STAMP_TEST)
	$(BIN)/ruff check reference gradspec_plugin spec_tests docs tools
	$(BIN)/ruff format --check reference gradspec_plugin spec_tests docs tools

# The specs on several torch releases: one venv per release (constraints.txt with only the
# torch line changed), one ledger each in build/ledgers/, each diffed against the pinned
# release; the ledgers are copied to docs/data/ledgers/ for the Releases page. A release not
# on this disk (a CUDA build of several GB) needs ALLOW_DOWNLOAD=1; KEEP=1 keeps the venvs.
.PHONY: matrix
TORCH ?= 2.13.0 2.14.1
matrix: $(STAMP_TEST)
	$(BIN)/python tools/torch_matrix.py --releases "$(TORCH)" --snapshot docs/data/ledgers \
	  $(if $(filter 1 yes true,$(KEEP)),--keep) \
	  $(if $(filter 1 yes true,$(ALLOW_DOWNLOAD)),--allow-download)

clean:
	rm -rf build site node_modules docs/assets/vendor .pytest_cache .hypothesis

# Every engine adapter (PyTorch, gradspec's engine, mygrad from the optional extra) under every
# autograd and tensor spec; writes build/engines-ledger.json, the Engines page's mygrad column.
# Fails when an engine misses a claim not listed in spec_tests/engines/<name>.toml, or when a
# listed claim unexpectedly holds.
STAMP_ENGINES := $(VENV)/.stamp-engines
ENGINE_SPECS := $(addprefix spec_tests/,test_autograd_basics.py test_autograd_graph.py \
  test_autograd_pitfalls.py test_tensors.py)
ENGINES ?= torch,engine,mygrad

$(STAMP_ENGINES): pyproject.toml constraints.txt | $(STAMP_TEST)
	$(PIP) -e '.[test,mygrad]'
	@touch $@

.PHONY: engines
engines: $(STAMP_ENGINES)
	@mkdir -p build
	$(BIN)/python -m pytest $(ENGINE_SPECS) -q --backend $(ENGINES) \
	  --ledger build/engines-ledger.json

$(SITE): $(wildcard build/engines-ledger.json)
# Mutation testing of reference/ (tools/mutation.py, settings in [tool.mutmut] of
# pyproject.toml): writes build/mutation.json; a run over everything (no MODULES) also
# refreshes docs/data/mutation.json, the snapshot the site renders. Resumable: only mutants
# never checked or not yet detected are (re)tested; FRESH=1 starts from a clean mutants/.
# Fails when fewer than 95% of the non-equivalent mutants are detected. MODULES='
# reference/features.py reference/linear.py' runs just those; SAMPLE=400 (SEED=0) tests a
# uniform sample of that many mutants and reports the score with its 95% interval.
STAMP_MUTATION := $(VENV)/.stamp-mutation
$(STAMP_MUTATION): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test,fast,mutation]'
	@touch $@

.PHONY: mutation
mutation: $(STAMP_MUTATION)
	$(BIN)/python tools/mutation.py run $(if $(MODULES),--modules $(MODULES)) $(if $(FRESH),--fresh) \
	  $(if $(SAMPLE),--sample $(SAMPLE) --seed $(or $(SEED),0))

# The specs in 20 random orders (pytest-randomly seeds 1-20) and twice in file order without
# pytest's cache (tools/stability.py): fails naming every spec whose outcome differs between
# runs; writes build/stability.json. JOBS=2 runs each pass on two pytest-xdist workers.
.PHONY: stability
stability: $(STAMP_TEST)
	$(BIN)/python tools/stability.py --jobs $(or $(JOBS),1)
