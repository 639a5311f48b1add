# Every target sets up its own virtual environment first; `make help` lists them.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help setup simulate demo test lint bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/accord: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@
	@echo "accord is installed in $(BIN); put it on your PATH with:  . $(BIN)/activate"

setup: $(BIN)/accord  ## create .venv and install accord with its dev tools

simulate: setup  ## run the fleet simulation with and without Accord (embedded SQLite)
	$(BIN)/accord simulate --out out/simulation

demo: setup  ## walk through the gate's scenarios on an embedded store
	$(BIN)/accord demo

test: setup  ## run the whole test suite (starts PostgreSQL if it is down)
	bash scripts/test

lint: setup  ## ruff and mypy
	$(BIN)/ruff check src tests
	$(BIN)/mypy

bench: setup  ## the speed benchmarks
	$(BIN)/accord bench
