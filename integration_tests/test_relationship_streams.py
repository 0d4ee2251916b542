"""The streams that join Metabase's content together (dashboard_cards, fields, memberships,
segments, timelines and their events, dashboard subscriptions), archived content, and endpoints
a version does not have: the real CLI against the emulator, for every version profile. Records
equal the emulator's content and validate against their schemas; requests are counted per
stream; the schemas declare (nearly) every field Metabase sends."""

import json
import re
from collections import Counter

import jsonschema
import pytest

from integration_tests.conftest import PROFILES, expected_keys, make_config
from integration_tests.connector import STREAMS, id_order, key_of, sync
from integration_tests.metabase_emulator.alerts import alert_id, listed_alerts as alert_rows
from integration_tests.metabase_emulator.notifications import GROUP, USER

NEW_STREAMS = ["dashboard_cards", "fields", "permission_group_memberships", "segments", "timelines",
               "timeline_events", "dashboard_subscriptions", "alerts"]
DASHBOARD_DETAIL = re.compile(r"^/api/dashboard/\d+$")
METADATA = re.compile(r"^/api/database/\d+/metadata$")

_RUNS: dict = {}


def synced(emulators, profile, viewer="admin", **options):
    """One full sync per (profile, viewer, options), shared by the tests of this module and of
    test_relationship_joins.py; returns (run, the emulator's request log of that sync, emulator).
    Admins use an API key (a login on v0.40, which has none), the analyst logs in."""
    key = (profile, viewer, tuple(sorted(options.items())))
    emulator = emulators(profile)
    if key not in _RUNS:
        auth = "api_key" if viewer == "admin" and profile != "v0.40" else "password"
        run = sync(make_config(emulator, auth, viewer=viewer, **options), emulator.ca_bundle)
        assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
        _RUNS[key] = (run, [r for r in emulator.requests() if r["path"] != "/api/session"])
    run, requests = _RUNS[key]
    return run, requests, emulator


def expected(emulator, stream, viewer="admin", include_archived=False):
    if include_archived:
        return id_order(emulator.expected_ids(stream, viewer, include_archived=True))
    return id_order(expected_keys(emulator, stream, viewer))


def requests_to(requests, pattern, query=None):
    return [r for r in requests if re.fullmatch(pattern, r["path"]) and (query is None or r["query"] == query)]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_stream_holds_the_emulators_content_and_validates(emulators, profile):
    run, _, emulator = synced(emulators, profile)
    schemas = {s["stream"]["name"]: s["stream"]["json_schema"] for s in run.configured_catalog["streams"]}
    for stream in STREAMS:
        assert run.record_ids(stream) == expected(emulator, stream), stream
        validator = jsonschema.Draft7Validator(schemas[stream])
        for record in run.records(stream):
            errors = [e.message for e in validator.iter_errors(record)]
            assert errors == [], (stream, key_of(stream, record), errors[:3])
    model, p = emulator.model, emulator.profile

    for dashcard in run.records("dashboard_cards"):
        assert "card" not in dashcard and "sizeX" not in dashcard
        assert isinstance(dashcard["size_x"], int) and isinstance(dashcard["size_y"], int)
        assert all(isinstance(card_id, int) for card_id in dashcard["series"])
        assert dashcard["dashboard_id"] in run.record_ids("dashboards")
    # (the CDK leaves top-level nulls out of the records it prints: .get)
    assert any(d.get("card_id") is None for d in run.records("dashboard_cards")), "no text/heading/link card"
    assert any(d["series"] for d in run.records("dashboard_cards")), "no dashcard with series"
    sources = {dc.id: dc for d in model.dashboards.values() for dc in d.dashcards}
    for dashcard in run.records("dashboard_cards"):
        source = sources[dashcard["id"]]
        assert (dashcard.get("card_id"), dashcard["size_x"], dashcard["series"]) == \
            (source.card_id, source.size_x, source.series)

    for field in run.records("fields"):
        assert field["database_id"] == model.tables[field["table_id"]].db_id and "target" not in field
    visibility = Counter(field["visibility_type"] for field in run.records("fields"))
    assert visibility["sensitive"] and visibility["details-only"], "include_hidden must bring every field"

    memberships = run.records("permission_group_memberships")
    assert sorted((m["membership_id"], m["user_id"], m["group_id"]) for m in memberships) == sorted(model.memberships)
    assert all(("is_group_manager" in m) == p.since(43) for m in memberships)

    events = run.records("timeline_events")
    assert all(model.timelines[e["timeline_id"]].events for e in events)
    assert not any(e["archived"] for e in events)

    subscriptions = run.records("dashboard_subscriptions")
    assert subscriptions and not any(model.pulses[s["id"]].alert_condition for s in subscriptions)
    for subscription in subscriptions:
        for channel in subscription["channels"]:
            assert all("email" in recipient for recipient in channel["recipients"])
    # Metabase 0.40's GET /api/pulse leaves dashboard subscriptions out: legacy pulses only.
    assert any(s.get("dashboard_id") for s in subscriptions) == p.since(41)


@pytest.mark.parametrize("profile", PROFILES)
def test_requests_per_stream(emulators, profile):
    """The whole sync's requests, stream by stream, from the emulator's log."""
    run, requests, emulator = synced(emulators, profile)
    dashboards = len(expected(emulator, "dashboards"))
    databases = len(expected(emulator, "databases"))
    # dashboard_cards reads the dashboards' details from the CDK's cache, after `dashboards`, and
    # the list with them: each once
    assert len(requests_to(requests, r"/api/dashboard")) == 1
    details = requests_to(requests, DASHBOARD_DETAIL.pattern)
    assert len(details) == len({r["path"] for r in details}) == dashboards
    # fields: one request per database (plus the list of databases, read again for it)
    assert len(requests_to(requests, METADATA.pattern, "include_hidden=true")) == databases
    assert len(requests_to(requests, r"/api/database")) == 2
    for path, query in (("/api/permissions/membership", ""), ("/api/segment", ""), ("/api/pulse", ""),
                        ("/api/session/properties", ""), ("/api/collection/graph", ""), ("/api/permissions/graph", ""),
                        ("/api/table", "")):  # (the tables' list once, for tables and transforms)
        assert len(requests_to(requests, path, query)) == 1, (path, query)
    # what only some versions have is asked of those only
    version = emulator.profile
    optional = {("/api/timeline", ""): version.since(43), ("/api/timeline", "include=events"): version.since(43),
                ("/api/alert", ""): not version.since(54),
                ("/api/notification", "payload_type=notification%2Fcard"): version.since(54),
                ("/api/document", ""): version.since(58), ("/api/transform", ""): version.since(59),
                ("/api/measure", ""): version.since(60)}
    for (path, query), asked in optional.items():
        assert len(requests_to(requests, path, query)) == int(asked), (path, query)
    # 9 + D (cards, collections, dashboards, users x2, databases, snippets, tables, groups), then
    # memberships, segments, subscriptions, the database list, N metadata, the version, the two
    # graphs (open source: no query log), and what the version has
    assert len(requests) == 9 + dashboards + 4 + databases + 3 + sum(optional.values())


@pytest.mark.parametrize("profile", PROFILES)
def test_dashboard_cards_cost_one_detail_request_per_dashboard(emulators, profile):
    emulator = emulators(profile)
    config = make_config(emulator, "password" if profile == "v0.40" else "api_key")
    dashboards = len(expected(emulator, "dashboards"))
    # (and one request of every sync: which Metabase it is)
    for streams, total in ((["dashboard_cards"], {2 + dashboards}), (["dashboards", "dashboard_cards"], {2 + dashboards})):
        emulator.clear_requests()
        run = sync(config, emulator.ca_bundle, streams=streams)
        assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
        assert run.record_ids("dashboard_cards") == expected(emulator, "dashboard_cards")
        data = [r for r in emulator.requests() if r["path"] != "/api/session"]
        assert len(data) in total, (streams, Counter(r["path"] for r in data))


@pytest.mark.parametrize("profile", PROFILES)
def test_include_archived_syncs_archived_content_with_one_more_list_request(emulators, profile):
    run, requests, emulator = synced(emulators, profile, include_archived=True)
    _, plain, _ = synced(emulators, profile)
    model, p = emulator.model, emulator.profile
    archivable = ["cards", "collections", "dashboards", "native_query_snippets", "dashboard_cards", "alerts"]
    for stream in STREAMS:
        assert run.record_ids(stream) == expected(emulator, stream, include_archived=stream in archivable), stream
    for stream in ("cards", "collections", "native_query_snippets", "alerts"):
        assert set(run.record_ids(stream)) > set(expected(emulator, stream)), f"no archived {stream}"
    for stream in ("cards", "native_query_snippets", "alerts"):
        new = set(run.record_ids(stream)) - set(expected(emulator, stream))
        assert all(r["archived"] is True for r in run.records(stream) if r["id"] in new)
    archived_collections = [c for c in run.records("collections") if c["id"] not in expected(emulator, "collections")]
    assert all(c["archived"] for c in archived_collections if c.get("type") != "trash")
    # one more list request for each archivable list
    archived_alerts = ("/api/notification", "payload_type=notification%2Fcard&include_inactive=true") \
        if p.since(54) else ("/api/alert", "archived=true")
    for path, query in (("/api/card", "f=archived"), ("/api/collection", "archived=true"),
                        ("/api/native-query-snippet", "archived=true"), ("/api/dashboard", "f=archived"),
                        archived_alerts):
        assert len(requests_to(requests, path, query)) == 1, (path, query)
    archived_dashboards = model.visible_dashboards(model.viewer(model.users[1]), "archived")
    details = requests_to(requests, DASHBOARD_DETAIL.pattern)
    if p.trash:  # 0.50+: archived dashboards in full, the ones archived directly in the Trash
        # (once for dashboards and dashboard_cards)
        assert len(details) == len(requests_to(plain, DASHBOARD_DETAIL.pattern)) + len(archived_dashboards)
        trash = [c for c in run.records("collections") if c.get("type") == "trash"]
        assert [c["id"] for c in trash] == [model.trash_id]
        by_id = {d["id"]: d for d in run.records("dashboards")}
        for d in archived_dashboards:
            assert by_id[d.id]["archived"] is True
            assert by_id[d.id]["collection_id"] == (model.trash_id if d.archived_directly else d.collection_id)
        assert any(d.archived_directly for d in archived_dashboards)
    else:  # the detail of an archived dashboard answers 404 before 0.50: skipped, with a warning
        refused = [r for r in details if r["status"] == 404]
        assert refused and {int(r["path"].rsplit("/", 1)[1]) for r in refused} == {d.id for d in archived_dashboards}
        assert any("archived dashboards" in line and "0.50" in line for line in run.log_lines("WARN"))
        assert not any(d["archived"] for d in run.records("dashboards"))


def test_timelines_skipped_with_a_warning_where_the_endpoint_does_not_exist(emulators):
    run, requests, _ = synced(emulators, "v0.40")
    assert run.records("timelines") == run.records("timeline_events") == []
    assert requests_to(requests, r"/api/timeline") == []  # the version says it has none: not asked
    warnings = [line for line in run.log_lines("WARN") if line.startswith("Skipping timelines")]
    assert len(warnings) == 1 and "0.43" in warnings[0]
    assert run.stream_statuses("timelines")[-1] == "COMPLETE"


def test_a_missing_optional_endpoint_is_skipped_but_a_missing_core_one_is_a_config_error(emulators):
    emulator = emulators("v0.57")
    config = make_config(emulator, "api_key")
    emulator.configure(missing_paths=["/api/segment", "/api/notification", "/api/card"])
    optional = sync(config, emulator.ca_bundle, streams=["segments", "alerts", "dashboard_subscriptions"])
    assert optional.returncode == 0 and optional.errors == []
    assert optional.records("segments") == optional.records("alerts") == []
    assert optional.records("dashboard_subscriptions")
    assert any("/api/segment" in line and "segments stay empty" in line for line in optional.log_lines("WARN"))
    assert any("/api/notification" in line and "alerts stay empty" in line for line in optional.log_lines("WARN"))
    core = sync(config, emulator.ca_bundle, streams=["cards"])
    assert core.returncode != 0
    assert core.errors and core.errors[0]["failure_type"] == "config_error"
    assert "/api/card" in core.errors[0]["message"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_non_admin_syncs_what_metabase_shows_them(emulators, profile):
    run, requests, emulator = synced(emulators, profile, viewer="analyst")
    for stream in NEW_STREAMS:
        assert run.record_ids(stream) == expected(emulator, stream, "analyst"), stream
    assert run.records("fields") and len(run.records("fields")) < len(synced(emulators, profile)[0].records("fields"))
    # memberships are admin-only: 403, skipped with a warning
    assert [r["status"] for r in requests_to(requests, r"/api/permissions/membership")] == [403]
    assert any("/api/permissions/membership" in line and "403" in line for line in run.log_lines("WARN"))
    # Metabase 0.46+ lists a non-admin's own subscriptions only
    if emulator.profile.since(46):
        assert run.records("dashboard_subscriptions")
        assert {s["creator_id"] for s in run.records("dashboard_subscriptions")} == {2}


def expected_alerts(emulator, viewer) -> dict:
    """{alert id: (card id, condition, {(channel, kind, who)})} of the alerts Metabase lists to
    `viewer`, from the emulator's model: the alerts' pulse rows, and from 0.54 the notifications
    made of them (the ids, and recipients such as groups that only notifications have)."""
    model, profile = emulator.model, emulator.profile
    viewer_row = model.viewer(model.by_email[emulator.credentials[f"{viewer}_email"]])
    alerts = {}
    for pulse in alert_rows(model, profile, viewer_row):
        ident = alert_id(model, profile, pulse)
        if profile.since(54):
            kinds = {USER: "user", GROUP: "group"}
            recipients = {(h.channel_type.split("/")[1], kinds.get(r.type) or ("slack_channel" if "slack" in h.channel_type
                           else "email"), r.user_id or r.group_id or r.details["value"])
                          for h in model.notifications[ident].handlers for r in h.recipients}
        else:
            recipients = {(ch.channel_type, "user", u) for ch in pulse.channels for u in ch.user_ids
                          if model.users[u].is_active} | \
                {(ch.channel_type, "email", e) for ch in pulse.channels for e in ch.emails} | \
                {(ch.channel_type, "slack_channel", ch.details["channel"]) for ch in pulse.channels
                 if ch.details.get("channel")}
        alerts[ident] = (pulse.cards[0][0], pulse.alert_condition, recipients)
    return alerts


@pytest.mark.parametrize("viewer", ["admin", "analyst"])
@pytest.mark.parametrize("profile", PROFILES)
def test_alerts_are_the_ones_metabase_lists_to_the_user_each_with_its_card(emulators, profile, viewer):
    run, requests, emulator = synced(emulators, profile, viewer=viewer)
    alerts = expected_alerts(emulator, viewer)
    assert alerts and run.record_ids("alerts") == id_order(alerts)
    for record in run.records("alerts"):
        card_id, condition, recipients = alerts[record["id"]]
        assert (record["card_id"], record["alert_condition"], record["archived"]) == (card_id, condition, False)
        assert {(r["channel_type"], r["type"], r["user_id"] or r["group_id"] or r["email"] or r["slack_channel"])
                for r in record["recipients"]} == recipients, record["id"]
        assert record.get("name") is None
    kinds = {r["type"] for a in run.records("alerts") for r in a["recipients"]}
    assert {"user", "email"} <= kinds and ("group" in kinds) == (emulator.profile.since(54) and viewer == "admin")
    # one list: /api/alert up to 0.53, the card notifications from 0.54 (the alert list no longer names the card)
    source = r"/api/notification" if emulator.profile.since(54) else r"/api/alert"
    assert [r["query"] for r in requests_to(requests, source)] == \
        (["payload_type=notification%2Fcard"] if emulator.profile.since(54) else [""])
    assert requests_to(requests, r"/api/(alert|notification)") == requests_to(requests, source)
    if viewer == "analyst":  # fewer than an admin sees: 0.40 those on readable cards, 0.48+ own or received
        assert set(alerts) < set(expected_alerts(emulator, "admin"))


# --- schemas ------------------------------------------------------------------------------

# Keys only some versions send: (stream, path, the first minor version sending it, a value of the
# wrong type). Metabase 0.40-0.46 segments: query_description's filter pieces are objects.
VERSION_KEYS = [
    ("dashboards", ("dependency_analysis_version",), 57, "zero"),
    ("tables", ("data_authority",), 57, 1),
    ("tables", ("is_writable",), 57, "yes"),
    ("cards", ("dataset_query", "lib.convert/converted?"), 57, "yes"),
]


def dig(record, path):
    for key in path:
        if not isinstance(record, dict) or key not in record:
            return KeyError
        record = record[key]
    return record


@pytest.mark.parametrize("profile", PROFILES)
def test_keys_some_versions_send_arrive_and_their_schema_types_them(emulators, profile):
    run, _, emulator = synced(emulators, profile)
    schemas = {s["stream"]["name"]: s["stream"]["json_schema"] for s in run.configured_catalog["streams"]}
    for stream, path, since, wrong in VERSION_KEYS:
        records = run.records(stream)
        sent = [r for r in records if dig(r, path) is not KeyError]
        assert (sent == records != []) if emulator.profile.since(since) else sent == [], (stream, path)
        if sent:  # valid as sent (the content test validates every record); a value of another type is not
            broken = json.loads(json.dumps(sent[0]))
            dig(broken, path[:-1])[path[-1]] = wrong
            assert list(jsonschema.Draft7Validator(schemas[stream]).iter_errors(broken)), (stream, path)
    segments = run.records("segments")
    described = [r for r in segments if "query_description" in r]
    assert described == (segments if not emulator.profile.since(47) else []) and segments
    for segment in described:
        pieces = segment["query_description"]["filter"]
        assert pieces and all(isinstance(piece, dict) and piece["field"] for piece in pieces)
    if described:
        broken = json.loads(json.dumps(described[0]))
        broken["query_description"]["filter"] = [42]
        assert list(jsonschema.Draft7Validator(schemas["segments"]).iter_errors(broken))


OPEN = "Open on purpose"


def open_on_purpose(schema: dict) -> bool:
    """An object left open on purpose: no properties, and a description saying why."""
    return "properties" not in schema and OPEN in schema.get("description", "")


def field_paths(value: dict, schema: dict, depth: int = 2, prefix: tuple = ()):
    """(path, declared) for every key of `value` down to `depth` levels; keys of objects in
    arrays count at the array's level + 1. Open-on-purpose objects are not looked into."""
    for key, item in value.items():
        sub = (schema.get("properties") or {}).get(key)
        path = prefix + (key,)
        yield path, sub is not None
        if depth < 2 or sub is None or open_on_purpose(sub):
            continue
        if isinstance(item, dict):
            yield from field_paths(item, sub, depth - 1, path)
        elif isinstance(item, list):
            items = sub.get("items") or {}
            if not open_on_purpose(items):
                for element in item:
                    if isinstance(element, dict):
                        yield from field_paths(element, items, depth - 1, path + ("[]",))


def declared_share(records: list, schema: dict):
    seen = {}
    for record in records:
        seen.update(field_paths(record, schema))
    undeclared = sorted(".".join(p) for p, declared in seen.items() if not declared)
    return 1 - len(undeclared) / max(1, len(seen)), undeclared


@pytest.mark.parametrize("profile", PROFILES)
def test_schemas_declare_at_least_95_percent_of_the_fields_records_carry(emulators, profile):
    """Two levels deep, in what the CLI emitted for every stream (with archived content too)."""
    runs = [synced(emulators, profile)[0], synced(emulators, profile, include_archived=True)[0]]
    schemas = {s["stream"]["name"]: s["stream"]["json_schema"] for s in runs[0].configured_catalog["streams"]}
    shares = {}
    for stream in STREAMS:
        records = [record for run in runs for record in run.records(stream)]
        if records:
            shares[stream] = declared_share(records, schemas[stream])
    print({stream: round(100 * share, 1) for stream, (share, _) in shares.items()})
    assert {stream: undeclared for stream, (share, undeclared) in shares.items() if share < 0.95} == {}
    emulator = emulators(profile)  # every stream Metabase gives records to (open source: no query log)
    assert sorted(shares) == sorted(s for s in STREAMS if expected_keys(emulator, s))


def test_the_coverage_measure_can_fail():
    schema = {"properties": {"a": {}, "b": {"properties": {"c": {}}},
                             "d": {"description": OPEN + ": keys depend on X."}, "e": {}}}
    record = {"a": 1, "b": {"c": 1, "x": 2}, "d": {"anything": 1}, "e": {"y": 1}, "z": 0}
    share, undeclared = declared_share([record], schema)
    assert undeclared == ["b.x", "e.y", "z"] and share == pytest.approx(1 - 3 / 8)


def test_every_open_object_says_why(emulators):
    """Objects without properties, two levels deep, are maps whose keys Metabase does not fix."""
    run, _, _ = synced(emulators, "v0.57")
    undocumented = []

    def walk(schema, path, depth):
        kinds = schema.get("type", [])
        if "object" in kinds and "properties" not in schema and not open_on_purpose(schema):
            undocumented.append(path)
        if depth:
            for key, sub in (schema.get("properties") or {}).items():
                walk(sub, f"{path}.{key}", depth - 1)
            if isinstance(schema.get("items"), dict):
                walk(schema["items"], path + "[]", depth)

    for stream in run.configured_catalog["streams"]:
        walk(stream["stream"]["json_schema"], stream["stream"]["name"], 2)
    assert undocumented == []
