# triops — `make demo` and `make test` work on a fresh machine; both are idempotent (a second run reinstalls nothing).
# Installs come from uv.lock exactly (`uv sync --locked`): a fresh clone gets the versions the tests ran with,
# and a lock that no longer matches pyproject.toml fails the build (`make lock` refreshes it).
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
BENCH_VENV := .venv-bench
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev
STAMP_BENCH := $(BENCH_VENV)/.stamp-bench
SRC := src/triops
# uv uses this interpreter and never downloads one; sync removes what the lock does not list, so uv itself
# lives in its own small venv ($(TOOLS)), not in .venv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
SYNC := $(UV) sync --locked --quiet

.PHONY: demo test lock lock-check lint typecheck imports pytest bench bench-quick postgres clean chromium screenshots

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Re-resolve uv.lock after editing dependencies in pyproject.toml (commit both).
lock: $(UV)
	$(UV) lock

lock-check: $(UV)
	@$(UV) lock --check --quiet || { echo "uv.lock is out of date with pyproject.toml: run 'make lock' and commit uv.lock" >&2; exit 1; }

# The demo needs the runtime only; --inexact keeps the dev tools of a test venv.
$(STAMP_RUN): pyproject.toml uv.lock | $(UV)
	$(SYNC) --inexact
	touch $@

$(STAMP_DEV): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra dev --extra ray
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/triops demo
	@echo "The dashboard of this workspace: $(BIN)/triops server --dev, then open http://127.0.0.1:8765/"

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

# The browser tests drive Debian's Chromium (never a browser Playwright downloads).
chromium:
	@test -x /usr/bin/chromium || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }

# Screenshots of the web app's pages (of the workspace `make demo` filled) into docs/img/.
screenshots: $(STAMP_DEV) chromium
	$(BIN)/python tools/web_screenshots.py --out docs/img

pytest: $(STAMP_DEV) postgres chromium
	$(BIN)/pytest -q -n 2 --dist loadgroup

test: lock-check lint typecheck imports pytest

# Peers (MLflow, Great Expectations, pandera, Prefect, Dagster) live only in the bench venv, from the same lock.
$(STAMP_BENCH): pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(BENCH_VENV) $(SYNC) --extra bench --extra ray
	touch $@

# every benchmark runs, even after one failed; the target fails if any missed a target or could not measure
# a peer (BENCH_ARGS=--allow-missing accepts missing peers, still shown as "not measured")
BENCH_RUN = failed=""; for b in benchmarks/[!_]*.py; do echo "== $$b"; \
	$(BENCH_VENV)/bin/python $$b $(BENCH_ARGS) $(1) || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "benchmarks failed:$$failed"; exit 1; fi

bench: $(STAMP_BENCH) postgres
	@$(call BENCH_RUN,)

bench-quick: $(STAMP_BENCH)
	@$(call BENCH_RUN,--quick)

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
