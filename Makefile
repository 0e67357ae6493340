# Two entry points: `make run` (the app on the embedded demo data) and `make test` (every test).
# Both create .venv on first use and reinstall only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test check lint bench test-deps clean

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,celery]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/metrics-dashboard serve

# The browser tests drive Debian's headless Chromium and the scale-out tests a real
# redis-server; install them when they are missing.
test-deps:
	@if [ ! -x $(CHROMIUM) ] || ! command -v redis-server >/dev/null; then \
		echo "Installing Debian's chromium, chromium-driver and redis-server for the tests"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			chromium chromium-driver redis-server; \
	fi

# Every test, as CI runs it: import contracts, then unit, property, process, browser and
# scale-out tests.
test: $(INSTALLED) test-deps
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

# The fast loop while coding: lint, import contracts and the tests that need no browser and
# start no server (a minute or two).
check: lint
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -m "not browser and not server"

lint: $(INSTALLED)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_analyze.py
	$(BIN)/python benchmarks/bench_playback.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage
