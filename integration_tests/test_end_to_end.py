"""The real connector CLI against the emulator, for every version profile and way of
authenticating: check, discover, read; records complete and valid; requests counted."""

import re

import jsonschema
import pytest

from integration_tests.conftest import AUTHS, PROFILES, expected_keys, make_config, start_emulator, views_of_reading
from integration_tests.connector import STREAMS, id_order, key_of, primary_key, run_connector, sync
from integration_tests.metabase_emulator import Scale

CASES = [(profile, auth) for profile in PROFILES for auth in AUTHS[profile]]
DASHBOARD_DETAIL = re.compile(r"^/api/dashboard/\d+$")


def data_requests(emulator):
    return [r for r in emulator.requests() if r["path"] != "/api/session"]


@pytest.mark.parametrize("profile, auth", CASES)
def test_check_succeeds_in_at_most_three_requests(emulators, profile, auth):
    emulator = emulators(profile)
    config = make_config(emulator, auth)
    emulator.clear_requests()
    run = run_connector("check", config, ca_bundle=emulator.ca_bundle)
    assert run.connection_status["status"] == "SUCCEEDED", run.stdout[-2000:]
    # a login (with a password), which Metabase it is, and one list
    paths = [r["path"] for r in data_requests(emulator)]
    assert len(paths) == 2 and paths[0] == "/api/session/properties", paths
    assert emulator.count(method="POST", path="/api/session") == (1 if auth == "password" else 0)


@pytest.mark.parametrize("profile, auth", CASES)
def test_discover_lists_every_stream_without_a_request(emulators, profile, auth):
    emulator = emulators(profile)
    run = run_connector("discover", make_config(emulator, auth), ca_bundle=emulator.ca_bundle)
    streams = {stream["name"]: stream for stream in run.catalog["streams"]}
    assert sorted(streams) == sorted(STREAMS)
    for stream in streams.values():
        assert stream["source_defined_primary_key"] == [[field] for field in primary_key(stream["name"])]
    assert emulator.requests() == []


@pytest.mark.parametrize("profile, auth", CASES)
def test_full_sync_emits_every_record_valid_and_with_the_fewest_requests(emulators, profile, auth):
    emulator = emulators(profile)
    config = make_config(emulator, auth)
    emulator.clear_requests()
    run = sync(config, emulator.ca_bundle)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.errors == []
    for stream in STREAMS:
        assert run.record_ids(stream) == id_order(expected_keys(emulator, stream)), stream
    schemas = {s["stream"]["name"]: s["stream"]["json_schema"] for s in run.configured_catalog["streams"]}
    for stream in STREAMS:
        validator = jsonschema.Draft7Validator(schemas[stream])
        for record in run.records(stream):
            errors = [e.message for e in validator.iter_errors(record)]
            assert errors == [], (stream, key_of(stream, record), errors[:3])

    logins = emulator.count(method="POST", path="/api/session")
    assert logins == (1 if auth == "password" else 0)
    assert emulator.count(path="/api/user/current") == 0
    assert emulator.count(status=401) == 0
    dashboards = len(emulator.expected_ids("dashboards", "admin"))
    databases = len(emulator.expected_ids("databases", "admin"))
    # the list and each dashboard's detail read once, for dashboards and dashboard_cards alike (the
    # second from the CDK's cache): one view of each dashboard, and of the cards on it (0.50+)
    assert emulator.count(method="GET", path="/api/dashboard") == 1
    details = [r["path"] for r in emulator.requests() if DASHBOARD_DETAIL.match(r["path"])]
    assert len(details) == len(set(details)) == dashboards
    assert emulator.views() == views_of_reading(emulator, emulator.expected_ids("dashboards", "admin"))
    # cards, collections, users (active, deactivated), databases, snippets, tables, permission
    # groups, memberships, segments, subscriptions, alerts, the database list for fields, the
    # dashboard list, which Metabase it is, the two permission graphs; the detail calls and one
    # metadata call per database; and what only some versions have (open source: no query log)
    version = emulator.profile
    newer = 2 * version.since(43) + version.since(58) + version.since(59) + version.since(60)
    assert len(data_requests(emulator)) == 17 + newer + dashboards + databases


@pytest.mark.parametrize("profile", PROFILES)
def test_records_have_the_shapes_users_join_on(emulators, profile):
    emulator = emulators(profile)
    run = sync(make_config(emulator, "password"), emulator.ca_bundle)
    assert run.returncode == 0, run.stderr[-3000:]
    user_ids = set(run.record_ids("users"))
    assert any(not user["is_active"] for user in run.records("users")), "deactivated users missing"
    for card in run.records("cards"):
        assert card["type"] in ("question", "model", "metric")
        assert card["creator_id"] in user_ids, "a card's creator has no user row"
    for dashboard in run.records("dashboards"):
        assert isinstance(dashboard["dashcards"], list) and "ordered_cards" not in dashboard
        assert "ordered_tabs" not in dashboard
    assert any(dashboard["dashcards"] for dashboard in run.records("dashboards"))
    assert "root" in run.record_ids("collections")


@pytest.mark.parametrize("profile", ["v0.50", "v0.57"])
def test_non_admin_sync_skips_users_with_a_warning_and_syncs_the_rest(emulators, profile):
    emulator = emulators(profile)
    run = sync(make_config(emulator, "api_key", viewer="analyst"), emulator.ca_bundle)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.errors == []
    assert run.records("users") == run.records("permission_groups") == []
    for admin_only in ("/api/user", "/api/permissions/group"):
        warnings = [line for line in run.log_lines("WARN") if admin_only in line]
        assert warnings and "403" in warnings[0]
    # An API key acts as a user of its own, in its group: it sees what that group sees.
    for stream in ("cards", "collections", "dashboards", "databases", "native_query_snippets", "tables"):
        assert run.record_ids(stream) == id_order(expected_keys(emulator, stream, "analyst_key")), stream
    assert emulator.count(path="/api/user", status=403) == 2  # active and deactivated users
    assert emulator.count(path="/api/permissions/group", status=403) == 1


def test_old_metabase_lets_a_non_admin_list_users(emulators):
    emulator = emulators("v0.40")
    run = sync(make_config(emulator, "password", viewer="analyst"), emulator.ca_bundle)
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    assert run.records("users")
    assert run.record_ids("users") == id_order(emulator.expected_ids("users", "analyst"))
    # Only listing deactivated users needs an admin there: that part is skipped, with a warning.
    assert any("/api/user" in line and "403" in line for line in run.log_lines("WARN"))


def test_users_are_paged_through_with_limit_and_offset():
    emulator = start_emulator("v0.57", scale=Scale(cards=10, users=2600))
    try:
        run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=["users"])
        assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
        assert run.record_ids("users") == id_order(emulator.expected_ids("users", "admin"))
        pages = [r["query"] for r in emulator.requests() if r["path"] == "/api/user"]
        active_pages = sorted(q for q in pages if "status=deactivated" not in q)
        active = sum(user["is_active"] for user in run.records("users"))
        assert active > 2000
        assert active_pages == sorted(f"offset={n * 1000}&limit=1000" for n in range(active // 1000 + 1))
    finally:
        emulator.stop()


@pytest.mark.parametrize("profile", PROFILES)
def test_session_expiring_mid_sync_costs_one_login_per_expiry_and_loses_nothing(emulators, profile):
    emulator = emulators(profile)
    # Sessions outlive the 6 requests in flight at once: a renewed session then serves every
    # request that waited for it (with 3, 15 concurrent streams can use one up before a retry).
    emulator.configure(session_max_requests=10)
    config = make_config(emulator, "password", num_workers=6)
    run = sync(config, emulator.ca_bundle)
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in STREAMS:
        assert run.record_ids(stream) == id_order(expected_keys(emulator, stream)), stream
    expiries = emulator.expiries
    assert expiries >= 2
    assert emulator.count(method="POST", path="/api/session") == 1 + expiries


def test_session_token_expiring_without_a_password_fails_with_a_config_error(emulators):
    emulator = emulators("v0.50")
    emulator.configure(session_max_requests=3)
    run = sync(make_config(emulator, "session_token"), emulator.ca_bundle)
    assert run.returncode != 0
    assert run.errors and all(error["failure_type"] == "config_error" for error in run.errors)
    assert "session token is invalid or expired" in run.errors[0]["message"]
    assert emulator.count(method="POST", path="/api/session") == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_a_config_of_airbytes_source_metabase_2_works_unchanged(emulators, profile):
    emulator = emulators(profile)
    credentials = emulator.credentials
    old_config = {  # exactly the keys and URL form of source-metabase 2.x
        "instance_api_url": emulator.base_url + "/api/",
        "username": credentials["admin_email"],
        "password": credentials["admin_password"],
        "session_token": emulator.mint_session(credentials["admin_email"]),
    }
    assert run_connector("check", old_config, ca_bundle=emulator.ca_bundle).connection_status["status"] == "SUCCEEDED"
    run = sync(old_config, emulator.ca_bundle)
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    for stream in STREAMS:
        assert run.record_ids(stream) == id_order(expected_keys(emulator, stream)), stream
    assert emulator.count(method="POST", path="/api/session") == 0  # the valid token is used as is


@pytest.mark.parametrize("profile", PROFILES)
def test_database_connection_details_are_synced_only_when_asked_for(emulators, profile):
    emulator = emulators(profile)
    streams = ["databases", "tables"]
    default = sync(make_config(emulator, "password"), emulator.ca_bundle, streams=streams)
    assert default.returncode == 0 and default.errors == [], default.stderr[-3000:]
    assert default.records("databases") and default.records("tables")
    assert all(db.get("details") is None for db in default.records("databases"))
    assert all(table["db"].get("details") is None for table in default.records("tables"))
    assert "metabase_ro" not in default.stdout  # a user name from the emulator's connection details

    asked = sync(make_config(emulator, "password", include_database_details=True), emulator.ca_bundle, streams=streams)
    assert asked.returncode == 0 and asked.errors == [], asked.stderr[-3000:]
    hosts = {db["id"]: db["details"].get("host") for db in asked.records("databases") if db.get("details")}
    assert any(hosts.values()), "the emulator's admin should see connection details"
    assert all(table["db"].get("details") for table in asked.records("tables") if table["db_id"] in hosts)
