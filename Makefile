# CivicBridge — the two commands: `make run` (the local stack) and `make test` (the whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The lock tool, uv, in a venv of its own (.tools/), itself installed from hash-pinned wheels.
TOOLS := .tools
UV := $(TOOLS)/bin/uv
# uv uses this Python and never downloads one.
export UV_PYTHON := $(shell command -v $(PY))
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test test-unit lint lock package bench fuzz clean web chromium openapi docs

$(UV): uv-bootstrap.txt
	test -x $(TOOLS)/bin/python || $(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --require-hashes --no-deps -r uv-bootstrap.txt
	touch $(UV)

# One dev environment: .venv holds exactly what uv.lock pins (hashes checked) for the project and its
# dev tools, and the `civic` package, editable. --frozen: the lock is used as it is, never re-resolved.
$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --frozen --extra dev
	touch $(STAMP)

install: $(STAMP)

# Upgrade the pins on purpose (then run `make test` and commit uv.lock).
lock: $(UV)
	$(UV) lock --upgrade

# Start everything on this machine: embedded AWS (moto), the template deployed, API, web, dispatcher.
run: install web
	$(BIN)/civic local $(ARGS)

test: install lint web chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The web app: npm packages from web/package-lock.json, bundled by esbuild into web/dist (git-ignored).
WEB_STAMP := web/node_modules/.installed-stamp
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/build.mjs

$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

web/dist/.built: $(WEB_STAMP) $(WEB_SRC)
	cd web && node build.mjs

web: web/dist/.built

# The browser tests drive Debian's Chromium (never a browser download of Playwright's own).
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

lint: install
	$(BIN)/ruff check layers chalice_app functions tests bench
	$(BIN)/mypy

test-unit: install
	$(BIN)/python -m pytest tests/unit

# openapi.yaml from the edge models and the operations table (chalice_app/chalicelib/schemas/); commit the result.
openapi: install
	$(BIN)/python -m civic_dev.openapi

# README tables generated from the domain (who hears what: civic.domain.notify); commit the result.
docs: install
	$(BIN)/python -m civic_dev.docs

# Schemathesis against a local stack of its own, from openapi.yaml: the long run (`make test` has a short one).
fuzz: install
	CIVIC_FUZZ=long $(BIN)/python -m pytest -s tests/e2e/test_openapi_fuzz.py $(PYTEST_ARGS)

# The deployable template (Chalice API merged with infra/template.yaml) and the layer, in build/,
# for one environment of samconfig.toml: `make package STAGE=prod` then `sam deploy --config-env prod`.
STAGE ?= dev
package: install
	UV=$(UV) STAGE=$(STAGE) bash infra/package.sh

# Benchmarks print ratios against a reference run side by side (pyvips is a reference only: bench extra).
bench: install
	$(UV) sync --frozen --extra dev --extra bench
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_routing.py
	$(BIN)/python bench/bench_media.py
	$(BIN)/python bench/bench_alerts.py
	$(BIN)/python bench/bench_coldstart.py

# The AWS calls of whole report lifecycles on the local stack, counted and priced (bench/cost.py, prices in
# bench/prices-ap-southeast-1.json): with the demo citizen's channels (all of them), then push and in-app only.
.PHONY: cost
cost: install
	$(BIN)/python bench/cost.py --lifecycles 3
	$(BIN)/python bench/cost.py --lifecycles 3 --channels inbox,push

clean:
	rm -rf build .local .pytest_cache web/dist
