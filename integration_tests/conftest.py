import pytest
import requests

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.metabase_emulator.server import DEFAULT_SETTINGS

PROFILES = ["v0.40", "v0.50", "v0.57", "v0.64"]
# API keys exist from Metabase 0.49 on.
AUTHS = {"v0.40": ["session_token", "password"], "v0.50": ["api_key", "session_token", "password"],
         "v0.57": ["api_key", "session_token", "password"], "v0.64": ["api_key", "session_token", "password"]}


def start_emulator(profile, **kwargs):
    kwargs.setdefault("scale", Scale(cards=60))
    emulator = Emulator(profile=profile, seed=7, **kwargs)
    emulator.start()
    return emulator


@pytest.fixture(scope="session")
def emulators():
    """One running emulator per version profile for the whole session, started on first use."""
    started = {}

    def get(profile):
        if profile not in started:
            started[profile] = start_emulator(profile)
        emulator = started[profile]
        emulator.configure(**DEFAULT_SETTINGS)
        emulator.clear_requests()
        return emulator

    yield get
    for emulator in started.values():
        emulator.stop()


def make_config(emulator, auth, viewer="admin", **options):
    """A connector config for one way of authenticating as the emulator's admin or analyst."""
    credentials = emulator.credentials
    config = {"instance_api_url": emulator.base_url + "/api/", "num_workers": 4, **options}
    if auth == "api_key":
        config["api_key"] = credentials[f"{viewer}_api_key"]
    elif auth == "session_token":
        config["session_token"] = emulator.mint_session(credentials[f"{viewer}_email"])
    elif auth == "password":
        config["username"] = credentials[f"{viewer}_email"]
        config["password"] = credentials[f"{viewer}_password"]
    return config


def acceptance_configs(emulator) -> dict:
    """The configs acceptance-test-config.yml names (integration_tests/secrets/NAME.json)."""
    api_key = make_config(emulator, "api_key")
    return {
        "api_key": api_key,
        "password": make_config(emulator, "password"),
        "invalid_api_key": {**api_key, "api_key": "mb_NotAKeyThisMetabaseEverIssued0000000000="},
        "wrong_password": {**make_config(emulator, "password", viewer="analyst"),
                           "password": "not-the-analysts-password"},
        "http_url": {**api_key, "instance_api_url": "http" + api_key["instance_api_url"][5:]},
    }


# Metabase 0.40 and 0.41 had no `data` level in the data permissions graph: the connector reads
# their permissions as the later v1 graph names them (docs/metabase.md, Permissions).
V1_UNDER_DATA = {"native": "data.native", "schemas": "data", "schemas.read": "data.read", "schemas.query": "data.query"}


def expected_keys(emulator, stream, viewer="admin") -> list:
    """The primary keys of what Metabase shows `viewer` in a stream, from the emulator's model:
    ids, or the permission rows' and query log's keys (connector.key_of's form)."""
    if stream == "collection_permissions":
        return [(group, collection) for group, collection, _ in emulator.expected_collection_permissions(viewer)]
    if stream == "data_permissions":
        rename = {} if emulator.profile.since(42) else V1_UNDER_DATA
        return [(group, db, rename.get(name, name), schema, table)
                for group, db, name, schema, table, _ in emulator.expected_data_permissions(viewer)]
    if stream == "query_executions":
        return [i for month in emulator.query_log_months() for i in emulator.expected_query_log_ids(month, viewer)]
    return emulator.expected_ids(stream, viewer)


# Streams whose records carry `updated_at`, and the list endpoint that shows it (the oracle).
INCREMENTAL = {
    "cards": ("card", {"f": "all"}, None),
    "dashboards": ("dashboard", {"f": "all"}, None),
    "users": ("user", {"status": "all"}, "data"),
    "databases": ("database", {}, "data"),
    "tables": ("table", {}, None),
    "native_query_snippets": ("native-query-snippet", {}, None),
}


def current_rows(emulator, stream):
    """What the emulator's list endpoint shows now, read as its admin over HTTPS."""
    path, params, envelope = INCREMENTAL[stream]
    session = emulator.mint_session(emulator.credentials["admin_email"])
    answer = requests.get(f"{emulator.base_url}/api/{path}", params=params, verify=emulator.ca_bundle,
                          headers={"X-Metabase-Session": session}, timeout=30)
    answer.raise_for_status()
    body = answer.json()
    return body[envelope] if envelope else body


def views_of_reading(emulator, dashboard_ids) -> dict:
    """The views Metabase counts when each of these dashboards is read once (metabase-api.md 10.1),
    from the emulator's model: each dashboard once and, from 0.50, each card on it once per
    dashboard it is on. No card is viewed otherwise: the connector never reads a card's detail."""
    views = {"dashboards": {did: 1 for did in dashboard_ids}} if dashboard_ids else {}
    if emulator.profile.since(50):
        cards: dict = {}
        for did in dashboard_ids:
            for cid in {dc.card_id for dc in emulator.model.dashboards[did].dashcards if dc.card_id in emulator.model.cards}:
                cards[cid] = cards.get(cid, 0) + 1
        if cards:
            views["cards"] = cards
    return views
