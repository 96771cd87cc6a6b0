# The two commands for a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run test lint format install install-dev migrate seed bench clean translations-update

# Catalogues: the .po files are kept in git, their compiled .mo files are built here.
CATALOGUES := $(wildcard wxdist/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: $(BIN)/python requirements.txt
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.run-deps requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

%.mo: %.po | $(VENV)/.run-deps
	$(BIN)/pybabel -q compile -i $< -o $@

install: $(VENV)/.run-deps $(COMPILED)
install-dev: $(VENV)/.dev-deps $(COMPILED)

## After marking strings: re-extract them and add the new ones to every catalogue.
translations-update: install-dev
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output --no-wrap \
		--project wxdist -o wxdist/translations/messages.pot .
	$(BIN)/pybabel -q update -i wxdist/translations/messages.pot -d wxdist/translations \
		--no-fuzzy-matching --ignore-obsolete --no-wrap

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
