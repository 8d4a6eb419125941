# Mercado: `make demo` runs the platform on embedded defaults, `make test` runs every test.
# Works on a fresh machine with only Python 3.11 and pip: uv is installed with pip if missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := 3.11

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PYTHON) -m uv
endif

.PHONY: help install install-spark java chromium wrk demo test test-fast dev docs manifest bench bench-full lint format clean

# Dagster keeps its run history here for `make dev` (the instance settings are written from
# orchestration/dagster.yaml by orchestration.instance: one writer at a time in the
# "warehouse" pool on DuckDB, no limit with MERCADO_WAREHOUSE=spark; no telemetry).
MERCADO_HOME ?= var
DAGSTER_HOME ?= $(abspath $(MERCADO_HOME))/dagster
DAGSTER_PORT ?= 3000
API_PORT ?= 8000

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Bytecode is compiled once here (about a minute of CPU, on both cores): every process the
# demo, the tests and `make dev` start would otherwise compile what it imports, again each
# time where PYTHONDONTWRITEBYTECODE is set.
.venv/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

install: .venv/.installed ## Install the locked environment into .venv

# The `spark` extra (pyspark, dbt-spark) for MERCADO_WAREHOUSE=spark and its parity test;
# `make demo` keeps the default install. `uv run` does not remove it again (inexact sync).
.venv/.installed-spark: .venv/.installed
	$(UV) sync --frozen --compile-bytecode --extra spark
	@touch $@

install-spark: .venv/.installed-spark ## Install the locked environment with the spark extra

# Spark runs on a JVM: Debian's headless Java 17 when none is on PATH (root or sudo only).
java: ## Install a headless Java for Spark (apt, when missing)
	@if ! command -v java >/dev/null && command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
		else echo "java: not installed (needs root or sudo); Spark tests will skip"; exit 0; fi; \
		echo "java: installing Debian's openjdk-17-jre-headless for Spark"; \
		{ $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq openjdk-17-jre-headless; } >/dev/null \
		|| echo "java: apt-get failed; Spark tests will skip"; \
	fi

# Debian's chromium for the tag.js browser tests, installed only when it is missing and we
# are root or have passwordless sudo. Without it those tests skip and say why.
chromium: ## Install headless Chromium for the browser tests (apt, when missing)
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
		else echo "chromium: not installed (needs root or sudo); browser tests will skip"; exit 0; fi; \
		echo "chromium: installing Debian's chromium for the browser tests"; \
		{ $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium; } >/dev/null \
		|| echo "chromium: apt-get failed; browser tests will skip"; \
	fi

# Debian's wrk drives the HTTP benchmarks' load from outside Python, so that the load
# generator does not take the servers' CPU; without it they use their own asyncio client.
wrk: ## Install wrk for the HTTP benchmarks (apt, when missing)
	@if ! command -v wrk >/dev/null && command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
		else echo "wrk: not installed (needs root or sudo); benchmarks use their Python client"; exit 0; fi; \
		echo "wrk: installing Debian's wrk for the HTTP benchmarks"; \
		{ $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq wrk; } >/dev/null \
		|| echo "wrk: apt-get failed; benchmarks use their Python client"; \
	fi

demo: install ## Run the whole platform once on embedded defaults (SQLite under var/)
	$(UV) run --frozen mercado demo

manifest: install ## Parse the dbt project (dbt_project/target/manifest.json) for Dagster
	$(UV) run --frozen python -m orchestration.dbt

test: install-spark java chromium ## Lint and type-check, then run the whole test suite (SQLite and PostgreSQL)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy shop_api
	$(UV) run --frozen python -m orchestration.dbt
	$(UV) run --frozen pytest -n 2

test-fast: install ## Tests without the slow end-to-end ones
	$(UV) run --frozen pytest -m "not slow"

# The API's own URL (webhooks of the sandbox providers, image links) follows API_PORT
# unless MERCADO_PUBLIC_URL is set.
dev: install ## The API with --reload (API_PORT=8000, docs at /docs) and the Dagster UI (DAGSTER_PORT=3000)
	@$(UV) run --frozen python -m orchestration.instance "$(DAGSTER_HOME)" >/dev/null
	@echo "API docs:   http://127.0.0.1:$(API_PORT)/docs"
	@echo "Dagster UI: http://127.0.0.1:$(DAGSTER_PORT)   (DAGSTER_HOME=$(DAGSTER_HOME))"
	@trap 'kill 0' EXIT INT TERM; \
		MERCADO_PUBLIC_URL="$${MERCADO_PUBLIC_URL:-http://127.0.0.1:$(API_PORT)}" \
			$(UV) run --frozen mercado serve --reload --port $(API_PORT) & \
		DAGSTER_HOME="$(DAGSTER_HOME)" $(UV) run --frozen dagster dev \
			-m orchestration.definitions -h 127.0.0.1 -p $(DAGSTER_PORT) & \
		wait

docs: install ## Build the dbt docs site from the warehouse and print where it is
	$(UV) run --frozen python -m orchestration.docs

# One report of every bench script (bench/report.py): bench/results/ and bench/README.md.
bench: install wrk ## Every benchmark, quick sizes (minutes): one report in bench/results/
	$(UV) run --frozen python bench/report.py --profile quick

bench-full: install wrk ## Every benchmark at the sizes of its targets (hours: 20M-event pipeline)
	$(UV) run --frozen python bench/report.py --profile full

lint: install ## ruff lint and format check, mypy type check of shop_api
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy shop_api

format: install ## Apply ruff fixes and formatting
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

clean: ## Remove generated state (var/) and caches
	rm -rf var .pytest_cache .ruff_cache .mypy_cache
