"""Metabase 0.58 to 0.64 (metabase-api.md section 11): documents, transforms and measures synced
by the real CLI from the v0.64 profile equal the emulator's objects, each with the dependencies
the emulator's own truth gives (documents.dependencies, transforms.dependencies and
target_table_id, measures.dependencies: read from the model, not from the JSON the connector
read); each list is read once and no read counts as a view; where a version, an edition or a
credential cannot serve them, they are skipped with a warning that says why, without a request
where the version says so. And the dashboards of a Metabase without GET /api/dashboard (0.48.0)."""

import re
from collections import Counter

import pytest

from integration_tests.conftest import make_config, start_emulator
from integration_tests.connector import id_order, sync
from integration_tests.metabase_emulator import Scale, documents, measures, transforms
from integration_tests.test_relationship_streams import requests_to, synced

NEWEST = ["documents", "transforms", "measures"]


def edges(record) -> set:
    """A record's dependencies as the emulator's truth writes them: (type, id, via[, name]), each once."""
    found = [tuple(item[key] for key in ("type", "id", "via", "name") if key in item) for item in record["dependencies"]]
    assert len(found) == len(set(found))
    return set(found)


@pytest.mark.parametrize("viewer", ["admin", "analyst"])
def test_documents_transforms_and_measures_are_the_emulators_with_their_dependencies(emulators, viewer):
    run, _, emulator = synced(emulators, "v0.64", viewer=viewer)
    model = emulator.model
    for stream in NEWEST:
        assert run.record_ids(stream) == id_order(emulator.expected_ids(stream, viewer)), stream
    for record in run.records("documents"):  # each thing once, as for cards: a card embedded and linked is one edge
        truth = documents.dependencies(model.documents[record["id"]])
        assert {e[:2] for e in edges(record)} == {t[:2] for t in truth} and edges(record) <= truth, record["id"]
    for record in run.records("measures"):
        assert edges(record) == measures.dependencies(model.measures[record["id"]]), record["id"]
    for record in run.records("transforms"):
        transform = model.transforms[record["id"]]
        assert edges(record) == transforms.dependencies(transform), record["id"]
        assert record.get("target_table_id") == transforms.target_table_id(model, transform), record["id"]
    if viewer == "admin":  # every kind of edge is there to be read
        kinds = {(stream, d["type"], d["via"]) for stream in NEWEST for r in run.records(stream) for d in r["dependencies"]}
        assert {("documents", "card", "embed"), ("documents", "card", "link"), ("documents", "table", "link"),
                ("documents", "dashboard", "link"), ("transforms", "table", "source"),
                ("transforms", "table", "source_table"), ("transforms", "snippet", "template_tag"),
                ("measures", "table", "source"), ("measures", "segment", "filter")} <= kinds
        targets = [r.get("target_table_id") for r in run.records("transforms")]
        assert None in targets and len([t for t in targets if t]) >= 3  # one never ran: no table yet
        assert any(d["type"] == "measure" for r in run.records("cards") for d in r["dependencies"])
    else:  # transforms are for admins: skipped with a warning
        assert run.records("transforms") == []
        assert any("/api/transform" in line and "403" in line for line in run.log_lines("WARN"))


def test_each_list_is_read_once_and_nothing_counts_as_a_view(emulators):
    emulator = emulators("v0.64")
    run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=NEWEST + ["tables", "alerts"])
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    log = [r for r in emulator.requests() if r["path"] != "/api/session"]
    paths = Counter(r["path"] for r in log)
    assert paths == Counter({"/api/session/properties": 1, "/api/document": 1, "/api/transform": 1,
                             "/api/measure": 1, "/api/table": 1, "/api/notification": 1}), paths
    assert emulator.views() == {}  # a document's detail read would be a view: none is made


def test_transforms_alone_read_the_tables_list_once_for_their_targets(emulators):
    emulator = emulators("v0.64")
    run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=["transforms"])
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    assert len(requests_to(emulator.requests(), r"/api/table")) == 1
    assert [r.get("target_table_id") for r in run.records("transforms")] == \
        [transforms.target_table_id(emulator.model, emulator.model.transforms[i]) for i in run.record_ids("transforms")]


def test_transforms_switched_off_are_skipped_with_a_warning(emulators):
    emulator = emulators("v0.64")
    emulator.configure(transforms_enabled=False)
    try:
        run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=NEWEST)
    finally:
        emulator.configure(transforms_enabled=True)
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    assert run.records("transforms") == [] and run.record_ids("documents") == id_order(emulator.expected_ids("documents"))
    assert any("/api/transform" in line and "403" in line for line in run.log_lines("WARN"))


@pytest.mark.parametrize("profile", ["v0.40", "v0.50", "v0.57"])
def test_an_older_metabase_is_not_asked_for_what_its_version_lacks(emulators, profile):
    run, requests, _ = synced(emulators, profile)
    assert requests_to(requests, r"/api/(ee/)?(document|transform|measure)(/.*)?") == []
    warning = next(line for line in run.log_lines("WARN") if "cannot serve these streams" in line)
    for stream, version in (("documents", "0.58"), ("transforms", "0.59"), ("measures", "0.60")):
        assert re.search(rf"{stream} \([^)]*{re.escape(version)}", warning), (stream, warning)
    assert all(run.records(stream) == [] for stream in NEWEST)


def test_a_metabase_that_does_not_say_its_version_is_asked_and_its_404s_skipped(emulators):
    emulator = emulators("v0.57")
    emulator.configure(missing_paths={"/api/session/properties"})
    try:
        run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=NEWEST)
    finally:
        emulator.configure(missing_paths=set())
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    assert any("did not say its version" in line for line in run.log_lines("WARN"))
    asked = {r["path"] for r in emulator.requests() if r["status"] == 404}
    assert {"/api/document", "/api/transform", "/api/measure"} <= asked
    for stream in NEWEST:
        assert any(stream in line and "404" in line for line in run.log_lines("WARN")), stream


@pytest.mark.parametrize("streams", [["dashboards", "dashboard_cards"], ["collections", "dashboards"]])
def test_dashboards_without_the_list_come_from_collection_items_each_read_once(streams):
    # (with collections and dashboard_cards both selected, the collections' list can be asked
    # twice: the CDK may run the collections stream while dashboard_cards reads its parents)
    emulator = start_emulator("v0.48", scale=Scale(cards=60, dashboards=20))
    try:
        run = sync(make_config(emulator, "password"), emulator.ca_bundle, streams=streams)
        assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
        assert run.record_ids("dashboards") == id_order(emulator.expected_ids("dashboards"))
        if "dashboard_cards" in streams:
            assert run.record_ids("dashboard_cards") == id_order(emulator.expected_ids("dashboard_cards"))
        log = [r for r in emulator.requests() if r["method"] == "GET"]
        details = Counter(r["path"] for r in log if re.fullmatch(r"/api/dashboard/\d+", r["path"]))
        assert sorted(details) == sorted(f"/api/dashboard/{i}" for i in emulator.expected_ids("dashboards"))
        assert set(details.values()) == {1}  # one detail read each, for both streams
        assert [r["status"] for r in log if r["path"] == "/api/dashboard"] == [404]
        items = Counter((r["path"], r["query"]) for r in log if re.fullmatch(r"/api/collection/[^/]+/items", r["path"]))
        assert set(items.values()) == {1}  # each collection's page once
        assert len(requests_to(log, r"/api/collection")) == 1  # the collections' list once, for both uses
        assert any("GET /api/dashboard answered 404" in line for line in run.log_lines("WARN") + run.log_lines("INFO"))
    finally:
        emulator.stop()
