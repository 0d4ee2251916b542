"""SessionTokenAuthenticator (components.py) against a Metabase faked with `responses`."""

import ast
import json
import logging
import sys
import threading
import types
import uuid
from pathlib import Path

import pytest
import requests
import responses

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from unit_tests.conftest import API

PASSWORD = "fake-unit-password-3141"
TOKEN = "0b5a2f4e-1d2c-4c1e-9c0b-5e7a8f9d0c1b"
API_KEY = "mb_FAKEunitTESTkey00000000000000000000000000000="
ROOT = Path(__file__).resolve().parent.parent


class FakeMetabase:
    """Just enough of Metabase's auth: sessions minted by POST /api/session, GET /api/card."""

    def __init__(self, rsps: responses.RequestsMock, login_delay: float = 0.0):
        self.valid = set()
        self.logins = 0
        self.data_calls = 0
        self.login_delay = login_delay
        self.login_answers = []  # queued (status, body, headers) answers before a success
        self.rejections = None  # a Barrier: hold each 401 until that many requests are rejected
        self.max_uses = None  # a session ends after serving this many requests
        self.uses = {}
        self._lock = threading.Lock()
        rsps.add_callback(responses.POST, API + "session", callback=self._login)
        rsps.add_callback(responses.GET, API + "card", callback=self._card)
        rsps.add_callback(responses.GET, API + "user", callback=self._card)
        rsps.add_callback(responses.GET, API + "session/properties", callback=self._properties)
        self.properties_calls = []  # the credential header each GET /api/session/properties came with

    def _login(self, request):
        threading.Event().wait(self.login_delay)  # widens the window for racing threads
        with self._lock:
            self.logins += 1
            if self.login_answers:
                return self.login_answers.pop(0)
            session = str(uuid.uuid4())
            self.valid.add(session)
        return 200, {}, json.dumps({"id": session})

    def _properties(self, request):
        """Public settings for anyone, and the :admin ones (check-for-updates) for the admin key."""
        self.properties_calls.append(request.headers.get("X-API-Key") or request.headers.get("X-Metabase-Session"))
        answer = {"version": {"tag": "v0.50.29", "hash": "e8d2f4b", "date": "2024-10-03", "branch": "release-x.50.x"},
                  "token-features": {"audit_app": False}}
        if request.headers.get("X-API-Key") == API_KEY:
            answer["check-for-updates"] = True
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def _card(self, request):
        with self._lock:
            self.data_calls += 1
            session = request.headers.get("X-Metabase-Session")
            if session in self.valid and self.max_uses is not None:
                self.uses[session] = self.uses.get(session, 0) + 1
                if self.uses[session] > self.max_uses:
                    self.valid.discard(session)
            ok = session in self.valid or request.headers.get("X-API-Key") == API_KEY
        if not ok:
            if self.rejections:
                self.rejections.wait(timeout=5)
            return 401, {"Content-Type": "text/plain"}, "Unauthenticated"
        if request.path_url.startswith("/api/user"):
            return 403, {"Content-Type": "text/plain"}, "You don't have permissions to do that."
        return 200, {"Content-Type": "application/json"}, "[]"

    def expire_all(self):
        with self._lock:
            self.valid.clear()


@pytest.fixture
def metabase():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeMetabase(rsps)


def get(authenticator, path="card"):
    with requests.Session() as session:
        session.auth = authenticator
        return session.get(API + path)


def test_api_key_is_sent_and_never_logs_in(metabase, make_authenticator):
    auth = make_authenticator(api_key=API_KEY, username="a@example.com", password=PASSWORD)
    assert get(auth).status_code == 200
    assert get(auth).request.headers["X-API-Key"] == API_KEY
    assert metabase.logins == 0


def test_session_token_is_used_as_is_without_validation_calls(metabase, make_authenticator):
    metabase.valid.add(TOKEN)
    auth = make_authenticator(session_token=TOKEN)
    for _ in range(5):
        assert get(auth).request.headers["X-Metabase-Session"] == TOKEN
    assert metabase.logins == 0
    assert metabase.data_calls == 5


def test_password_logs_in_once_for_every_stream_and_thread(metabase, make_authenticator):
    metabase.login_delay = 0.05
    streams = [make_authenticator(username="a@example.com", password=PASSWORD) for _ in range(3)]
    start = threading.Barrier(12)
    statuses = []

    def worker(n):
        start.wait()
        statuses.append(get(streams[n % 3]).status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 12
    assert metabase.logins == 1


def test_expiry_seen_by_many_threads_costs_one_login_and_every_request_is_retried(
    metabase, make_authenticator
):
    metabase.login_delay = 0.05
    auth = make_authenticator(username="a@example.com", password=PASSWORD)
    assert get(auth).status_code == 200
    metabase.expire_all()
    metabase.rejections = threading.Barrier(8)  # all eight see the 401 before anyone renews
    start = threading.Barrier(8)
    statuses = []

    def worker():
        start.wait()
        statuses.append(get(auth).status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert metabase.logins == 2  # the first login and one renewal
    assert metabase.data_calls == 1 + 8 + 8  # every rejected request was sent again, once
    assert not metabase.rejections.broken


def test_expired_token_with_password_logs_in(metabase, make_authenticator):
    auth = make_authenticator(session_token=TOKEN, username="a@example.com", password=PASSWORD)
    response = get(auth)
    assert response.status_code == 200
    assert response.request.headers["X-Metabase-Session"] != TOKEN
    assert metabase.logins == 1


def test_expired_token_without_password_is_a_config_error(metabase, make_authenticator):
    auth = make_authenticator(session_token=TOKEN)
    with pytest.raises(AirbyteTracedException) as raised:
        get(auth)
    assert raised.value.failure_type == FailureType.config_error
    assert "session token is invalid or expired" in raised.value.message
    assert "POST /api/session" in raised.value.message
    assert metabase.logins == 0


def test_rejected_api_key_is_a_config_error(metabase, make_authenticator):
    auth = make_authenticator(api_key="mb_wrongKEY0000000000000000000000000000000000=")
    with pytest.raises(AirbyteTracedException) as raised:
        get(auth)
    assert raised.value.failure_type == FailureType.config_error
    assert "rejected the API key" in raised.value.message


def test_forbidden_answer_is_logged_as_a_warning_once(metabase, make_authenticator, caplog):
    auth = make_authenticator(api_key=API_KEY)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert get(auth, "user").status_code == 403
        assert get(auth, "user").status_code == 403
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.getMessage()]
    assert len(warnings) == 1
    assert "/api/user" in warnings[0].getMessage() and "403" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "status, headers, body, expected",
    [
        (401, {}, {"errors": {"password": "did not match stored password"}}, "rejected the username or password"),
        (401, {}, {"errors": {"username": "Too many attempts! You must wait 15 seconds before trying again."}}, "Too many attempts"),
        (400, {}, {"errors": {"username": "Too many attempts! You must wait 42 seconds before trying again."}}, "Too many attempts"),
        (401, {}, {"errors": {"_error": "Your account is disabled."}}, "deactivated"),
        (401, {"Content-Type": "text/plain"}, "Password login is disabled for this instance.", "Password login is disabled"),
        (200, {"Content-Type": "text/html"}, "<html><body>Sign in with SSO</body></html>", "HTML page"),
        (404, {"Content-Type": "text/plain"}, "API endpoint does not exist.", "does not exist (404)"),
        (307, {"Location": "https://elsewhere.example.com/api/session"}, "", "redirected to https://elsewhere"),
    ],
)
def test_login_failures_are_config_errors_with_plain_messages(
    metabase, make_authenticator, status, headers, body, expected
):
    metabase.login_answers.append((status, headers, body if isinstance(body, str) else json.dumps(body)))
    auth = make_authenticator(username="a@example.com", password=PASSWORD)
    with pytest.raises(AirbyteTracedException) as raised:
        get(auth)
    assert raised.value.failure_type == FailureType.config_error
    assert expected in raised.value.message
    assert PASSWORD not in raised.value.message
    assert metabase.logins == 1  # a refused login is never repeated


def test_login_retries_throttling_and_server_errors(metabase, make_authenticator):
    metabase.login_answers += [
        (429, {"Retry-After": "1"}, "Too Many Requests"),
        (503, {}, "Service Unavailable"),
    ]
    auth = make_authenticator(username="a@example.com", password=PASSWORD)
    assert get(auth).status_code == 200
    assert metabase.logins == 3


def test_login_gives_up_after_bounded_attempts_with_a_transient_error(metabase, make_authenticator):
    metabase.login_answers += [(502, {}, "Bad Gateway")] * 10
    auth = make_authenticator(username="a@example.com", password=PASSWORD)
    with pytest.raises(AirbyteTracedException) as raised:
        get(auth)
    assert raised.value.failure_type == FailureType.transient_error
    assert "502" in raised.value.message
    assert metabase.logins == auth.login_attempts


def test_missing_credentials_name_the_three_ways_to_authenticate(metabase, make_authenticator):
    auth = make_authenticator(username="a@example.com")
    with pytest.raises(AirbyteTracedException) as raised:
        get(auth)
    assert raised.value.failure_type == FailureType.config_error
    for way in ("api_key", "session_token", "username and password"):
        assert way in raised.value.message
    assert metabase.data_calls == 0


def test_http_url_is_refused(components):
    auth = components.SessionTokenAuthenticator(
        config={"api_key": API_KEY}, parameters={}, api_base_url="http://metabase.example.com/api/"
    )
    with pytest.raises(AirbyteTracedException) as raised:
        with requests.Session() as session:
            session.auth = auth
            session.get("http://metabase.example.com/api/card")
    assert raised.value.failure_type == FailureType.config_error
    assert "https://" in raised.value.message


@pytest.mark.parametrize("credentials", [{"api_key": API_KEY}, {"username": "a@example.com", "password": PASSWORD}])
@pytest.mark.parametrize(
    "url, expected",
    [("https://127.0.0.1:1/api/", "Cannot connect to 127.0.0.1:1"), ("https://metabase.invalid/api/", "cannot be found")],
)
def test_unreachable_host_is_a_config_error_without_retries(components, url, expected, credentials):
    components._REACHABLE.clear()
    auth = components.SessionTokenAuthenticator(config=credentials, parameters={}, api_base_url=url)
    with pytest.raises(AirbyteTracedException) as raised:
        auth.get_auth_header()  # what the CDK asks first: with a password, the login
        with requests.Session() as session:
            session.auth = auth
            session.get(url + "card")
    assert raised.value.failure_type == FailureType.config_error
    assert expected in raised.value.message


def test_no_secret_reaches_logs_and_the_minted_session_is_masked(metabase, make_authenticator, caplog):
    auth = make_authenticator(session_token=TOKEN, username="a@example.com", password=PASSWORD)
    with caplog.at_level(logging.DEBUG):
        response = get(auth)
        metabase.expire_all()
        get(auth)
    minted = response.request.headers["X-Metabase-Session"]
    text = caplog.text
    for secret in (PASSWORD, TOKEN, minted):
        assert secret not in text
    assert filter_secrets(f"header {minted}") == "header ****"


def config_updates(capsys):
    """The CONTROL messages printed so far (the authenticator prints them straight to stdout)."""
    return config_updates_in(capsys.readouterr().out)


def config_updates_in(out: str) -> list:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [m["control"]["connectorConfig"]["config"] for m in lines if m["type"] == "CONTROL"]


def test_each_login_hands_the_users_config_with_the_new_session_to_the_platform(metabase, make_authenticator, capsys):
    user_config = {"instance_api_url": API, "username": "a@example.com", "password": PASSWORD, "num_workers": 8}
    # what the runtime adds to it: the normalized URL, the CLI's injected manifest
    auth = make_authenticator(**user_config, api_base_url=API, __injected_declarative_manifest={"version": "x"})
    workers = [threading.Thread(target=get, args=(auth,)) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    [update] = config_updates(capsys)
    assert update == {**user_config, "session_token": update["session_token"]}
    assert update["session_token"] in metabase.valid

    metabase.expire_all()
    assert get(auth).status_code == 200
    [renewed] = config_updates(capsys)
    assert renewed["session_token"] in metabase.valid and renewed["session_token"] != update["session_token"]
    assert metabase.logins == 2


def test_inside_the_builders_manifest_server_a_new_session_is_used_but_not_printed(metabase, make_authenticator,
                                                                                   capsys, monkeypatch):
    """There stdout is the server's log: the session must not land in it (and the CDK gives no
    public way to the Builder's own config updates)."""
    monkeypatch.setitem(sys.modules, "airbyte_cdk.manifest_server", types.ModuleType("airbyte_cdk.manifest_server"))
    auth = make_authenticator(instance_api_url=API, username="a@example.com", password=PASSWORD)
    assert get(auth).status_code == 200 and metabase.logins == 1
    out = capsys.readouterr().out
    assert config_updates_in(out) == [] and not any(session in out for session in metabase.valid)


def test_components_neither_walk_frames_nor_read_private_attributes_of_other_objects():
    """Only our own objects' underscore attributes (self._x, a _SharedSession's): none of the CDK's."""
    tree = ast.parse((ROOT / "components.py").read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    private = [f"{ast.unparse(node.value)}.{node.attr}" for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
               and ast.unparse(node.value) not in ("self", "shared")]
    assert private == [] and "inspect" not in imported | names and "_getframe" not in ast.dump(tree)


@pytest.mark.parametrize("credentials", [{"api_key": API_KEY}, {"session_token": TOKEN, "username": "a@example.com",
                                                                  "password": PASSWORD}])
def test_an_api_key_or_a_working_token_hands_nothing_over(metabase, make_authenticator, capsys, credentials):
    metabase.valid.add(TOKEN)
    assert get(make_authenticator(**credentials)).status_code == 200
    assert config_updates(capsys) == [] and metabase.logins == 0


def test_sessions_expiring_every_3_requests_under_8_threads_cost_a_login_each(metabase, make_authenticator, capsys):
    metabase.max_uses = 3
    auth = make_authenticator(username="a@example.com", password=PASSWORD)
    start = threading.Barrier(8)
    statuses = []

    def worker():
        start.wait()
        statuses.extend(get(auth).status_code for _ in range(12))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 96
    assert 96 / 3 <= metabase.logins <= 1 + 96 / 3 + 8
    assert 1 <= len(config_updates(capsys)) <= metabase.logins


def test_fresh_sessions_rejected_outright_fail_after_three_logins_saying_so(metabase, make_authenticator, capsys):
    metabase.max_uses = 0
    auth = make_authenticator(username="a@example.com", password=PASSWORD)
    for _ in range(2):  # and the next request learns it at once, without logging in again
        with pytest.raises(AirbyteTracedException) as raised:
            get(auth)
        assert raised.value.failure_type == FailureType.config_error
        assert "rejected each of the last 3 sessions it created" in raised.value.message
    assert metabase.logins == 3
    assert config_updates(capsys) == []  # a session no answer accepted is not handed over


@pytest.mark.parametrize("url, expected", [
    ("https://metabase.example.com/api/?x=1", "without ?query or #fragment"),
    ("https://metabase.example.com/#top/api/", "without ?query or #fragment"),
    ("https://user:secret@metabase.example.com/api/", "must not hold a user name or password"),
    ("https://metabase.example.com:abc/api/", "not a number from 1 to 65535"),
    ("https://user:secret@metabase.example.com:abc/api/", "not a number from 1 to 65535"),
    ("https://[::1/api/", "is not a valid URL"),
    ("https://metabase\u3000example.com/api/", "is not a valid URL"),
    ("https://metabase.example.com:99999/api/", "not a number from 1 to 65535"),
])
def test_an_instance_api_url_requests_cannot_send_to_safely_is_a_config_error(make_authenticator, metabase, url,
                                                                             expected, components):
    auth = components.SessionTokenAuthenticator(config={"api_key": API_KEY}, parameters={}, api_base_url=url)
    with pytest.raises(AirbyteTracedException) as raised:
        auth.get_auth_header()
    assert raised.value.failure_type == FailureType.config_error
    assert expected in raised.value.message and "secret" not in raised.value.message
    assert metabase.data_calls == metabase.logins == 0


def test_the_first_request_of_a_sync_asks_once_which_metabase_this_is(metabase, components, caplog):
    """One GET /api/session/properties per sync (per config object), with the credential, however
    many authenticators and requests; its notice is the sync's first log line."""
    config = {"instance_api_url": API, "api_base_url": API, "api_key": API_KEY}
    authenticators = [components.SessionTokenAuthenticator(config=config, parameters={}, api_base_url=API)
                      for _ in range(3)]
    with caplog.at_level(logging.INFO, logger="airbyte"):
        for auth in authenticators:
            assert get(auth, "card").status_code == 200
    assert metabase.properties_calls == [API_KEY]
    notices = [r.getMessage() for r in caplog.records if "v0.50.29" in r.getMessage()]
    assert notices == [f"Metabase v0.50.29 (open source) at {API}; this credential is an admin."]
    # another sync (another config object) asks again
    other = components.SessionTokenAuthenticator(config=dict(config), parameters={}, api_base_url=API)
    assert get(other, "card").status_code == 200
    assert metabase.properties_calls == [API_KEY, API_KEY]
