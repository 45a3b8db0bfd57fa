# quincena — two commands from a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help setup test lint pytest demo demo-stop bench bench-deps clean

help:
	@echo "make demo       run a real cycle in Airflow at http://localhost:8080"
	@echo "make demo-stop  stop everything make demo started"
	@echo "make test       ruff + the whole test suite (real PostgreSQL, real simulator, real Airflow)"
	@echo "make bench      benchmarks; writes bench/RESULTS.md"

setup: $(STAMP)

# Re-installs only when a dependency file changes; our two packages are editable.
$(STAMP): requirements.lock pyproject.toml providers/deepseek/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		-e . -e providers/deepseek
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint pytest

demo: $(STAMP)
	$(BIN)/quincena demo start

demo-stop: $(STAMP)
	$(BIN)/quincena demo stop

bench: $(STAMP) bench-deps
	$(BIN)/python bench/run_all.py

# The CeleryExecutor benchmark only: redis-server (Debian package) and the celery provider. Best effort:
# when either cannot be installed, that benchmark prints why and is skipped.
bench-deps: $(STAMP)
	command -v redis-server >/dev/null || (apt-get install -y redis-server >/dev/null 2>&1 || true)
	$(BIN)/python -c "import airflow.providers.celery.executors.celery_executor" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-celery.txt || true

clean:
	rm -rf $(VENV) .local .pytest_cache .ruff_cache
