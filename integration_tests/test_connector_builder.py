"""The Connector Builder's backend, the CDK's manifest server, run for real as a subprocess and
driven over HTTP with manifest.yaml and components.py unchanged, against the emulator (v0.64,
Enterprise: every stream has records)."""

import hashlib
import json

import pytest
import requests
import yaml

from integration_tests.builder_scale import manifest_server
from integration_tests.conftest import expected_keys, make_config, start_emulator
from integration_tests.connector import ROOT, STREAMS, key_of, primary_key

MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text())
COMPONENTS = (ROOT / "components.py").read_text()
AUTH_HEADER = {"api_key": "X-API-Key", "password": "X-Metabase-Session"}


@pytest.fixture(scope="module")
def emulator():
    emulator = start_emulator("v0.64", edition="ee")
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def builder(emulator, tmp_path_factory):
    """The real manifest server (builder_scale.manifest_server), trusting the emulator's CA and
    allowed to run custom components, as the Builder's deployment is, its log in a test folder
    (nothing importable from the repo there); yields its base URL."""
    with manifest_server(emulator.ca_bundle, tmp_path_factory.mktemp("manifest-server")) as (url, _pid):
        yield url


def post(builder, endpoint, **body):
    return requests.post(f"{builder}/v1/manifest/{endpoint}", json={"manifest": MANIFEST, **body}, timeout=300)


def with_components(config):
    """check and discover take no components field: the code travels in the config, as the CDK
    reads it (`__injected_components_py` and its checksum)."""
    return {**config, "__injected_components_py": COMPONENTS,
            "__injected_components_py_checksums": {"md5": hashlib.md5(COMPONENTS.encode()).hexdigest()}}


def secrets_of(emulator, config):
    """The credentials sent, and every session id the emulator knows of (so the one the connector
    minted by logging in)."""
    return [config[k] for k in ("api_key", "password") if k in config] + list(emulator.auth.sessions)


def paths_holding(value, secrets, path="$"):
    """Where in a JSON answer a secret appears, e.g. $.slices[0].pages[0].request.headers.X-API-Key."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_holding(item, secrets, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_holding(item, secrets, f"{path}[{index}]")
    elif isinstance(value, str) and any(secret in value for secret in secrets):
        yield path


# The Builder's default limits (StreamTestReadRequest): 100 records, 5 pages, 5 slices. Each
# dashboard is a slice (one detail request); the other streams are one slice of one page.
CASES = [(stream, "api_key", 5) for stream in STREAMS] + [
    ("dashboards", "password", 5),  # with the session minted by the connector's own login
    ("dashboards", "api_key", 2),  # cut short after 2 slices
]


@pytest.mark.parametrize("stream, auth, slice_limit", CASES)
def test_test_read_returns_the_emulators_records_and_no_secret(builder, emulator, stream, auth, slice_limit):
    config = make_config(emulator, auth)
    emulator.clear_requests()
    answer = post(builder, "test_read", config=config, stream_name=stream, custom_components_code=COMPONENTS,
                  record_limit=100, page_limit=5, slice_limit=slice_limit)
    assert answer.status_code == 200, answer.text[:2000]
    read = answer.json()

    # The Builder shows every request with its headers: no secret there nor anywhere else (no
    # config update either: test_session_lifetime.py).
    secrets = secrets_of(emulator, config)
    assert list(paths_holding(read, secrets)) == [], "secret(s) in the test_read answer at these paths"
    assert not any(secret in json.dumps(read) for secret in secrets)
    pages = [page for slice_ in read["slices"] for page in slice_["pages"]]
    # dashboard_cards sends no request of its own (its records come from its parent's, which the
    # Builder shows as auxiliary requests); every other stream's pages are requests
    assert [page["request"] is None for page in pages] == [stream == "dashboard_cards"] * len(pages)
    shown = [page["request"] for page in pages if page["request"] is not None]
    shown += [aux["request"] for aux in read["auxiliary_requests"]]
    assert shown and [r["url"] for r in shown if r["headers"].get(AUTH_HEADER[auth]) != "****"] == []
    assert emulator.count(method="POST", path="/api/session") == (1 if auth == "password" else 0)

    assert [log for log in read["logs"] if log["level"] in ("ERROR", "FATAL")] == []
    ids = [key_of(stream, record) for slice_ in read["slices"] for page in slice_["pages"] for record in page["records"]]
    expected = expected_keys(emulator, stream)
    # test_read returns whole pages (its record limit only sets the flag) of at most slice_limit slices.
    shown = min(len(expected), slice_limit) if stream == "dashboards" else len(expected)
    assert len(ids) == len(set(ids)) == shown
    assert set(ids) <= set(expected)
    assert read["test_read_limit_reached"] or len(ids) == len(expected)  # the Builder says it is partial


def test_check_accepts_the_admin_key_and_rejects_a_wrong_one(builder, emulator):
    good = make_config(emulator, "api_key")
    answer = post(builder, "check", config=with_components(good))
    assert answer.status_code == 200, answer.text[:2000]
    assert answer.json()["success"] is True

    bad = {**good, "api_key": "mb_NotAKeyThisMetabaseEverIssued0000000000="}
    answer = post(builder, "check", config=with_components(bad))
    assert answer.status_code == 200, answer.text[:2000]
    assert answer.json()["success"] is False
    assert "rejected the API key" in answer.json()["message"]
    assert bad["api_key"] not in answer.text and good["api_key"] not in answer.text


def test_discover_returns_every_stream_with_its_schema(builder, emulator):
    answer = post(builder, "discover", config=with_components(make_config(emulator, "api_key")))
    assert answer.status_code == 200, answer.text[:2000]
    streams = {s["name"]: s for s in answer.json()["catalog"]["streams"]}
    assert sorted(streams) == sorted(STREAMS)
    for stream in streams.values():
        assert stream["source_defined_primary_key"] == [[field] for field in primary_key(stream["name"])]
        assert set(primary_key(stream["name"])) <= set(stream["json_schema"]["properties"])


def test_resolve_returns_the_manifest_with_references_resolved(builder):
    answer = post(builder, "resolve")
    assert answer.status_code == 200, answer.text[:2000]
    resolved = answer.json()["manifest"]
    assert [s["name"] for s in resolved["streams"]] == STREAMS
    assert '"$ref"' not in json.dumps(resolved["streams"])
    for stream in resolved["streams"]:
        retriever = stream["retriever"]
        if retriever["type"] == "CustomRetriever":  # an incremental stream: the declared one inside
            retriever = retriever["retriever"]
        if stream["name"] == "dashboard_cards":  # no request of its own: its parent's requester
            retriever = stream["retriever"]["partition_router"]["partition_router"]["parent_stream_configs"][0][
                "stream"]["retriever"]["retriever"]
        authenticator = retriever["requester"]["authenticator"]
        assert authenticator["class_name"] == "source_declarative_manifest.components.SessionTokenAuthenticator"
