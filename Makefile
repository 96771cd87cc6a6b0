# The two commands for a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run test lint format install install-dev migrate seed bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: $(BIN)/python requirements.txt
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.run-deps requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.run-deps
install-dev: $(VENV)/.dev-deps

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed

## Serve on http://127.0.0.1:$${PORT:-5000} with the gateway emulator, SQLite and inline jobs.
run: seed
	$(BIN)/flask serve

## Run the whole suite (on MariaDB + Redis when DATABASE_URL / REDIS_URL are set).
test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
