"""One login per session lifetime: a login's session goes back to the platform as a config update
(a CONTROL message, as for rotated OAuth tokens), the next sync uses it, and only a session that
Metabase rejects costs a new login. Counted from the emulator's request log, with the real CLI."""

import json

import pytest

from integration_tests.conftest import expected_keys, make_config, start_emulator
from integration_tests.connector import STREAMS, id_order, run_connector, sync
from integration_tests.metabase_emulator import Scale
from integration_tests.test_connector_builder import COMPONENTS, builder, emulator, paths_holding, post  # noqa: F401


def logins(emulator):
    return emulator.count(method="POST", path="/api/session", status=200)


def config_updates(run):
    return [m["control"]["connectorConfig"]["config"] for m in run.of_type("CONTROL")
            if m["control"]["type"] == "CONNECTOR_CONFIG"]


def assert_every_record(run, emulator):
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    for stream in STREAMS:
        assert run.record_ids(stream) == id_order(expected_keys(emulator, stream)), stream


def assert_only_in_its_control_message(run, session_id):
    """The minted session id is in the CONTROL message and in no other line the run printed."""
    holding = [line for line in (run.stdout + run.stderr).splitlines() if session_id in line]
    assert len(holding) == 1 and json.loads(holding[0])["type"] == "CONTROL", holding[:1]


def test_a_session_lasts_from_sync_to_sync_until_metabase_rejects_it(emulators):
    emulator = emulators("v0.50")
    user_config = make_config(emulator, "password", num_workers=8)

    first = sync(user_config, emulator.ca_bundle, debug=True)
    assert_every_record(first, emulator)
    assert logins(emulator) == 1
    updates = config_updates(first)
    assert len(updates) == 1, "one config update, with 8 workers too"
    # The user's config as given (no derived api_base_url, no injected manifest) plus the session.
    session_id = updates[0].pop("session_token")
    assert updates[0] == user_config
    assert session_id in emulator.auth.sessions  # the session Metabase minted at that login
    assert_only_in_its_control_message(first, session_id)

    emulator.clear_requests()
    stored = {**user_config, "session_token": session_id}  # what the platform stores
    second = sync(stored, emulator.ca_bundle)
    assert_every_record(second, emulator)
    assert logins(emulator) == 0 and config_updates(second) == []
    assert emulator.count(status=401) == 0

    emulator.expire_sessions()  # 14 days later, or an admin logged every session out
    emulator.clear_requests()
    third = sync(stored, emulator.ca_bundle, debug=True)
    assert_every_record(third, emulator)
    assert logins(emulator) == 1
    [renewed] = config_updates(third)
    assert renewed["session_token"] not in (session_id, None)
    assert_only_in_its_control_message(third, renewed["session_token"])
    print(f"sync 1: 1 login, 1 config update; sync 2: 0, 0; after expiry: {logins(emulator)}, "
          f"{len(config_updates(third))}")


def test_check_hands_over_its_login_and_a_check_with_the_session_does_not_log_in(emulators):
    emulator = emulators("v0.57")
    user_config = make_config(emulator, "password")
    check = run_connector("check", user_config, ca_bundle=emulator.ca_bundle, debug=True)
    assert check.connection_status["status"] == "SUCCEEDED"
    [update] = config_updates(check)
    assert_only_in_its_control_message(check, update["session_token"])
    assert logins(emulator) == 1

    emulator.clear_requests()
    again = run_connector("check", update, ca_bundle=emulator.ca_bundle)
    assert again.connection_status["status"] == "SUCCEEDED"
    assert logins(emulator) == 0 and config_updates(again) == []


@pytest.mark.parametrize("auth", ["api_key", "session_token"])
def test_an_api_key_or_a_valid_token_produces_no_config_update(emulators, auth):
    emulator = emulators("v0.50")
    config = make_config(emulator, auth)
    if auth == "session_token":  # a password too, which is not needed while the token works
        config.update(make_config(emulator, "password"), session_token=config["session_token"])
    run = sync(config, emulator.ca_bundle, streams=["collections", "cards"])
    assert run.returncode == 0 and run.errors == []
    assert config_updates(run) == [] and logins(emulator) == 0


@pytest.mark.parametrize("auth", ["password", "api_key"])
def test_the_builder_keeps_a_new_session_to_itself(builder, emulator, auth, tmp_path_factory):
    """The CDK gives a custom authenticator no public way to the Connector Builder's message
    repository, so the Builder shows no config update (docs/metabase.md says so); the session
    it minted is in no part of its answer (its request logs show the header masked) nor in the
    manifest server's own output."""
    config = make_config(emulator, auth)
    before = set(emulator.auth.sessions)
    answer = post(builder, "test_read", config=config, stream_name="collections",
                  custom_components_code=COMPONENTS, record_limit=100, page_limit=5, slice_limit=5)
    assert answer.status_code == 200, answer.text[:2000]
    read = answer.json()
    assert read["slices"] and read["latest_config_update"] is None
    minted = set(emulator.auth.sessions) - before
    assert len(minted) == (1 if auth == "password" else 0)
    if auth == "api_key":
        return
    [session_id] = minted
    assert list(paths_holding(read, [session_id])) == []
    requests_shown = [page["request"] for s in read["slices"] for page in s["pages"]]
    assert requests_shown and all(r["headers"]["X-Metabase-Session"] == "****" for r in requests_shown)
    server_logs = list(tmp_path_factory.getbasetemp().glob("manifest-server*/server.log"))
    assert server_logs and not any(session_id in log.read_text() for log in server_logs)


@pytest.fixture(scope="module")
def busy_emulator():
    """Enough dashboards (one request each) for sessions to expire many times over."""
    emulator = start_emulator("v0.50", scale=Scale(cards=60, dashboards=80))
    yield emulator
    emulator.stop()


def test_sessions_expiring_every_3_requests_with_8_workers_cost_one_login_each(busy_emulator):
    emulator = busy_emulator
    emulator.configure(session_max_requests=3)
    emulator.clear_requests()
    run = sync(make_config(emulator, "password", num_workers=8), emulator.ca_bundle)
    assert_every_record(run, emulator)
    data = [r for r in emulator.requests() if r["path"] != "/api/session"]
    accepted = sum(r["status"] != 401 for r in data)
    # the sync's data requests (README, open source 0.50): 18 (with the version and both permission
    # graphs) + the dashboard list (once, or twice in a race) + two detail calls per dashboard (the
    # HTTP cache matches the session header, which changes every 3 requests here) + one metadata
    # call per database
    lists = sum(r["path"] == "/api/dashboard" and r["status"] != 401 for r in data)
    needed = 18 + lists + 2 * len(emulator.expected_ids("dashboards")) + len(emulator.expected_ids("databases"))
    print(f"data requests {needed} (accepted {accepted}, 401s {len(data) - accepted}), logins {logins(emulator)}, "
          f"config updates {len(config_updates(run))}, bound {1 + needed // 3 + 8}")
    assert accepted == needed
    assert needed / 3 <= logins(emulator) <= 1 + needed / 3 + 8  # a session serves 3 requests at most
    # each session that served a request was handed over once
    updates = [update["session_token"] for update in config_updates(run)]
    assert 1 <= len(set(updates)) == len(updates) <= logins(emulator)


def test_a_metabase_that_rejects_its_fresh_sessions_fails_at_once_saying_so(busy_emulator):
    emulator = busy_emulator
    emulator.configure(session_max_requests=0)  # every session is dead on its first use
    for command in ("check", "read"):
        emulator.clear_requests()
        config = make_config(emulator, "password", num_workers=8)
        run = run_connector("check", config, ca_bundle=emulator.ca_bundle) if command == "check" else \
            sync(config, emulator.ca_bundle)
        message = run.connection_status.get("message", "") if command == "check" else run.errors[0]["message"]
        assert "rejected each of the last 3 sessions it created" in message, message
        assert command == "check" or run.errors[0]["failure_type"] == "config_error"
        assert logins(emulator) == 3 and config_updates(run) == []
