# One entry point for running and checking leadgate; `.ci/run` calls `make check`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install run demo serve test test-fast lint typecheck check bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## run: the platform with demo data on the embedded PostgreSQL, at http://127.0.0.1:8000
run: install
	$(BIN)/leadgate serve --demo

## test: the whole test suite
test: install
	$(BIN)/pytest

## test-fast: the quick loop (< 60 s): no browser, no real-server end-to-end, no schemathesis, no slow tests
FAST_MARKERS := not browser and not e2e and not schemathesis and not slow
test-fast: install
	$(BIN)/pytest -m "$(FAST_MARKERS)" $(PYTEST_FLAGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

## check: lint, types and tests (what CI runs)
check: lint typecheck test

## bench: every benchmark at quick sizes (~8 min); `make bench BENCH_FLAGS=--full` for the targets' sizes
bench: install
	$(BIN)/python bench/run_all.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .leadgate .mypy_cache .ruff_cache .pytest_cache
