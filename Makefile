# Everything a fresh machine needs, from nothing but python3 (3.10 to 3.13).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup sync test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

# make sync                    -> a full sync of the bundled Metabase emulator
# make sync CONFIG=secrets/config.json  -> a full sync of your Metabase
sync: setup
	$(PY) -m integration_tests.sync $(if $(CONFIG),--config $(CONFIG))

test: setup
	$(PY) -m pytest

# make bench ARGS="--cards 3000"
bench: setup
	$(PY) -m integration_tests.bench $(ARGS)

clean:
	rm -rf $(VENV) .venv-pyairbyte
