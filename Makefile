VENV ?= .venv
BIN := $(VENV)/bin
# pytest-xdist workers for `make test`; 0 runs the suite in one process
TEST_WORKERS ?= 2

.PHONY: setup run test test-fast lint bench

setup:            ## venv, torch, ftlab and the default models
	scripts/setup.sh

run: setup        ## set up, then serve on http://127.0.0.1:8000
	$(BIN)/ftlab serve

# The suite in two parts: all but the Ray-cluster tests on $(TEST_WORKERS) workers, then those alone; both always
# run, and the target fails when either does.
test:             ## set up (test tools, Chromium, PostgreSQL), then the whole suite (it starts PostgreSQL and Ray itself)
	scripts/setup.sh --test
	$(BIN)/python -m pytest -q -rs --durations=40 -n $(TEST_WORKERS) --dist loadfile -m "not ray_cluster"; \
	  rest=$$?; $(BIN)/python -m pytest -q -rs --durations=10 -m ray_cluster; ray=$$?; \
	  [ $$rest = 0 ] && [ $$ray = 0 ]

test-fast:        ## unit tests only: no real models, no browser
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint:
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

bench:            ## benchmarks 1-6 (tables printed, JSON in bench/results/)
	$(BIN)/python -m bench
