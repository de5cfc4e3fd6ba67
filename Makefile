# precollect: `make demo` sets everything up and runs the main job; `make test` runs the tests.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV     := $(BIN)/uv
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
export MPLBACKEND := Agg

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint bench clean chromium lock

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(UV) pip install --python $(BIN)/python -q --compile-bytecode -r requirements.lock
	$(UV) pip install --python $(BIN)/python -q --no-deps -e .
	touch $@

setup: $(STAMP) ## create .venv and install the locked dependencies

demo: $(STAMP) ## set up, then run the main job end to end on embedded data
	$(BIN)/python -m precollect.demo

test: $(STAMP) chromium ## set up, then run lint, types, the import layers and the test suite
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

chromium: ## install Debian's Chromium for the browser tests when it is missing
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP) ## ruff, mypy and the import layers only
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

bench: $(STAMP) ## run the benchmarks in tests/benchmarks (prints figures)
	$(BIN)/python -m pytest -s -m benchmark tests/benchmarks

lock: ## re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean: ## remove generated data, stores and the environment
	rm -rf $(VENV) .prefect mlruns mlartifacts mlflow.db data/generated precollect.db
