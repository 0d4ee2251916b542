"""Every mistake a user can make, and every odd answer Metabase can give, comes back as a plain
answer with the right failure type, never a bare stack trace. One test per row of the table in
docs/bad-inputs.md."""

import re
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest

from integration_tests.conftest import make_config
from integration_tests.connector import id_order, run_connector, sync
from integration_tests.metabase_emulator import FaultPlan


# Every way of authenticating; a row about one credential is tried with that one only (None).
AUTHS = ("api_key", "session_token", "password")


@dataclass
class Row:
    case: str
    config: Callable  # (emulator, auth) -> connector config
    message: str  # a phrase the user must read
    failure_type: Optional[str] = "config_error"  # None: the sync succeeds
    profile: str = "v0.50"
    settings: dict = field(default_factory=dict)
    stream: str = "collections"  # the stream read; check reads collections too
    check_fails: bool = True
    trusted: bool = True  # whether the connector is given the emulator's CA
    auths: tuple = AUTHS


def api(emulator):
    return emulator.base_url + "/api/"


def user(emulator, auth, viewer="admin", **changes):
    """The admin's (or analyst's) config for one way of authenticating, with changes."""
    return {**make_config(emulator, auth, viewer), **changes}


def login(emulator, email_key="admin_email", password=None, **changes):
    credentials = emulator.credentials
    return {"instance_api_url": api(emulator), "username": credentials[email_key],
            "password": password or credentials[email_key.replace("email", "password")], **changes}


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ONE = (None,)
ROWS = [
    # about one credential
    Row("missing credentials", lambda e, _: {"instance_api_url": api(e)}, "username and password", auths=ONE),
    Row("wrong password", lambda e, _: login(e, password="not-the-password"), "rejected the username or password",
        auths=ONE),
    Row("wrong API key", lambda e, _: user(e, "api_key", api_key="mb_" + "x" * 44), "rejected the API key",
        auths=ONE),
    Row("expired token, no password", lambda e, _: {"instance_api_url": api(e),
        "session_token": "5d0c8a52-3b5e-4e8f-9d5c-000000000000"}, "session token is invalid or expired", auths=ONE),
    Row("deactivated user", lambda e, _: login(e, "deactivated_email"), "deactivated", auths=ONE),
    Row("password login disabled (SSO)", lambda e, _: login(e), "Password login is disabled",
        settings={"password_login_disabled": True}, auths=ONE),
    Row("expired token with a password", lambda e, _: login(e, session_token="5d0c8a52-3b5e-4e8f-9d5c-000000000000"),
        "Logged in", failure_type=None, check_fails=False, auths=ONE),
    Row("login answered 503 on every attempt", lambda e, _: login(e), "kept failing (HTTP 503); try again later",
        failure_type="transient_error", settings={"faults": FaultPlan(rate_503=1.0, max_consecutive=1000,
                                                                      paths="^/api/session$")}, auths=ONE),
    # the same whatever the credential
    Row("http:// URL", lambda e, a: user(e, a, instance_api_url=api(e).replace("https://", "http://")), "https://"),
    Row("wrong host", lambda e, a: user(e, a, instance_api_url="https://metabase.invalid/api/"), "cannot be found"),
    Row("wrong port", lambda e, a: user(e, a, instance_api_url=f"https://127.0.0.1:{closed_port()}/api/"),
        "Cannot connect"),
    Row("certificate from an authority the connector does not trust", lambda e, a: user(e, a),
        "certificate of 127.0.0.1 is not trusted", trusted=False),
    Row("not Metabase (the web app, not its API)", lambda e, a: user(e, a, instance_api_url=e.base_url + "/app/"),
        "HTML page"),
    Row("/api twice", lambda e, a: user(e, a, instance_api_url=e.base_url + "/api/api/"), "does not exist (404)"),
    Row("HTML page instead of JSON (SSO proxy), at login too", lambda e, a: user(e, a), "HTML page",
        settings={"html_mode": True}),
    Row("invalid JSON", lambda e, a: user(e, a), "invalid JSON", failure_type="system_error", stream="cards",
        settings={"invalid_json_paths": ["/api/card"]}, check_fails=False),
    Row("truncated body", lambda e, a: user(e, a), "cut off", failure_type="transient_error", stream="cards",
        settings={"faults": FaultPlan(rate_truncate=1.0, max_consecutive=1000, paths="^/api/card$")},
        check_fails=False),
    Row("connection dropped on every retry", lambda e, a: user(e, a, max_retries=1), "kept dropping or timing out",
        failure_type="transient_error", stream="cards", check_fails=False,
        settings={"faults": FaultPlan(rate_drop=1.0, max_consecutive=1000, paths="^/api/card$")}),
    Row("429 on every retry", lambda e, a: user(e, a, max_retries=1), "rate limit", failure_type="transient_error",
        stream="cards", check_fails=False,
        settings={"faults": FaultPlan(rate_429=1.0, retry_after=1, max_consecutive=1000, paths="^/api/card$")}),
    Row("an endpoint that 404s on this Metabase version", lambda e, a: user(e, a), "does not exist (404)",
        stream="native_query_snippets", settings={"missing_paths": ["/api/native-query-snippet"]},
        check_fails=False),
    Row("403 on an admin-only stream", lambda e, a: user(e, a, "analyst"),
        "403 Forbidden", failure_type=None, stream="users", check_fails=False),
]


def check_message(run):
    return run.connection_status["status"], run.connection_status.get("message") or ""


def each_auth(auths, work):
    """work(auth) for every way of authenticating at once (each runs connector processes, which
    mostly wait), so a row costs about one check and one read whatever the number of auths."""
    with ThreadPoolExecutor(len(auths)) as pool:
        return dict(zip(auths, pool.map(work, auths)))


@pytest.mark.parametrize("row", ROWS, ids=[row.case for row in ROWS])
def test_bad_input(emulators, row):
    emulator = emulators(row.profile)
    emulator.configure(**row.settings)
    ca_bundle = emulator.ca_bundle if row.trusted else None
    configs = {auth: row.config(emulator, auth) for auth in row.auths}

    def check_and_read(auth):
        return (run_connector("check", configs[auth], ca_bundle=ca_bundle),
                sync(configs[auth], ca_bundle, streams=[row.stream]))

    for auth, (check, read) in each_auth(row.auths, check_and_read).items():
        status, message = check_message(check)
        assert status == ("FAILED" if row.check_fails else "SUCCEEDED"), (auth, message)
        if row.check_fails:
            assert row.message in message, (auth, message)
            assert "Traceback" not in message
        if row.failure_type is None:
            assert read.returncode == 0 and read.errors == [], (auth, read.stderr[-2000:])
            assert any(row.message in log["message"] for log in read.logs), auth
        else:
            assert read.returncode != 0, auth
            # the stream's own error (the CDK may add a summary of the failed streams)
            first = next((e for e in read.errors if row.message in e["message"]), read.errors[0])
            assert first.get("failure_type") == row.failure_type, (auth, read.errors)
            assert row.message in first["message"], (auth, first["message"])


def test_throttled_login_says_to_wait(emulators):
    emulator = emulators("v0.40")
    emulator.configure(login_throttle_threshold=3)
    for _ in range(3):
        run_connector("check", login(emulator, password="wrong"), ca_bundle=emulator.ca_bundle)
    run = run_connector("check", login(emulator), ca_bundle=emulator.ca_bundle)
    status, message = check_message(run)
    assert status == "FAILED" and "Too many attempts" in message and "Wait" in message
    emulator.configure(login_throttle_threshold=10)


def test_empty_instance_syncs_nothing_but_the_root_collection():
    from integration_tests.conftest import start_emulator
    from integration_tests.metabase_emulator import Scale

    emulator = start_emulator("v0.57", scale=Scale(cards=0, dashboards=0, collections=0, users=0,
                                                    databases=0, snippets=0))
    try:
        run = sync(make_config(emulator, "api_key"), emulator.ca_bundle)
        assert run.returncode == 0 and run.errors == [], run.stderr[-2000:]
        assert run.records("cards") == run.records("dashboards") == run.records("native_query_snippets") == []
        assert run.record_ids("collections") == id_order(emulator.expected_ids("collections"))
    finally:
        emulator.stop()


def test_dashboard_deleted_between_list_and_detail_is_skipped(emulators):
    emulator = emulators("v0.50")
    expected = id_order(emulator.expected_ids("dashboards"))
    emulator.configure(vanishing_dashboard_ids=expected[:2])
    run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=["dashboards", "cards"])
    assert run.returncode == 0 and run.errors == [], run.stderr[-2000:]
    assert run.record_ids("dashboards") == expected[2:]
    assert run.record_ids("cards") == id_order(emulator.expected_ids("cards"))
    assert sum("deleted during the sync" in log["message"] for log in run.logs) == 2


# Each stream's one list endpoint, so one sync tries as many statuses as there are streams.
ENDPOINTS = {"cards": "/api/card", "collections": "/api/collection", "dashboards": "/api/dashboard",
             "users": "/api/user", "databases": "/api/database", "native_query_snippets": "/api/native-query-snippet",
             "tables": "/api/table", "permission_groups": "/api/permissions/group"}
# What Metabase and the proxies and CDNs in front of it send while they restart or are overloaded.
PASSING = [408, 500, 502, 503, 504, 507, 520, 521, 522, 523, 524, 529]
UNEXPECTED = [400, 409, 410, 413, 414, 422, 431, 501]


@pytest.mark.parametrize("statuses", [PASSING[:8], PASSING[8:], UNEXPECTED],
                         ids=["passing statuses (1)", "passing statuses (2)", "unexpected statuses"])
def test_each_status_gets_its_answer(emulators, statuses):
    """Passing statuses: retried (here once), then a transient_error naming the status and the
    endpoint. Any other: no retry even with the default 6, a system_error naming both at once.
    With each way of authenticating."""
    emulator = emulators("v0.57")
    status_of = dict(zip(ENDPOINTS.values(), statuses))
    emulator.configure(status_paths=status_of)
    retried = statuses[0] in PASSING
    streams = [stream for stream, path in ENDPOINTS.items() if path in status_of]
    configs = {auth: make_config(emulator, auth, **({"max_retries": 1} if retried else {})) for auth in AUTHS}
    runs = each_auth(AUTHS, lambda auth: sync(configs[auth], emulator.ca_bundle, streams=streams))

    for stream, (path, status) in zip(streams, status_of.items()):
        url = re.escape(emulator.base_url + path)
        said = re.compile(rf"answering {status} [A-Z].* to {url}; run the sync again later" if retried
                          else rf"answered {status} [A-Z].* to {url}, which the connector does not expect")
        # a failed dashboard list is reported by the CDK under the list's name or the stream's
        reported_as = {stream, "dashboard_list"} if stream == "dashboards" else {stream}
        for auth, run in runs.items():
            assert run.returncode != 0
            errors = [e for e in run.errors if (e.get("stream_descriptor") or {}).get("name") in reported_as]
            assert errors and all(said.search(e["message"]) for e in errors), (auth, status, path, errors[:1])
            assert {e["failure_type"] for e in errors} == {"transient_error" if retried else "system_error"}
        sent_once = 2 if stream == "users" else 1  # users: active and deactivated
        assert emulator.count(path=path) == len(AUTHS) * sent_once * (2 if retried else 1), (status, path)


def test_a_redirect_to_another_host_is_not_followed_and_no_credential_goes_there(emulators, tmp_path):
    """requests follows redirects anywhere with every header but Authorization (so X-API-Key and
    X-Metabase-Session) and, on a 307, with the login's body (the password)."""
    from integration_tests.conftest import start_emulator

    emulator, elsewhere = emulators("v0.50"), start_emulator("v0.50")  # same keys: it would accept them
    try:
        trusting_both = tmp_path / "ca.pem"
        trusting_both.write_text(open(emulator.ca_bundle).read() + open(elsewhere.ca_bundle).read())
        other = f"https://localhost:{elsewhere.port}"  # another host name for the same machine
        emulator.configure(redirect_paths={"/api/card": other + "/api/card", "/api/session": other + "/api/session"})
        configs = {auth: make_config(emulator, auth) for auth in AUTHS}
        runs = each_auth(AUTHS, lambda auth: sync(configs[auth], str(trusting_both), streams=["cards"]))
        for auth, run in runs.items():
            url = emulator.base_url + ("/api/session" if auth == "password" else "/api/card")
            assert run.returncode != 0 and run.errors[0]["failure_type"] == "config_error", auth
            assert f"{url} redirected to {other}" in run.errors[0]["message"], run.errors[0]["message"]
        assert elsewhere.requests() == []
    finally:
        elsewhere.stop()
