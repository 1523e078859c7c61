# Partner Strategy Warehouse. Quick start: `make run`, then `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
SF ?= 0.1
SEED ?= 42

# Tools of the venv first (dagster-dbt runs `dbt` from PATH).
export PATH := $(BIN):$(PATH)
# One Dagster instance for every entry point (see dagster.yaml).
export DAGSTER_HOME := $(CURDIR)
export PSW_DAGSTER_DIR := $(CURDIR)/.dagster
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/tests seeds -type f 2>/dev/null) dbt_project/dbt_project.yml
MANIFEST := dbt_project/target/manifest.json

.PHONY: run test test-fast install prepare lint dev docs bench bench-history bi clean

## install: create .venv with the pinned dependencies, build the dbt manifest, write .env
install: $(VENV)/.installed $(MANIFEST) .env .dagster/.initialized

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,spark,k8s]'
	@touch $@

## prepare: rebuild the dbt manifest (dagster-dbt reads it; never parsed at import time)
prepare: $(MANIFEST)

$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	cd $(CURDIR) && $(BIN)/dagster-dbt project prepare-and-package --file orchestration/warehouse/dbt_project.py
	@touch $@

# dagster dev reads .env from the project root: it points the UI at the same instance as psw.
.env:
	@printf 'DAGSTER_HOME=%s\nPSW_DAGSTER_DIR=%s\nDBT_PROFILES_DIR=%s\n' \
		"$(CURDIR)" "$(CURDIR)/.dagster" "$(CURDIR)/dbt_project" > $@

# Create the Dagster instance's storage once, before processes could race to create it.
.dagster/.initialized: $(VENV)/.installed dagster.yaml
	$(BIN)/python -c "import dagster as dg; dg.DagsterInstance.get().dispose()"
	@touch $@

## run: install, generate sample data if data/landing is empty, refresh, print the scorecard
# With new sample data, the refresh also computes the history of the 364 days before today
# (contract §10), so that the sample's report and BI show a year of history from the first
# night on; a later `make run` adds its own date only.
run: install
	@if [ -z "$$(ls -A data/landing 2>/dev/null)" ]; then \
		$(BIN)/psw generate --scale $(SF) --seed $(SEED) --out data/landing --end-date $$(date +%F) && \
		echo "history: the 364 days before today too (PSW_HISTORY_FROM)" && \
		PSW_HISTORY_FROM=$$($(BIN)/python -c "import datetime as d; print(d.date.today() - d.timedelta(364))") \
			$(BIN)/psw refresh; \
	else \
		$(BIN)/psw refresh; \
	fi
	$(BIN)/psw scorecard

## test: linters and the whole test suite
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

## test-fast: linters, the dbt unit tests and the tests that need no refresh (≤ 2 min)
# FAST_TESTS: the test files that run no Dagster job and no full dbt build. The dbt unit tests
# (tests/test_dbt_unit.py, orchestration/warehouse/dbt_unit.py) build empty tables in a scratch DuckDB
# file; the others call functions on small files or DuckDB tables. Add a file here only if it
# keeps that promise (`make test-fast` must stay under 2 minutes on 2 cores); `make test` runs
# every file anyway.
FAST_TESTS := tests/test_dbt_unit.py tests/test_public_apis.py tests/test_generator.py \
	tests/test_quality_suites.py tests/test_ingest.py tests/test_history.py

test-fast: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(FAST_TESTS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## dev: the Dagster UI on http://127.0.0.1:3000 (DEV_PORT to change the port)
# `exec`: dagster dev itself is make's child, with no shell in between, so the SIGTERM that make
# passes on to its job reaches it (a shell would swallow it and leave the servers running), and
# Ctrl-C (SIGINT to the terminal's process group) reaches it directly; either way it stops its
# webserver, daemon and code servers before it exits. orchestration/cli/dev_server.py restores the
# two signals' default handling first: started with SIGINT ignored (a background job), dagster
# dev would ignore SIGTERM too. GNU make passes on SIGTERM only: a SIGINT sent to make's pid
# alone is left to the process group, as a terminal sends it.
DEV_HOST ?= 127.0.0.1
DEV_PORT ?= 3000
dev: install
	exec $(BIN)/python -m orchestration.cli.dev_server --host $(DEV_HOST) --port $(DEV_PORT)

## docs: build dbt docs (lineage, column docs, metric formulas) and serve them on 127.0.0.1:8080
docs: install
	$(BIN)/psw docs --serve

## bench: the performance targets at scale SF in one run (make bench SF=10): the fixed cost (an
## empty night at SF0.1), then at SF a full refresh, an empty night, one day of deals and the
## DuckDB floor; BENCH_ARGS passes options to benchmarks/run.py (SF100 skips the floor)
BENCH_ARGS ?= $(if $(filter 100,$(SF)),--skip-floor)
bench: install
	$(BIN)/python benchmarks/run.py --scale $(SF) $(BENCH_ARGS)

## bench-history: make bench, keeping its warehouse, then the history marts of DAYS as-of dates
## in one run on it
DAYS ?= 365
bench-history: install
	$(BIN)/python benchmarks/run.py --scale $(SF) --keep
	$(BIN)/python benchmarks/history.py --scale $(SF) --days $(DAYS)

## bi: Apache Superset with the strategy dashboard on http://127.0.0.1:8088 (BI_PORT to change)
# bi/superset/setup.sh: Superset in bi/.venv (its own pinned tree), state and generated secrets in
# bi/.superset, the dashboard imported from bi/superset/dashboard/ and pointed at the serving file
# (PSW_WAREHOUSE_DIR or PSW_SERVING_DB). `exec`: as for dev, make's SIGTERM reaches gunicorn.
BI_HOST ?= 127.0.0.1
BI_PORT ?= 8088
bi: bi/.venv/.installed
	PSW_SUPERSET_HOST=$(BI_HOST) PSW_SUPERSET_PORT=$(BI_PORT) bi/superset/setup.sh init
	exec env PSW_SUPERSET_HOST=$(BI_HOST) PSW_SUPERSET_PORT=$(BI_PORT) bi/superset/setup.sh serve

bi/.venv/.installed: bi/requirements.txt bi/constraints.txt
	PYTHON=$(PYTHON) bi/superset/setup.sh install

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs .dagster .env
