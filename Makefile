# tapcase -- every target sets up what it needs first.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSSTAMP := $(VENV)/.system-deps

.PHONY: setup test demo lint bench bench-quick sensor-bundle clean

setup: $(STAMP) $(SYSSTAMP)

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml sensor_image/agent/pyproject.toml
	@# the build backend's warnings (editable installs) are not the user's business
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e '.[dev]' -e ./sensor_image/agent
	touch $@

$(SYSSTAMP): scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	touch $@

# Lint first: a lint or type error fails `make test` (and so CI) before any test runs.
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile -q tests

demo: setup
	$(BIN)/tapcase local demo

# ruff (pyflakes, bugbear, isort, pyupgrade), mypy (strict on functions/ and the agent, checked
# on the CLI and local cloud), cfn-lint on the template: settings in pyproject.toml.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy tapcase functions/tapcase_workflow functions/tapcase_contract sensor_image/agent/tapcase_sensor
	$(BIN)/cfn-lint template.yaml sensor_image/fleet/fleet.yaml sensor_image/member/member.yaml

# The tarball the sensor AMI is built from (sensor_image/ and functions/tapcase_contract): sensor_image/README.md
sensor-bundle: setup
	$(BIN)/python -m tapcase.sensor_bundle dist/sensor_image.tar.gz

bench: setup
	$(BIN)/python -m tests.bench.run

bench-quick: setup
	$(BIN)/python -m tests.bench.run --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
