"""Who can see what and who runs what: collection_permissions, data_permissions and
query_executions synced by the real CLI equal the emulator's truth (permissions.py's tables,
querylog.py's rows: read from the model, not from the JSON the connector read) on every
generation of the graphs and every edition; one request per graph and per month; the query log
goes on from its state and deletes nothing; who may not read them is told, and open source is
not asked."""

from datetime import datetime, timezone

import pytest

from integration_tests.conftest import V1_UNDER_DATA, make_config, start_emulator
from integration_tests.connector import instant, sync
from integration_tests.metabase_emulator import Scale

GOVERNANCE = ["collection_permissions", "data_permissions", "query_executions"]
LOG = "/api/ee/logs/query_execution/"


@pytest.fixture(scope="module", params=["v0.40", "v0.50", "v0.57", "v0.64"])
def enterprise(request):
    emulator = start_emulator(request.param, scale=Scale(cards=60), edition="ee")
    yield emulator
    emulator.stop()


def data_rows(emulator) -> set:
    """The truth's rows, Metabase 0.40/0.41's permissions named as the later v1 graph names them."""
    rename = {} if emulator.profile.since(42) else V1_UNDER_DATA
    return {(g, db, rename.get(name, name), schema, table, value)
            for g, db, name, schema, table, value in emulator.expected_data_permissions()}


def test_the_graphs_and_the_log_are_metabases(enterprise):
    emulator = enterprise
    emulator.clear_requests()
    auth = "password" if emulator.profile.name == "v0.40" else "api_key"
    run = sync(make_config(emulator, auth), emulator.ca_bundle, streams=GOVERNANCE)
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    collections = {(r["group_id"], r["collection_id"], r["access"]) for r in run.records("collection_permissions")}
    assert collections == set(emulator.expected_collection_permissions())
    assert len(collections) == len(run.records("collection_permissions"))
    data = {(r["group_id"], r["database_id"], r["permission"], r.get("schema_name"), r.get("table_id"), r["value"])
            for r in run.records("data_permissions")}
    assert data == data_rows(emulator) and len(data) == len(run.records("data_permissions"))
    months = emulator.query_log_months()
    logged = [r["id"] for r in run.records("query_executions")]
    assert sorted(logged) == sorted(i for month in months for i in emulator.expected_query_log_ids(month))
    assert len(logged) == len(set(logged)) and (len(logged) > 0) == emulator.profile.since(46)
    asked = [r["path"] for r in emulator.requests() if r["path"] not in ("/api/session", "/api/session/properties")]
    since_46 = emulator.profile.since(46)
    assert sorted(asked) == sorted(["/api/collection/graph", "/api/permissions/graph"] +
                                   ([LOG + month for month in months] if since_46 else []))
    if not since_46:  # Enterprise 0.40 had no log to read
        assert any("query_executions" in line for line in run.log_lines("WARN"))


def test_the_log_goes_on_from_its_state_and_deletes_nothing():
    emulator = start_emulator("v0.64", scale=Scale(cards=60), edition="ee", query_log_months=3,
                              query_log_now=datetime.now(timezone.utc).isoformat())
    try:
        config = make_config(emulator, "api_key")
        first = sync(config, emulator.ca_bundle, streams=["query_executions"], incremental=True)
        assert first.returncode == 0 and first.errors == [], first.stderr[-3000:]
        state = instant(first.stream_state("query_executions")["state"]["started_at"])
        assert state == max(instant(r["started_at"]) for r in first.records("query_executions"))
        emulator.clear_requests()
        second = sync(config, emulator.ca_bundle, streams=["query_executions"], incremental=True,
                      state=first.final_states())
        assert second.returncode == 0 and second.errors == [], second.stderr[-3000:]
        current = emulator.query_log_months()[-1]
        # only the state's month (here the current one) is asked again, and only its rows at or after the state
        assert [r["path"] for r in emulator.requests() if r["path"].startswith(LOG)] == [LOG + current]
        assert [r["id"] for r in second.records("query_executions")] == \
            [row["id"] for row in emulator.expected_query_log(current) if instant(row["started_at"]) >= state]
        assert second.deletions() == []
    finally:
        emulator.stop()


def test_a_start_date_chooses_the_first_month():
    emulator = start_emulator("v0.57", scale=Scale(cards=30), edition="ee")
    try:
        months = emulator.query_log_months()
        run = sync(make_config(emulator, "api_key", query_log_start_date=f"{months[-1]}-15"), emulator.ca_bundle,
                   streams=["query_executions"])
        assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
        assert [r["path"] for r in emulator.requests() if r["path"].startswith(LOG)] == [LOG + months[-1]]
        assert sorted(r["id"] for r in run.records("query_executions")) == sorted(
            emulator.expected_query_log_ids(months[-1]))
    finally:
        emulator.stop()


@pytest.mark.parametrize("edition", ["oss", "ee-unlicensed"])
def test_without_the_audit_app_the_log_is_not_asked_for(emulators, edition):
    emulator = emulators("v0.57")
    emulator.configure(edition=edition)
    try:
        run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=GOVERNANCE)
    finally:
        emulator.configure(edition="oss")
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    assert [r for r in emulator.requests() if r["path"].startswith("/api/ee/")] == []
    assert run.records("query_executions") == [] and run.records("collection_permissions")
    assert any(line.startswith("Skipping query_executions") for line in run.log_lines("WARN"))


def test_a_user_who_is_not_an_admin_is_told_and_the_sync_goes_on(enterprise):
    emulator = enterprise
    emulator.clear_requests()
    run = sync(make_config(emulator, "password", viewer="analyst"), emulator.ca_bundle, streams=GOVERNANCE + ["cards"])
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    assert all(run.records(stream) == [] for stream in GOVERNANCE) and run.records("cards")
    warnings = run.log_lines("WARN")
    for path in ("/api/collection/graph", "/api/permissions/graph"):
        assert any(path in line and "403" in line for line in warnings), path
    assert any("not an admin" in line for line in run.log_lines("INFO"))
