# Everything a fresh machine needs, from nothing but python3 (3.10 to 3.13).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup sync test bench connector-test builder-scale clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

# make sync                    -> a full sync of the bundled Metabase emulator into
#                                 source-metabase.duckdb (through PyAirbyte), then the report
# make sync CONFIG=secrets/config.json  -> the same for your Metabase
# make sync ARGS="--jsonl-only"         -> no PyAirbyte: records to /tmp/source-metabase-sync.jsonl
sync: setup
	$(PY) -m integration_tests.sync $(if $(CONFIG),--config $(CONFIG)) $(ARGS)

test: setup
	$(PY) -m pytest

# make bench
#   -> ours (the working tree), the previous releases 4.0.0 (9a9fe5f) and 3.0.0 (fb17d09) (any git
#      revision with --against), Airbyte's 2.0.13 manifest (from PyPI, cached in .tmp/) and the raw
#      baseline on one emulator: wall, start-up, CPU, peak RSS, requests, records;
#      ARGS="--compare --cards-only 30000 --against 9a9fe5f --runs 2" for the cards stream against
#      its parse + start-up floor
# make bench ARGS="--cards 3000"   (other modes: --cards-only, --workers, --incremental, --soak, --compare, --query-log; see docs/performance.md)
BENCH_ARGS ?= --compare --cards 3000 --against 9a9fe5f --against fb17d09 --runs 3
bench: setup
	$(PY) -m integration_tests.bench $(or $(ARGS),$(BENCH_ARGS))

# Airbyte's own `airbyte-cdk connector test` (the standard tests) against the emulator
connector-test: setup
	$(PY) -m integration_tests.cdk_standard_tests $(ARGS)

# The Connector Builder's test_read of every stream on a big instance
# make builder-scale ARGS="--cards 30000"
builder-scale: setup
	$(PY) -m integration_tests.builder_scale $(ARGS)

clean:
	rm -rf $(VENV) .venv-pyairbyte
