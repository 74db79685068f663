# triops — `make demo` and `make test` work on a fresh machine; both are idempotent (a second run reinstalls nothing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
BENCH_VENV := .venv-bench
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev
STAMP_BENCH := $(BENCH_VENV)/.stamp-bench
SRC := src/triops

.PHONY: demo test lint typecheck imports pytest bench bench-quick postgres clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(STAMP_RUN): pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -e '.[dev,ray]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/triops demo

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started" >&2; exit 1

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

typecheck: $(STAMP_DEV)
	$(BIN)/mypy $(SRC)

imports: $(STAMP_DEV)
	$(BIN)/lint-imports

pytest: $(STAMP_DEV) postgres
	$(BIN)/pytest -q -n 2 --dist loadgroup

test: lint typecheck imports pytest

$(STAMP_BENCH): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv
	$(BENCH_VENV)/bin/uv pip install --quiet --python $(BENCH_VENV)/bin/python -e '.[bench,ray]'
	touch $@

# Peers (MLflow, Great Expectations, pandera, Prefect, Dagster) live only in the bench venv.
bench: $(STAMP_BENCH) postgres
	@for b in benchmarks/*.py; do echo "== $$b"; $(BENCH_VENV)/bin/python $$b || exit 1; done

bench-quick: $(STAMP_BENCH)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BENCH_VENV)/bin/python $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .ruff_cache .pytest_cache
