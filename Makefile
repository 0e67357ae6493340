# Two entry points: `make run` (the app on the embedded demo data) and `make test` (every test).
# Both create .venv on first use and reinstall only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint bench test-deps clean

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

test: $(INSTALLED) test-deps
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_analyze.py
	$(BIN)/python benchmarks/bench_playback.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage
