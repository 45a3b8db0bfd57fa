# quincena — two commands from a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help setup test lint pytest demo demo-stop bench clean

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

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .local .pytest_cache .ruff_cache
