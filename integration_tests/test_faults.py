"""A flaky, busy Metabase: a sync through injected faults emits exactly what a clean sync emits."""

from collections import Counter

import pytest

from integration_tests.conftest import PROFILES, expected_keys, make_config, start_emulator
from integration_tests.connector import STREAMS, key_of, sync
from integration_tests.metabase_emulator import FaultPlan, Scale

SOAK = dict(rate_503=0.10, rate_429=0.05, retry_after=1, rate_drop=0.02, rate_500=0.02,
            rate_502=0.02, rate_slow=0.05, slow_seconds=0.3)


def emitted(run):
    """Every record's (stream, id), duplicates kept."""
    return Counter((m["record"]["stream"], repr(key_of(m["record"]["stream"], m["record"]["data"])))
                   for m in run.of_type("RECORD"))


@pytest.fixture(params=PROFILES)
def busy_emulator(request):
    """Enough dashboards (one request each) for the fault rates to bite many times."""
    emulator = start_emulator(request.param, scale=Scale(cards=300, dashboards=60))
    yield emulator
    emulator.stop()


def test_sync_through_faults_emits_exactly_the_clean_records(busy_emulator):
    emulator = busy_emulator
    profile = emulator.profile.name
    # v0.40 has no API keys: there the login itself goes through the faults too.
    config = make_config(emulator, "password" if profile == "v0.40" else "api_key")
    clean = sync(config, emulator.ca_bundle)
    assert clean.returncode == 0 and clean.errors == []

    emulator.clear_requests()
    emulator.configure(faults=FaultPlan(seed=11, **SOAK))
    faulted = sync(config, emulator.ca_bundle)

    injected = Counter(r["fault"] for r in emulator.requests() if r["fault"])
    print(f"{profile}: faults injected {dict(injected)}, records {sum(emitted(faulted).values())}")
    assert faulted.returncode == 0 and faulted.errors == [], faulted.stderr[-3000:]
    assert emitted(faulted) == emitted(clean)
    assert max(emitted(faulted).values()) == 1, "a record was emitted twice"
    assert {stream for stream, _ in emitted(faulted)} == {s for s in STREAMS if expected_keys(emulator, s)}
    assert injected["503"] >= 4 and injected["429"] >= 2 and injected["drop"] >= 1
    assert sum(injected.values()) >= 12


def test_retries_run_out_with_a_transient_error_naming_the_endpoint_and_status(emulators):
    emulator = emulators("v0.50")
    emulator.configure(faults=FaultPlan(rate_503=1.0, max_consecutive=100, paths="^/api/database$"))
    run = sync(make_config(emulator, "api_key", max_retries=2), emulator.ca_bundle, streams=["databases"])
    assert run.returncode != 0
    error = run.errors[0]
    assert error["failure_type"] == "transient_error"
    assert "/api/database" in error["message"] and "503 Service Unavailable" in error["message"]
    assert emulator.count(path="/api/database") == 3  # the request and its two retries
