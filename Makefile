# tapcase -- every target sets up what it needs first.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSSTAMP := $(VENV)/.system-deps

.PHONY: setup test demo lint bench bench-quick clean

setup: $(STAMP) $(SYSSTAMP)

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml sensor_image/agent/pyproject.toml
	$(BIN)/pip install -q -e '.[dev]' -e ./sensor_image/agent
	touch $@

$(SYSSTAMP): scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	touch $@

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile -q tests

demo: setup
	$(BIN)/tapcase local demo

lint: setup
	$(BIN)/cfn-lint template.yaml

bench: setup
	$(BIN)/python -m tests.bench.run

bench-quick: setup
	$(BIN)/python -m tests.bench.run --quick

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
