"""The `incremental` section of acceptance-test-config.yml, which the CDK's standard suite (7.39.1)
does not collect: its two checks, run with the real CLI against the emulator (v0.50).

- two sequential reads: the second read, from the first one's state, emits no record older than
  that state and no more records than the first;
- a read from the future state file emits no record."""

import json
from pathlib import Path

import pytest
import yaml

from integration_tests.conftest import acceptance_configs
from integration_tests.connector import ROOT, cursor, instant, run_connector

SECTION = yaml.safe_load((ROOT / "acceptance-test-config.yml").read_text())["acceptance_tests"]["incremental"]["tests"]


def config_named(emulator, path: str) -> dict:
    """integration_tests/secrets/NAME.json is written from the running emulator at test time."""
    return acceptance_configs(emulator)[Path(path).stem]


@pytest.fixture(params=SECTION, ids=lambda test: Path(test["config_path"]).stem)
def case(request, emulators):
    test = request.param
    catalog = json.loads((ROOT / test["configured_catalog_path"]).read_text())
    assert catalog["streams"] and all(s["sync_mode"] == "incremental" for s in catalog["streams"])
    emulator = emulators("v0.50")
    return emulator, config_named(emulator, test["config_path"]), catalog, test


def test_two_sequential_reads(case):
    emulator, config, catalog, _ = case
    first = run_connector("read", config, catalog, ca_bundle=emulator.ca_bundle)
    assert first.returncode == 0 and first.errors == [], first.stderr[-3000:]
    second = run_connector("read", config, catalog, ca_bundle=emulator.ca_bundle, state=first.final_states())
    assert second.returncode == 0 and second.errors == [], second.stderr[-3000:]
    for configured in catalog["streams"]:
        name = configured["stream"]["name"]
        assert first.records(name), f"{name}: the first read emitted nothing to compare with"
        state = cursor(first.stream_state(name))
        assert state is not None, name
        assert all(instant(r["updated_at"]) >= state for r in second.records(name)), name
        assert len(second.records(name)) <= len(first.records(name)), name


def test_read_from_the_future_state_emits_nothing(case):
    emulator, config, catalog, test = case
    future = json.loads((ROOT / test["future_state"]["future_state_path"]).read_text())
    assert {s["stream"]["stream_descriptor"]["name"] for s in future} == {s["stream"]["name"] for s in catalog["streams"]}
    run = run_connector("read", config, catalog, ca_bundle=emulator.ca_bundle, state=future)
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    assert run.records() == []
