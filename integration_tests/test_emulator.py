"""Tests of the Metabase emulator itself, through plain `requests` over HTTPS."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from integration_tests.metabase_emulator import Emulator, FaultPlan, Scale

ROOT = Path(__file__).resolve().parents[1]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$")
TS_H2 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$")
SMALL = Scale(cards=60)


class Client(requests.Session):
    """A session bound to one emulator. `verify` is passed per request because a global
    REQUESTS_CA_BUNDLE would otherwise override Session.verify."""

    def __init__(self, emu, **headers):
        super().__init__()
        self.emu = emu
        self.headers.update(headers)

    def request(self, method, url, **kw):
        kw.setdefault("verify", self.emu.ca_bundle)
        kw.setdefault("timeout", 10)
        return super().request(method, self.emu.base_url + url, **kw)


def admin(emu):
    return Client(emu, **{"X-API-Key": emu.credentials["admin_api_key"]})


def analyst(emu):
    return Client(emu, **{"X-API-Key": emu.credentials["analyst_api_key"]})


def as_user(emu, who="admin"):
    return Client(emu, **{"X-Metabase-Session": emu.mint_session(emu.credentials[who + "_email"])})


def login(emu, who="admin", **kw):
    c = emu.credentials
    body = {"username": c[who + "_email"], "password": c[who + "_password"]}
    return Client(emu).post("/api/session", json=body, **kw)


@pytest.fixture(scope="module")
def emu50():
    with Emulator(profile="v0.50", seed=1, scale=SMALL) as emu:
        yield emu


@pytest.fixture(scope="module")
def emu40():
    with Emulator(profile="v0.40", seed=1, scale=SMALL) as emu:
        yield emu


@pytest.fixture(scope="module")
def emu57():
    with Emulator(profile="v0.57", seed=1, scale=SMALL) as emu:
        yield emu


@pytest.fixture
def fresh():
    """A private v0.50 emulator for tests that change settings or auth state."""
    with Emulator(profile="v0.50", seed=3, scale=Scale(cards=30)) as emu:
        yield emu


# --- server basics -----------------------------------------------------------------------

def test_https_keep_alive_and_ca(emu50):
    assert emu50.base_url.startswith("https://127.0.0.1:")
    assert Path(emu50.ca_bundle).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" not in Path(emu50.ca_bundle).read_text()
    s = admin(emu50)
    before = emu50.stats()["connections"]
    for _ in range(5):
        r = s.get("/api/health")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert r.headers["Content-Length"] == str(len(r.content))
    assert emu50.stats()["connections"] == before + 1  # one TLS connection, reused
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emu50.base_url + "/api/health", verify=True, timeout=5)  # not a public CA


def test_credentials_are_fake_and_stable(emu50):
    c = emu50.credentials
    assert c["admin_email"] == "admin@example.com" and c["admin_password"] == "fake-admin-password-1234"
    assert c["analyst_password"] == "fake-analyst-password-5678"
    assert c["deactivated_email"] == "former.employee@example.com"
    for k in ("admin_api_key", "analyst_api_key"):
        assert c[k].startswith("mb_") and len(c[k]) == 47
    assert c["admin_api_key"] != c["analyst_api_key"]
    assert Emulator(profile="v0.40", scale=Scale(cards=0)).credentials == c


def test_unknown_route_spa_and_errors(emu50):
    s = admin(emu50)
    r = s.get("/api/no-such-thing")
    assert (r.status_code, r.text) == (404, "API endpoint does not exist.")
    assert r.headers["Content-Type"].startswith("text/plain")
    r = s.get("/collection/root")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html") and "<html" in r.text
    r = s.get("/api/card/999999")
    assert (r.status_code, r.text) == (404, "Not found.")
    r = Client(emu50).get("/api/card")
    assert (r.status_code, r.text) == (401, "Unauthenticated")
    assert r.headers["Content-Type"].startswith("text/plain")


# --- auth --------------------------------------------------------------------------------

def test_login_session_header_and_cookie(fresh):
    r = login(fresh)
    assert r.status_code == 200 and set(r.json()) == {"id"}
    sid = r.json()["id"]
    assert uuid.UUID(sid).version == 4
    assert "metabase.SESSION=%s" % sid in r.headers["Set-Cookie"]
    assert Client(fresh, **{"X-Metabase-Session": sid}).get("/api/user/current").json()["email"] == "admin@example.com"
    r = Client(fresh).get("/api/user/current", cookies={"metabase.SESSION": sid})
    assert r.status_code == 200
    kinds = [e["auth"] for e in fresh.requests()]
    assert kinds == ["none", "session_header", "session_cookie"]
    assert fresh.logins == 1 and fresh.count(method="POST", path="/api/session", status=200) == 1


def test_login_failures(fresh):
    c = fresh.credentials
    post = Client(fresh).post
    r = post("/api/session", json={"username": c["admin_email"], "password": "nope"})
    assert (r.status_code, r.json()) == (401, {"errors": {"password": "did not match stored password"}})
    r = post("/api/session", json={"username": "nobody@example.com", "password": "x"})
    assert (r.status_code, r.json()) == (401, {"errors": {"password": "did not match stored password"}})
    r = post("/api/session", json={"username": c["deactivated_email"], "password": c["deactivated_password"]})
    assert (r.status_code, r.json()) == (401, {"errors": {"_error": "Your account is disabled."}})
    r = post("/api/session", json={"username": "", "password": "x"})
    assert r.status_code == 400 and r.json()["errors"] == {"username": "value must be a non-blank string."}
    fresh.configure(password_login_disabled=True)
    r = login(fresh)
    assert (r.status_code, r.text) == (401, "Password login is disabled for this instance.")
    assert fresh.logins == 0


@pytest.mark.parametrize("profile,status", [("v0.50", 401), ("v0.40", 400)])
def test_login_throttling(profile, status):
    with Emulator(profile=profile, scale=Scale(cards=0), login_throttle_threshold=3) as emu:
        c = emu.credentials
        for _ in range(3):
            assert Client(emu).post("/api/session", json={"username": c["admin_email"], "password": "bad"}).status_code == 401
        r = login(emu)  # even the right password is refused now
        assert r.status_code == status
        assert r.json() == {"errors": {"username": "Too many attempts! You must wait 15 seconds before trying again."}}
        assert login(emu, "analyst").status_code == 200  # keyed by username
        emu.configure(login_throttle_threshold=3)  # re-configuring resets the counters
        assert login(emu).status_code == 200


def test_invalid_sessions_and_api_keys(fresh, emu40):
    r = Client(fresh, **{"X-Metabase-Session": "not-a-uuid"}).get("/api/card")
    assert (r.status_code, r.text) == (401, "Unauthenticated")
    r = Client(fresh, **{"X-Metabase-Session": str(uuid.uuid4())}).get("/api/card")
    assert r.status_code == 401
    r = Client(fresh, **{"X-API-Key": "mb_wrong"}).get("/api/card")
    assert r.status_code == 401
    assert [e["auth"] for e in fresh.requests()] == ["invalid"] * 3
    # an invalid session falls through to a valid API key
    s = Client(fresh, **{"X-Metabase-Session": str(uuid.uuid4()), "X-API-Key": fresh.credentials["admin_api_key"]})
    assert s.get("/api/card").status_code == 200 and fresh.requests()[-1]["auth"] == "api_key"
    # v0.40 has no API keys: the header is ignored
    r = admin(emu40).get("/api/user/current")
    assert (r.status_code, r.text) == (401, "Unauthenticated")


def test_api_key_users(emu50):
    me = admin(emu50).get("/api/user/current").json()
    assert me["is_superuser"] and me["email"].endswith("@api-key.invalid")
    assert analyst(emu50).get("/api/user/current").json()["is_superuser"] is False


def test_session_expiry_by_requests_and_seconds(fresh):
    fresh.configure(session_max_requests=2)
    s = as_user(fresh)
    assert [s.get("/api/user/current").status_code for _ in range(3)] == [200, 200, 401]
    assert fresh.expiries == 1
    assert s.get("/api/user/current").status_code == 401 and fresh.expiries == 1  # counted once
    fresh.configure(session_max_requests=None, session_max_seconds=0.5)
    s = as_user(fresh)
    assert s.get("/api/user/current").status_code == 200
    time.sleep(0.6)
    assert s.get("/api/user/current").status_code == 401 and fresh.expiries == 2
    assert fresh.count(path="/api/session") == 0  # minted sessions are not logins


def test_logout(fresh):
    sid = login(fresh).json()["id"]
    s = Client(fresh, **{"X-Metabase-Session": sid})
    r = s.delete("/api/session")
    assert r.status_code == 204 and r.content == b""
    assert s.get("/api/user/current").status_code == 401
    r = s.delete("/api/session")
    assert (r.status_code, r.text) == (404, "Not found.")


# --- envelopes and paging ----------------------------------------------------------------

def test_bare_arrays(emu50):
    s = admin(emu50)
    for path in ("/api/card", "/api/collection", "/api/dashboard", "/api/native-query-snippet", "/api/table",
                 "/api/permissions/group"):
        body = s.get(path).json()
        assert isinstance(body, list) and body, path


def test_user_envelope_and_paging(emu50):
    s = admin(emu50)
    full = s.get("/api/user").json()
    assert set(full) == {"data", "total", "limit", "offset"}
    assert full["limit"] is None and full["offset"] is None and full["total"] == len(full["data"])
    assert all(u["is_active"] for u in full["data"])
    every = s.get("/api/user", params={"status": "all"}).json()
    assert every["total"] > full["total"]
    assert s.get("/api/user", params={"include_deactivated": "true"}).json() == every
    deact = s.get("/api/user", params={"status": "deactivated"}).json()
    assert deact["total"] == every["total"] - full["total"] and not any(u["is_active"] for u in deact["data"])
    page = s.get("/api/user", params={"limit": 2}).json()
    assert (page["limit"], page["offset"], len(page["data"]), page["total"]) == (2, 0, 2, full["total"])
    page = s.get("/api/user", params={"offset": 1}).json()
    assert (page["limit"], page["offset"]) == (50, 1) and page["data"] == full["data"][1:51]
    ids = []
    for off in range(0, every["total"], 3):
        ids += [u["id"] for u in s.get("/api/user", params={"status": "all", "limit": 3, "offset": off}).json()["data"]]
    assert ids == [u["id"] for u in every["data"]]
    assert sorted(ids) == emu50.expected_ids("users")


def test_user_list_permissions(emu50, emu40):
    r = analyst(emu50).get("/api/user")
    assert (r.status_code, r.text) == (403, "You don't have permissions to do that.")
    assert emu50.expected_ids("users", "analyst") == []
    s = as_user(emu40, "analyst")
    body = s.get("/api/user").json()
    assert set(body["data"][0]) == {"id", "email", "first_name", "last_name", "common_name"}
    assert sorted(u["id"] for u in body["data"]) == emu40.expected_ids("users", "analyst")
    for params in ({"include_deactivated": "true"}, {"status": "all"}, {"status": "active"}):
        assert s.get("/api/user", params=params).status_code == 403  # filters are for superusers


def test_database_envelope(emu50):
    body = admin(emu50).get("/api/database").json()
    assert set(body) == {"data", "total"} and body["total"] == len(body["data"])
    assert any(d["is_sample"] for d in body["data"]) and all("details" in d for d in body["data"])
    mine = analyst(emu50).get("/api/database").json()
    assert not any("details" in d for d in mine["data"]) and mine["total"] < body["total"]
    assert [d["id"] for d in mine["data"]] == sorted(emu50.expected_ids("databases", "analyst_key"),
                                                     key=[d["id"] for d in mine["data"]].index)


def test_collection_items(emu50):
    s = admin(emu50)
    body = s.get("/api/collection/root/items").json()
    assert set(body) == {"data", "total", "models", "limit", "offset"}
    assert body["limit"] is None and body["total"] == len(body["data"])
    assert {i["model"] for i in body["data"]} <= {"collection", "card", "dataset", "metric", "dashboard"}
    only = s.get("/api/collection/root/items", params={"models": ["dashboard", "collection"]}).json()
    assert only["models"] == ["collection", "dashboard"]
    assert {i["model"] for i in only["data"]} == {"dashboard", "collection"}
    page = s.get("/api/collection/root/items", params={"limit": 3, "offset": 2}).json()
    assert page["data"] == body["data"][2:5] and (page["limit"], page["offset"]) == (3, 2)
    assert page["total"] == body["total"]


# --- content -----------------------------------------------------------------------------

def test_collections_root_personal_and_restricted(emu50):
    a = admin(emu50).get("/api/collection").json()
    assert a[0]["id"] == "root" and a[0]["name"] == "Our analytics"
    assert all(c.get("type") != "trash" for c in a)
    personal = [c for c in a if c.get("personal_owner_id")]
    assert len(personal) == len(emu50.model.people())
    mine = as_user(emu50, "analyst").get("/api/collection").json()
    assert [c["personal_owner_id"] for c in mine if c.get("personal_owner_id")] == [2]
    restricted = next(c for c in a if c["name"] == "Finance (restricted)")
    assert restricted["id"] not in [c["id"] for c in mine]
    assert as_user(emu50, "analyst").get("/api/collection/%d" % restricted["id"]).status_code == 403
    assert ["root"] + sorted(c["id"] for c in a[1:]) == emu50.expected_ids("collections")
    assert sorted(c["id"] for c in mine[1:]) == emu50.expected_ids("collections", "analyst")[1:]
    excl = admin(emu50).get("/api/collection", params={"exclude-other-user-collections": "true"}).json()
    assert not [c for c in excl if c.get("personal_owner_id")]  # an API key user has no personal collection
    excl = as_user(emu50, "admin").get("/api/collection", params={"exclude-other-user-collections": "true"}).json()
    assert [c["personal_owner_id"] for c in excl if c.get("personal_owner_id")] == [1]
    trash = admin(emu50).get("/api/collection", params={"archived": "true"}).json()
    assert "root" not in [c["id"] for c in trash] and [c for c in trash if c["type"] == "trash"]
    assert all(c["archived"] for c in trash if c["type"] != "trash")
    snippets = admin(emu50).get("/api/collection", params={"namespace": "snippets"}).json()
    assert snippets[0]["id"] == "root" and all(c["namespace"] == "snippets" for c in snippets[1:])


def test_cards_visibility_archived_and_detail(emu50):
    a, b = admin(emu50), as_user(emu50, "analyst")
    cards = a.get("/api/card").json()
    assert sorted(c["id"] for c in cards) == emu50.expected_ids("cards")
    assert [c["name"].lower() for c in cards] == sorted(c["name"].lower() for c in cards)
    assert not any(c["archived"] for c in cards)
    archived = a.get("/api/card", params={"f": "archived"}).json()
    assert archived and all(c["archived"] for c in archived)
    assert not {c["id"] for c in archived} & {c["id"] for c in cards}
    mine = b.get("/api/card").json()
    assert sorted(c["id"] for c in mine) == emu50.expected_ids("cards", "analyst") and len(mine) < len(cards)
    hidden = [c for c in cards if c["id"] not in {m["id"] for m in mine}]
    r = b.get("/api/card/%d" % hidden[0]["id"])
    assert (r.status_code, r.text) == (403, "You don't have permissions to do that.")
    root_card = next(c for c in cards if c["collection_id"] is None)
    assert root_card["collection"] is None
    detail = a.get("/api/card/%d" % root_card["id"]).json()
    assert detail["collection"]["id"] == "root" and detail["can_write"] is True
    own = b.get("/api/card", params={"f": "mine"}).json()
    assert all(c["creator_id"] == 2 for c in own)
    r = a.get("/api/card", params={"f": "database"})
    assert r.status_code == 400 and "model_id" in r.json()["errors"]


def test_card_shape(emu50):
    cards = admin(emu50).get("/api/card").json()
    for c in cards:
        assert c["entity_id"] is None or len(c["entity_id"]) == 21
        assert TS.match(c["created_at"]) and TS.match(c["updated_at"])
        assert c["type"] in ("question", "model", "metric") and "dataset" not in c
    assert any("last-edit-info" in c for c in cards)
    assert any(c["query_type"] == "native" for c in cards) and any(c["query_type"] == "query" for c in cards)
    assert max(len(c["result_metadata"]) for c in cards) >= 20
    assert any(c["result_metadata"][1].get("fingerprint") for c in cards if len(c["result_metadata"]) > 1)
    inactive = {u.id for u in emu50.model.people() if not u.is_active}
    assert any(c["creator_id"] in inactive for c in cards)
    assert {c["type"] for c in cards} == {"question", "model", "metric"}


def test_dashboards(emu50):
    a, b = admin(emu50), as_user(emu50, "analyst")
    ds = a.get("/api/dashboard").json()
    assert ds and not any("dashcards" in d for d in ds) and not any(d["archived"] for d in ds)
    assert sorted(d["id"] for d in ds) == emu50.expected_ids("dashboards")
    assert {d["collection_id"] for d in ds} >= {None}
    archived = a.get("/api/dashboard", params={"f": "archived"}).json()
    assert all(d["archived"] for d in archived)
    details = [a.get("/api/dashboard/%d" % d["id"]).json() for d in ds]
    dashcards = [dc for d in details for dc in d["dashcards"]]
    assert any(dc["card_id"] is None for dc in dashcards) and any(dc["series"] for dc in dashcards)
    assert all("size_x" in dc and "sizeX" not in dc for dc in dashcards)
    assert any(d["tabs"] for d in details) and all("ordered_cards" not in d for d in details)
    seen = sorted(d["id"] for d in b.get("/api/dashboard").json())
    assert seen == emu50.expected_ids("dashboards", "analyst") and len(seen) < len(ds)
    hidden = next(d["id"] for d in ds if d["id"] not in seen)
    assert b.get("/api/dashboard/%d" % hidden).status_code == 403
    assert a.get("/api/dashboard/99999").status_code == 404


def test_snippets_groups_tables(emu50):
    a, b = admin(emu50), analyst(emu50)
    sn = a.get("/api/native-query-snippet").json()
    assert sorted(s["id"] for s in sn) == emu50.expected_ids("native_query_snippets")
    assert all(not s["archived"] and s["creator"]["id"] == s["creator_id"] for s in sn)
    assert all(s["archived"] for s in a.get("/api/native-query-snippet", params={"archived": "true"}).json())
    assert sorted(s["id"] for s in b.get("/api/native-query-snippet").json()) == \
        emu50.expected_ids("native_query_snippets", "analyst_key")
    groups = a.get("/api/permissions/group").json()
    assert {"Administrators", "All Users"} <= {g["name"] for g in groups}
    assert b.get("/api/permissions/group").status_code == 403
    tables = a.get("/api/table").json()
    assert all(t["db"]["id"] == t["db_id"] for t in tables)
    assert len(b.get("/api/table").json()) < len(tables)


def test_expected_ids_match_a_full_listing(emu57):
    """What a naive full sync as each viewer fetches equals expected_ids."""
    for viewer, s in (("admin", as_user(emu57, "admin")), ("analyst", as_user(emu57, "analyst")),
                      ("analyst_key", analyst(emu57))):
        assert sorted(c["id"] for c in s.get("/api/card").json()) == emu57.expected_ids("cards", viewer)
        cols = [c["id"] for c in s.get("/api/collection").json()]
        assert cols[0] == "root" and sorted(cols[1:]) == emu57.expected_ids("collections", viewer)[1:]
        assert sorted(d["id"] for d in s.get("/api/dashboard").json()) == emu57.expected_ids("dashboards", viewer)
        assert sorted(d["id"] for d in s.get("/api/database").json()["data"]) == emu57.expected_ids("databases", viewer)
    with pytest.raises(ValueError):
        emu57.expected_ids("pulses")


def test_determinism_and_scale():
    bodies = []
    for seed in (5, 5, 6):
        with Emulator(profile="v0.57", seed=seed, scale=Scale(cards=40)) as emu:
            s = admin(emu)
            bodies.append([s.get(p).content for p in ("/api/card", "/api/dashboard/1", "/api/collection", "/api/user")])
    assert bodies[0] == bodies[1] and bodies[0] != bodies[2]
    sc = Scale(cards=3000)
    assert (sc.dashboards, sc.collections, sc.users, sc.snippets) == (300, 120, 100, 60)
    small = Scale()
    assert small.cards == 60 and min(small.dashboards, small.collections, small.users, small.databases, small.snippets) >= 3
    empty = Scale(cards=0, dashboards=0, collections=0, users=0, databases=0, snippets=0)
    with Emulator(profile="v0.50", scale=empty) as emu:
        s = admin(emu)
        assert s.get("/api/card").json() == [] and s.get("/api/dashboard").json() == []
        assert [c["id"] for c in s.get("/api/collection").json()] == ["root"]
        assert s.get("/api/database").json() == {"data": [], "total": 0}
        assert {u["email"] for u in s.get("/api/user", params={"status": "all"}).json()["data"]} == \
            {"admin@example.com", "analyst@example.com", "former.employee@example.com"}


# --- profiles ----------------------------------------------------------------------------

def test_profile_v040(emu40):
    s = as_user(emu40, "admin")
    assert s.get("/api/session/properties").json()["version"]["tag"].startswith("v0.40.")
    cards = s.get("/api/card").json()
    assert all(isinstance(c["dataset"], bool) and "type" not in c and c["favorite"] is False for c in cards)
    assert any(c["entity_id"] is None for c in cards)
    stamps = [c["created_at"] for c in cards]
    assert any(TS_H2.match(t) for t in stamps) and any(TS.match(t) for t in stamps)
    d = s.get("/api/dashboard/1").json()
    assert "ordered_cards" in d and "dashcards" not in d and "tabs" not in d
    assert all("sizeX" in dc and "size_x" not in dc for dc in d["ordered_cards"])
    cols = s.get("/api/collection").json()
    assert all("color" in c for c in cols[1:])
    activity = s.get("/api/activity")
    assert activity.status_code == 200 and isinstance(activity.json(), list)
    users = s.get("/api/user").json()["data"]
    assert "google_auth" in users[0] and "sso_source" not in users[0]


def test_profile_v050(emu50):
    s = admin(emu50)
    assert s.get("/api/session/properties").json()["version"]["tag"].startswith("v0.50.")
    r = s.get("/api/activity")
    assert (r.status_code, r.text) == (404, "API endpoint does not exist.")
    assert Client(emu50).get("/api/activity").status_code == 401  # the namespace still wants auth
    card = s.get("/api/card").json()[0]
    assert "archived_directly" in card and "dataset_query" in card and "database" in card["dataset_query"]
    detail = s.get("/api/card/%d" % card["id"]).json()
    assert {"can_restore", "can_delete", "can_write"} <= set(detail)
    assert "legacy_query" not in card and "is_remote_synced" not in card


def test_profile_v057(emu57):
    s = admin(emu57)
    cards = s.get("/api/card").json()
    for c in cards:
        q = c["dataset_query"]
        assert q["lib/type"] == "mbql/query" and q["stages"][0]["lib/type"].startswith("mbql.stage/")
        assert isinstance(c["legacy_query"], str) and "type" in json.loads(c["legacy_query"])
        assert c["card_schema"] and c["is_remote_synced"] is False and "dashboard_id" in c
    assert any(c["dashboard_id"] for c in cards)
    legacy = s.get("/api/card/%d" % cards[0]["id"], params={"legacy-mbql": "true"}).json()
    assert legacy["dataset_query"]["type"] in ("query", "native")
    d = s.get("/api/dashboard/1").json()
    assert all("inline_parameters" in dc for dc in d["dashcards"]) and "is_remote_synced" in d
    assert all("is_remote_synced" in c for c in s.get("/api/collection").json())
    assert all("is_remote_synced" in c for c in s.get("/api/native-query-snippet").json())


# --- faults ------------------------------------------------------------------------------

def _fault_run(plan, paths):
    with Emulator(profile="v0.50", scale=Scale(cards=10), faults=plan) as emu:
        s = admin(emu)
        for p in paths:
            try:
                s.get(p)
            except requests.RequestException:
                pass
        return [(e["path"], e["query"], e["fault"]) for e in emu.requests()]


def test_faults_are_deterministic():
    plan = FaultPlan(seed=7, rate_429=0.2, rate_500=0.15, rate_503=0.1)
    paths = ["/api/card/%d" % i for i in range(1, 11)] * 2 + ["/api/user/current"] * 4
    first, second = _fault_run(plan, paths), _fault_run(plan, paths)
    assert first == second and any(f for _, _, f in first)
    assert first != _fault_run(FaultPlan(seed=8, rate_429=0.2, rate_500=0.15, rate_503=0.1), paths)


def test_fault_decisions_ignore_thread_interleaving():
    plan = FaultPlan(seed=1, rate_500=0.5)
    paths = ["/api/card/%d" % i for i in range(1, 11)]
    with Emulator(profile="v0.50", scale=Scale(cards=10), faults=plan) as emu:
        threads = [threading.Thread(target=lambda p=p: admin(emu).get(p)) for p in paths]
        [t.start() for t in threads]
        [t.join() for t in threads]
        parallel = sorted((e["path"], e["fault"]) for e in emu.requests())
    assert parallel == sorted((p, f) for p, _, f in _fault_run(plan, paths))


def test_fault_kinds(fresh):
    s = admin(fresh)
    fresh.configure(faults=FaultPlan(rate_429=1.0, retry_after=7, max_consecutive=2))
    rs = [s.get("/api/card") for _ in range(3)]
    assert [r.status_code for r in rs] == [429, 429, 200] and rs[0].headers["Retry-After"] == "7"
    fresh.configure(faults={"rate_503": 1.0, "paths": "^/api/dashboard$"})
    assert s.get("/api/card").status_code == 200 and s.get("/api/dashboard").status_code == 503
    fresh.configure(faults=FaultPlan(rate_500=1.0, max_consecutive=1))
    assert s.get("/api/user/current").status_code == 500 and s.get("/api/user/current").status_code == 200
    fresh.configure(faults=FaultPlan(rate_drop=1.0, max_consecutive=1))
    with pytest.raises(requests.ConnectionError):
        s.get("/api/collection")
    assert s.get("/api/collection").status_code == 200  # a retry on a new connection gets through
    fresh.configure(faults=FaultPlan(rate_truncate=1.0, max_consecutive=1))
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        s.get("/api/card")
    full = s.get("/api/card")
    fresh.configure(faults=FaultPlan(rate_slow=1.0, slow_seconds=0.3))
    t0 = time.monotonic()
    assert s.get("/api/health").status_code == 200 and time.monotonic() - t0 >= 0.3
    log = fresh.requests()
    assert [e["fault"] for e in log] == ["429", "429", None, None, "503", "500", None, "drop", None,
                                         "truncate", None, "slow"]
    drop, trunc = log[7], log[9]
    assert drop["status"] is None and drop["bytes"] == 0
    assert trunc["status"] == 200 and 0 < trunc["bytes"] < len(full.content)
    with pytest.raises(ValueError):
        FaultPlan(rate_500=0.8, rate_429=0.5)


# --- settings ----------------------------------------------------------------------------

def test_settings(fresh):
    s = admin(fresh)
    with pytest.raises(ValueError):
        fresh.configure(no_such_setting=1)
    fresh.configure(html_mode=True)
    r = s.get("/api/card")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html") and "<form" in r.text
    fresh.configure(html_mode=False, latency_ms=150)
    t0 = time.monotonic()
    s.get("/api/health")
    assert time.monotonic() - t0 >= 0.15
    d = s.get("/api/dashboard").json()[0]["id"]
    c = next(c["id"] for c in s.get("/api/collection").json() if c["id"] != "root")
    fresh.configure(latency_ms=0, vanishing_dashboard_ids=[d], vanishing_collection_ids=[c],
                    invalid_json_paths=["/api/database"])
    assert d in [x["id"] for x in s.get("/api/dashboard").json()]
    assert s.get("/api/dashboard/%d" % d).status_code == 404 and d not in fresh.expected_ids("dashboards")
    assert c in [x["id"] for x in s.get("/api/collection").json()]
    assert s.get("/api/collection/%d/items" % c).status_code == 404
    r = s.get("/api/database")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        r.json()


# --- request log and control routes --------------------------------------------------------

def test_request_log(fresh):
    admin(fresh).get("/api/card", params={"f": "all"})
    Client(fresh).get("/api/card")
    e = fresh.requests()[0]
    assert set(e) == {"t", "method", "path", "query", "auth", "status", "bytes", "fault", "ms"}
    assert (e["method"], e["path"], e["query"], e["auth"], e["status"], e["fault"]) == \
        ("GET", "/api/card", "f=all", "api_key", 200, None)
    assert e["bytes"] > 1000 and e["ms"] >= 0 and e["t"] > 1e9
    assert fresh.count(path="/api/card") == 2 and fresh.count(status=401, auth="none") == 1
    assert fresh.count(method="POST") == 0
    fresh.clear_requests()
    assert fresh.requests() == []


def test_control_routes(fresh):
    c = Client(fresh)
    admin(fresh).get("/api/card")
    log = c.get("/__emulator__/requests").json()
    assert [e["path"] for e in log] == ["/api/card"]
    sid = c.post("/__emulator__/session", json={"email": "analyst@example.com"}).json()["id"]
    assert Client(fresh, **{"X-Metabase-Session": sid}).get("/api/user/current").json()["id"] == 2
    assert c.get("/__emulator__/expected", params={"stream": "cards", "viewer": "analyst"}).json() == \
        fresh.expected_ids("cards", "analyst")
    settings = c.post("/__emulator__/settings", json={"session_max_requests": 1, "faults": {"rate_429": 0.5}}).json()
    assert settings["session_max_requests"] == 1 and settings["faults"]["rate_429"] == 0.5
    assert c.post("/__emulator__/settings", json={"bogus": 1}).status_code == 400
    stats = c.get("/__emulator__/stats").json()
    assert stats["logins"] == 0 and stats["expiries"] == 0 and stats["requests"] == 2
    assert c.post("/__emulator__/requests/clear").json() == {"ok": True}
    assert fresh.requests() == []  # control routes are never logged


def test_command_line(tmp_path):
    cfg = tmp_path / "config.json"
    cmd = [sys.executable, "-m", "integration_tests.metabase_emulator", "--profile", "v0.40", "--cards", "20",
           "--config-out", str(cfg)]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            info = json.loads(proc.stdout.readline())
            assert info["instance_api_url"] == info["base_url"] + "/api/"
            config = json.loads(cfg.read_text())
            assert config["username"] == "admin@example.com" and "api_key" not in config  # v0.40: password
            r = requests.post(info["instance_api_url"] + "session", json={"username": config["username"],
                              "password": config["password"]}, verify=info["ca_bundle"], timeout=10)
            assert r.status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
            assert "Stop with Ctrl-C" in proc.stdout.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert not os.path.exists(info["ca_bundle"])  # the temp CA goes away with the server
