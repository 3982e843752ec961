# Sharelog: `make run` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint typecheck unit bench screenshots system-deps clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

## Start the desktop client (creates .venv and installs on first use) beside the demo
## store on loopback, whose demo team's sign-in details it prints; the store stops when
## the client exits. With SHARELOG_SERVER set, no demo store starts.
DEMO_PORT ?= 8471
run: $(STAMP) system-deps
	$(PY) -m server demo-beside --port $(DEMO_PORT) -- $(PY) main.py

## Everything CI runs: system packages, lint, types, the whole test suite.
test: $(STAMP) system-deps lint typecheck unit

system-deps:
	@bash scripts/system-deps.sh $(PY)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider

## Benchmarks (never timed tests): prints a table, writes bench/results.json.
bench: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(PY) -m bench

## Render the main screens from a demo vault into docs/screenshots/.
screenshots: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(PY) -m ui.screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bench/.cache build dist
