# The README's two commands. Each sets up what it needs on a fresh machine.
#   make run    install and run the app (SQLite in ./instance, one process, no other service)
#   make test   install everything and run the whole test suite
# Both install the exact, hashed versions in requirements/ (the lock), then the project itself.
#   make lock   regenerate requirements/*.txt from pyproject.toml (after changing a dependency;
#               `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed version)
#   make lint   ruff over the tree (the first step of `make test`)
# `make test` runs the suite in $(TEST_WORKERS) pytest-xdist workers (2: CI's cores); tests
# that must share one process are listed in tests/conftest.py (ONE_WORKER). TEST_WORKERS=0
# runs it in one process. PYTEST_ARGS adds to the command (e.g. PYTEST_ARGS="-k boundaries").
PYTHON ?= python3
TEST_WORKERS ?= 2
VENV ?= .venv
BIN := $(VENV)/bin
# The lock is resolved for the interpreter and platform the app runs on.
LOCK_TARGET := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu
LOCK_FLAGS := $(LOCK_TARGET) --generate-hashes --custom-compile-command "make lock" --quiet

.PHONY: run test lint lock bundle bench audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

run: $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements/run.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python app.py

test: $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements/test.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements/test.txt
	$(BIN)/ruff check $(RUFF_ARGS) .

# run.txt: the app's dependencies; test.txt: those (at the same versions) plus the test and
# bench extras. tests/core/test_dependencies.py fails when pyproject.toml and the lock disagree.
lock: $(BIN)/python
	$(BIN)/python -m pip install -q 'uv>=0.5'
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/run.txt
	$(BIN)/uv pip compile pyproject.toml --extra test --extra bench -c requirements/run.txt \
	    $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/test.txt

# Rebuild static/dist after changing static/src (commit the result).
bundle:
	npm ci --no-audit --no-fund --loglevel=error
	node static/build.mjs
