# Công Đoàn platform: one-command install, run, test.  GNU make.
#   make run        install everything, migrate + seed an SQLite db, start web + worker
#   make test       install everything, run the pytest suite (PYTEST_ARGS passed through)
#   make bench      run benchmarks/run.py
#   make validate   check BPMN processes and forms (DIR=processes FORMS=forms)
#   make lint       ruff check

SHELL := /bin/bash
.DEFAULT_GOAL := install

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
VENDOR := web/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js

DIR         ?= processes
FORMS       ?= forms
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install system run test bench validate lint clean

install: system .stamp-pip $(VENDOR)

# System packages (PostgreSQL, Chromium, fonts, Pango); does nothing when all present.
system:
	@bash scripts/install-system.sh

$(VENV)/pyvenv.cfg: | system
	@echo "[make] creating $(VENV)"
	@$(PYTHON) -m venv $(VENV)

# Reinstall the Python packages when pyproject.toml changes (or the venv is new).
.stamp-pip: pyproject.toml $(VENV)/pyvenv.cfg
	@echo "[make] pip install -e '.[test]' (log: $(VENV)/pip-install.log)"
	@$(VPY) -m pip install -e '.[test]' >$(VENV)/pip-install.log 2>&1 \
		|| { tail -n 30 $(VENV)/pip-install.log; exit 1; }
	@touch $@

# Reinstall node_modules when the lock file changes.
.stamp-npm: package-lock.json package.json | system
	@echo "[make] npm ci"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The vendored bpmn-js viewer (git-ignored), rebuilt when missing or stale.
$(VENDOR): .stamp-npm scripts/build-vendor.sh
	@bash scripts/build-vendor.sh

run: install
	@bash scripts/run.sh

test: install
	$(VPY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: install
	$(VPY) benchmarks/run.py

validate: .stamp-pip
	$(VPY) -m engine.validate $(DIR) --forms $(FORMS)

lint: .stamp-pip
	$(VENV)/bin/ruff check .

# Forget the install stamps and built assets (keeps .venv).
clean:
	rm -rf .stamp-* node_modules web/static/vendor
