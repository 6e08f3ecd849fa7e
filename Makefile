# The two commands of the README:
#   make run   set up ./.venv if needed, build the index if needed, serve the staff chat and console
#   make test  set up if needed (incl. Chromium, CJK fonts, PostgreSQL), run the whole test suite
VENV ?= .venv
STAMP := $(VENV)/.kasuhara-installed
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: run test setup bench

run: $(STAMP)
	$(VENV)/bin/kasuhara serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	bash scripts/system_deps.sh
	HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_ingest.py
	$(VENV)/bin/python benchmarks/bench_ask.py
