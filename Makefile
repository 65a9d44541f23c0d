# newsflow: `make run` ingests the bundled samples, `make test` runs the whole suite.
# Both create .venv first (pinned by constraints.txt) if it is missing or stale.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: run test bench bench-fetch serve clean-db venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/newsflow ingest

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/bench.py

bench-fetch: $(STAMP)
	$(BIN)/python bench/fetch_bench.py

serve: $(STAMP)
	$(BIN)/newsflow serve

clean-db:
	rm -f warehouse/*.duckdb warehouse/*.duckdb.wal
