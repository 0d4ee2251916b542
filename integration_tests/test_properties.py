"""Hostile and broken answers and inputs, tried systematically with hypothesis (bounded in
examples and time). Each property prints how many cases it tried.

The connector runs in-process here (the CDK's own entrypoint with manifest.yaml and
components.py, against the HTTPS emulator): the CLI costs about 2 s a process, which would
allow a dozen cases where these need hundreds."""

import importlib.util
import io
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Optional

import pytest
import requests
import urllib3
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, _run_command, read
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from integration_tests.conftest import make_config
from integration_tests.connector import ROOT

MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text())
BOUNDED = settings(deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Cases that run the connector take about a second: no shrinking, the first failing case is reported.
IN_PROCESS = settings(BOUNDED, phases=[Phase.explicit, Phase.generate])
TRIED: dict = {}


def tried(name):
    TRIED[name] = TRIED.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    yield
    print("\ngenerated cases tried: " + ", ".join(f"{name} {n}" for name, n in TRIED.items()))


@pytest.fixture(scope="module")
def components():
    """components.py under the name the manifest uses, as the CLI registers it."""
    names = ("components", "source_declarative_manifest.components")
    saved = {name: sys.modules.get(name) for name in names}
    spec = importlib.util.spec_from_file_location("components", ROOT / "components.py")
    module = importlib.util.module_from_spec(spec)
    for name in names:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    for name, previous in saved.items():
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous


@pytest.fixture(scope="module")
def emulator(emulators):
    return emulators("v0.50")


@pytest.fixture
def connector(components, emulator, monkeypatch):
    for variable in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(variable, emulator.ca_bundle)
    return Connector(components)


class Connector:
    def __init__(self, components):
        self.components = components

    def _source(self, config, stream=None):
        self.components._SESSIONS.clear()  # each case is a process of its own
        self.components._REACHABLE.clear()
        catalog = CatalogBuilder().with_stream(stream or "collections", SyncMode.full_refresh).build()
        return ConcurrentDeclarativeSource(source_config=MANIFEST, config=config, catalog=catalog, state=None), catalog

    def read(self, config, stream) -> EntrypointOutput:
        source, catalog = self._source(config, stream)
        return read(source, config, catalog)

    def check(self, config) -> EntrypointOutput:
        source, _ = self._source(config)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "config.json"
            path.write_text(json.dumps(config))
            return _run_command(source, ["check", "--config", str(path)])


# --- a real GET /api/card body cut at any byte ------------------------------------------------

@pytest.fixture(scope="module")
def card_body(emulator):
    answer = requests.get(emulator.base_url + "/api/card?f=all", verify=emulator.ca_bundle,
                          headers={"X-API-Key": emulator.credentials["admin_api_key"]})
    assert answer.ok and len(answer.json()) > 20
    return answer.content


def cut_answer(body: bytes, offset: int, url: str) -> requests.Response:
    """The answer as requests hands it over when the connection ends after `offset` bytes of a
    body announced with its full Content-Length."""
    raw = urllib3.HTTPResponse(body=io.BytesIO(body[:offset]), status=200, preload_content=False,
                               headers={"Content-Type": "application/json;charset=utf-8",
                                        "Content-Length": str(len(body))}, enforce_content_length=True)
    response = requests.Response()
    response.raw, response.status_code, response.url = raw, 200, url
    response.headers = requests.structures.CaseInsensitiveDict(raw.headers)
    return response


@given(data=st.data())
@example(data=None)
@settings(BOUNDED, max_examples=300)
def test_a_card_list_cut_at_any_byte_is_a_transient_error_never_fewer_records(components, card_body, data):
    tried("card body cut at any byte")
    offset = 0 if data is None else data.draw(st.integers(0, len(card_body) - 1), label="offset")
    url = "https://metabase.example.com/api/card?f=all"
    decoder = components.JsonArrayStreamDecoder(parameters={})
    decoded = []
    with pytest.raises(AirbyteTracedException) as raised:
        for item in decoder.decode(cut_answer(card_body, offset, url)):
            decoded.append(item)
    assert raised.value.failure_type.value == "transient_error", raised.value.message
    assert "/api/card" in raised.value.message and "?f=all" not in raised.value.message
    assert decoded == json.loads(card_body)[:len(decoded)]  # what came before the cut, intact


# --- answers of the wrong shape ---------------------------------------------------------------

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                     max_size=4), max_leaves=12)
WRONG_SHAPES = st.one_of(
    JSON_VALUES.filter(lambda v: not isinstance(v, list)),  # an object, a scalar, null
    st.lists(JSON_VALUES.filter(lambda v: not isinstance(v, dict)), min_size=1, max_size=4),  # non-objects
    st.lists(st.dictionaries(st.sampled_from(["name", "ID", "Id", "data"]), JSON_VALUES, max_size=3),
             min_size=1, max_size=3),  # objects without id
    st.lists(st.fixed_dictionaries({"id": st.none()}), min_size=1, max_size=2),  # id null
    st.integers(1, 2000).map(lambda depth: "[" * depth + "]" * depth),  # deeply nested arrays (raw)
).map(lambda value: value.encode() if isinstance(value, str) and value.startswith("[") else json.dumps(value).encode())
RAW_BODIES = st.one_of(WRONG_SHAPES, st.binary(max_size=64).filter(lambda b: not b.strip().startswith(b"[")),
                       st.just(b'[{"id": 1, "name": "\xff\xfe"}]'))  # invalid UTF-8
WHERE = {"cards": "/api/card", "databases": "/api/database"}  # a bare array, the {data} envelope


def plain_error_naming(output: EntrypointOutput, path: str) -> Optional[str]:
    """What is wrong with the run's failure, None if it is a plain message naming the endpoint."""
    if not output.errors:
        return "no error: the sync succeeded"
    message = output.errors[0].trace.error.message
    if path not in message or "Traceback" in message:
        return f"not a plain message naming {path}: {message[:200]}"
    return None


def wrong_shape_violations(output: EntrypointOutput, path: str) -> list:
    """What the run did wrong with an answer of the wrong shape: a record without its primary key,
    a silent success, a failure that is no plain message naming the endpoint."""
    found = [f"record without id: {r.record.data!r:.80}" for r in output.records
             if not isinstance(r.record.data, dict) or r.record.data.get("id") is None][:1]
    if not output.errors:
        found.append("no error: the sync succeeded")
    elif path not in output.errors[0].trace.error.message or "Traceback" in output.errors[0].trace.error.message:
        found.append(f"not a plain message naming {path}: {output.errors[0].trace.error.message:.120}")
    return found


def test_a_wrong_shape_is_a_plain_error_naming_the_endpoint_never_a_record_without_id(connector, emulator):
    """Every case runs (no stop at the first): the failure lists each kind of violation once."""
    violations: dict = {}

    @given(body=RAW_BODIES, stream=st.sampled_from(sorted(WHERE)))
    @example(body=b'"' + b"x" * (50 << 20) + b'"', stream="cards")  # a 50 MB string
    @settings(IN_PROCESS, max_examples=60)
    def try_one(body, stream):
        tried("wrong-shape answer")
        emulator.configure(body_paths={WHERE[stream]: body})
        output = connector.read(make_config(emulator, "api_key"), stream)
        emulator.configure(body_paths={})
        for violation in wrong_shape_violations(output, WHERE[stream]):
            kind = f"{stream}: {re.sub(r'[:(].*', '', violation)}"
            violations.setdefault(kind, f"{violation} <- {body[:60]!r}")

    try_one()
    assert violations == {}, "\n".join(f"{kind}  e.g. {case}" for kind, case in sorted(violations.items()))


# --- whatever POST /api/session answers -------------------------------------------------------

LOGIN_BODIES = st.one_of(
    st.binary(max_size=80), st.text(max_size=80).map(str.encode),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"id": JSON_VALUES}).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"errors": JSON_VALUES}).map(lambda v: json.dumps(v).encode()),
)
HEADER_SAFE = re.compile(r"[\x21-\x7e]{1,256}")


@given(status=st.integers(200, 599) | st.sampled_from([200, 302, 307, 400, 401, 403, 404, 429, 500, 503]),
       body=LOGIN_BODIES,
       content_type=st.sampled_from(["application/json;charset=utf-8", "text/plain", "text/html", ""]))
@example(status=200, body=b'{"id": "5d0c8a52 \\r\\nX-Evil: 1"}', content_type="application/json")
@example(status=200, body=b'{"id": ""}', content_type="application/json")
@settings(BOUNDED, max_examples=300)
def test_any_login_answer_is_a_session_or_a_plain_config_or_transient_error(components, monkeypatch, status, body,
                                                                          content_type):
    import responses

    tried("login answer")
    monkeypatch.setattr(components.time, "sleep", lambda seconds: None)  # the login's own back-off
    components._SESSIONS.clear()
    components._REACHABLE.add(("metabase.example.com", 443))
    api = "https://metabase.example.com/api/"
    password = "fake-property-password-2718"
    authenticator = components.SessionTokenAuthenticator(
        config={"username": "a@example.com", "password": password}, parameters={}, api_base_url=api)
    with responses.RequestsMock() as metabase:
        metabase.add(responses.POST, api + "session", status=status, body=body,
                     headers={"Content-Type": content_type} if content_type else {})
        try:
            header = authenticator.get_auth_header()
        except AirbyteTracedException as error:
            # a 204 or 304 that carries a body breaks HTTP's framing: read as a dropped connection
            unreadable = status in (204, 304) and body
            expected = "transient_error" if status == 429 or status >= 500 or unreadable else "config_error"
            assert error.failure_type.value == expected, (status, error.message)
            assert error.message and "Traceback" not in error.message and password not in error.message
        else:
            session = json.loads(body)["id"]
            assert 200 <= status < 300 and HEADER_SAFE.fullmatch(session)
            assert header == {"X-Metabase-Session": session}


# --- any string as instance_api_url -----------------------------------------------------------

URL_MESSAGES = ("instance_api_url", "https://", "cannot be found", "Cannot connect", "does not exist",
                "HTML page", "not trusted", "does not match", "Nothing answered", "redirected")


def url_strings(emulator):
    # mostly the emulator's own address, in every form and with odd parts, so that some work
    host = st.sampled_from(["127.0.0.1"] * 4 + ["localhost", "[::1]", "mëtabase.invalid", "127.0.0.1 "])
    port = st.sampled_from([f":{emulator.port}"] * 4 + [":1", "", ":abc", ":99999", ":0"])
    path = st.sampled_from(["", "/", "/api", "/api/", "/api/api/", "/app/", "/metabase/api/", "/ api", "/api//"])
    extra = st.sampled_from(["", "", "?x=1", "#frag", "?", "#", "/%2e%2e/", "/../api/"])
    built = st.builds(lambda pad, scheme, user, h, p, pa, e: scheme + user + h + p + pa + e + pad,
                      st.sampled_from(["", "", "", " ", "\n"]), st.sampled_from(["https://"] * 6 + ["http://", "HTTPS://"]),
                      st.sampled_from(["", "", "user:secret@", "@"]), host, port, path, extra)
    return st.one_of(built, built, built, st.text(max_size=40))


@pytest.fixture
def sent(monkeypatch):
    """Every request the connector sends: (url, whether it carried a credential)."""
    seen = []
    send = requests.adapters.HTTPAdapter.send

    def recording(adapter, request, *args, **kwargs):
        body = request.body if isinstance(request.body, (bytes, type(None))) else request.body.encode()
        carries = any(h in request.headers for h in ("X-API-Key", "X-Metabase-Session")) or b"password" in (body or b"")
        seen.append((request.url, carries))
        return send(adapter, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", recording)
    return seen


def normalized(url: str) -> str:
    """api_base_url as the manifest's config normalization makes it."""
    url = url.strip().rstrip("/")
    return (url if url.endswith("/api") else url + "/api") + "/"


@given(data=st.data(), auth=st.sampled_from(["api_key", "password"]))
@settings(IN_PROCESS, max_examples=80)
def test_any_instance_api_url_works_or_check_says_what_is_wrong_and_credentials_stay_home(
        connector, emulator, sent, components, data, auth):
    tried("instance_api_url")
    url = data.draw(url_strings(emulator), label="instance_api_url")
    sent.clear()
    output = connector.check({**make_config(emulator, auth), "instance_api_url": url})
    [status] = [m.connectionStatus for m in output.connection_status_messages] or [None]
    assert status is not None, [e.trace.error.message for e in output.errors]
    if status.status.value == "FAILED":
        assert any(phrase in (status.message or "") for phrase in URL_MESSAGES), status.message
    origin = re.compile(r"^(https?)://(?:[^@/?#]*@)?([^/?#]*)", re.I)  # scheme and host:port, as sent
    home = origin.match(normalized(url))
    assert [u for u, carries in sent
            if carries and (not home or origin.match(u).group(1, 2) != tuple(map(str.lower, home.group(1, 2))))] == []

