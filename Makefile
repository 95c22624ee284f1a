# CivicBridge — the two commands: `make run` (the local stack) and `make test` (the whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-unit lint package bench clean

# One dev environment: a venv with the project (the `civic` package, editable) and its dev tools.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Start everything on this machine: embedded AWS (moto), the template deployed, API, web, dispatcher.
run: install
	$(BIN)/civic local $(ARGS)

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check layers chalice_app functions tests bench

test-unit: install
	$(BIN)/python -m pytest tests/unit

# The deployable template (Chalice API merged with infra/template.yaml) and the layer, in build/.
package: install
	bash infra/package.sh

# Benchmarks print ratios against a reference run side by side (pyvips is a reference only: bench extra).
bench: install
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_routing.py
	$(BIN)/python bench/bench_media.py

clean:
	rm -rf build .local .pytest_cache
