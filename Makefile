# The README's two commands. Each sets up what it needs on a fresh machine.
#   make run    install and run the app (SQLite in ./instance, one process, no other service)
#   make test   install everything and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bundle bench audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

run: $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python app.py

test: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Rebuild static/dist after changing static/src (commit the result).
bundle:
	npm ci --no-audit --no-fund --loglevel=error
	node static/build.mjs
