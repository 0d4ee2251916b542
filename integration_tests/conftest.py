import pytest
import requests

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.metabase_emulator.server import DEFAULT_SETTINGS

PROFILES = ["v0.40", "v0.50", "v0.57"]
# API keys exist from Metabase 0.49 on.
AUTHS = {"v0.40": ["session_token", "password"], "v0.50": ["api_key", "session_token", "password"],
         "v0.57": ["api_key", "session_token", "password"]}


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
