VENV ?= .venv
BIN := $(VENV)/bin
# pytest-xdist workers for `make test`; 0 runs the suite in one process
TEST_WORKERS ?= 2

.PHONY: setup run test test-fast lint bench

setup:            ## venv, torch, ftlab and the default models
	scripts/setup.sh

run: setup        ## set up, then serve on http://127.0.0.1:8000
	$(BIN)/ftlab serve

test:             ## set up (test tools, Chromium, PostgreSQL), then the whole suite (it starts PostgreSQL and Ray itself)
	scripts/setup.sh --test
	$(BIN)/python -m pytest -q -rs --durations=40 -n $(TEST_WORKERS) --dist loadgroup

test-fast:        ## unit tests only: no real models, no browser
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint:
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

bench:            ## benchmarks 1-6 (tables printed, JSON in bench/results/)
	$(BIN)/python -m bench
