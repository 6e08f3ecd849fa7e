# The two commands of the README:
#   make run   set up ./.venv if needed, build the index if needed, serve the staff chat and console
#   make test  set up if needed (incl. Chromium, CJK fonts, PostgreSQL), check the import contracts,
#              run the whole test suite and print the 15 slowest tests
# For development: make test-fast (no index, model, browser or servers; about a minute).
VENV ?= .venv
STAMP := $(VENV)/.kasuhara-installed
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: run test test-fast lint-imports setup bench
FAST := not slow and not browser and not postgres and not chroma_server

run: $(STAMP)
	$(VENV)/bin/kasuhara serve --host $(HOST) --port $(PORT)

test: $(STAMP) lint-imports
	bash scripts/system_deps.sh
	HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False $(VENV)/bin/python -m pytest --durations=15 $(PYTEST_ARGS)

test-fast: $(STAMP) lint-imports
	HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False $(VENV)/bin/python -m pytest -m "$(FAST)" --durations=15 $(PYTEST_ARGS)

lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_ingest.py
	$(VENV)/bin/python benchmarks/bench_ask.py
