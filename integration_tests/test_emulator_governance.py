"""The emulator's governance endpoints (metabase-api.md 11.7-11.9), through plain `requests`: the
permission model behind visibility.py, GET /api/collection/graph, GET /api/permissions/graph, the
Enterprise query log and GET /api/session/properties, per profile and edition."""

import json
import re
from dataclasses import replace

import pytest
import requests

from integration_tests.metabase_emulator import Emulator, Scale, permissions
from integration_tests.metabase_emulator.model import Model
from integration_tests.metabase_emulator.profiles import PROFILES
from integration_tests.metabase_emulator.rows import ADMINISTRATORS, ALL_USERS, ANALYSTS, FINANCE, GROUP_NAMES, \
    MARKETING
from integration_tests.metabase_emulator.visibility import can_write, viewer_of
from integration_tests.test_emulator import Client, as_user

SMALL = Scale(cards=60)
FORBIDDEN = "You don't have permissions to do that."
PAID = ("Audit app is a paid feature not currently available to your instance. Please upgrade to use it. "
        "Learn more at metabase.com/upgrade/")
LOG_KEYS_046 = ["id", "hash", "started_at", "running_time", "result_rows", "native", "context", "error", "executor_id",
                "card_id", "dashboard_id", "pulse_id", "database_id", "cache_hit"]
LOG_KEYS = {46: LOG_KEYS_046, 48: LOG_KEYS_046 + ["action_id", "is_sandboxed", "cache_hash"],
            51: LOG_KEYS_046 + ["action_id", "is_sandboxed", "cache_hash", "embedding_client", "embedding_version",
                                "parameterized"]}


@pytest.fixture(scope="module", params=["v0.40", "v0.48", "v0.50", "v0.52", "v0.57", "v0.64"])
def emu(request):
    with Emulator(profile=request.param, seed=1, scale=SMALL, query_log_now="2025-09-20T12:00:00Z") as emulator:
        yield emulator
        emulator.configure(edition="oss")


def flatten(graph_groups) -> set:
    """The issue's flattening, walking the JSON (independent of the emulator's own)."""
    rows = set()

    def walk(gid, db, name, node, place):
        if isinstance(node, str):
            rows.add((gid, db, name, *(place + [None, None])[:2], node))
            return
        for key, sub in node.items():
            if key == "schemas":
                walk(gid, db, name, sub, place)
            elif key in ("native", "read", "query"):
                walk(gid, db, name + "." + key, sub, place)
            else:
                walk(gid, db, name, sub, place + [key if not place else int(key)])

    for gid, dbs in graph_groups.items():
        for db, perms in dbs.items():
            for name, node in perms.items():
                walk(int(gid), int(db), name, node, [])
    return rows


def granted(collection_graph) -> list:
    """(group, collection or "root", access) of the graph's entries other than "none", in the truth's order."""
    rows = [(int(g), k if k == "root" else int(k), a) for g, cs in collection_graph["groups"].items()
            for k, a in cs.items() if a != "none"]
    return sorted(rows, key=lambda r: (r[0], r[1] != "root", r[1] if r[1] != "root" else 0))


# --- the permission model explains visibility.py ---------------------------------------------------

@pytest.mark.parametrize("seed,cards", [(1, 60), (3, 30), (5, 400)])
def test_permission_tables_explain_what_every_user_sees(seed, cards):
    m = Model(seed, Scale(cards=cards))
    users = list(m.users.values())
    assert {u.kind for u in users} == {"personal", "api-key"}
    for u in users:
        v = viewer_of(m, u)
        readable, writable, dbs = permissions.model_access(m, u)
        assert readable == v.readable, u.email
        assert writable == v.writable, u.email
        assert dbs == v.database_ids, u.email
        root_write = u.is_superuser or any(permissions.root_access(g) == "write" for g in u.group_ids)
        assert root_write == can_write(v, None)
    # what the tables hold: restricted trees and databases only for Finance; personal trees in no table
    for c in m.collections.values():
        stored = {g: permissions.collection_access(m, g, c) for g in permissions.STORED_GROUPS}
        if c.personal_owner_id or m._personal_root(c) or c.type == "trash":
            assert set(stored.values()) == {None}
        elif c.restricted:
            assert stored == {ALL_USERS: None, ANALYSTS: None, FINANCE: "write", MARKETING: None}
        else:
            assert (stored[ALL_USERS], stored[ANALYSTS], stored[FINANCE]) == ("read", "write", None)
    for db in m.databases.values():
        seen = {g for g in permissions.STORED_GROUPS if permissions.sees_database(m, g, db)}
        assert seen == ({FINANCE} if db.restricted else set(permissions.STORED_GROUPS))


def test_new_tables_and_databases_get_permissions_and_the_two_still_agree():
    with Emulator(profile="v0.57", seed=2, scale=SMALL) as emu:
        emu.add("databases", 2)
        emu.add("tables", 3)
        m = emu.model
        for u in m.users.values():
            v = viewer_of(m, u)
            assert permissions.model_access(m, u) == (v.readable, v.writable, v.database_ids)
        graph = as_user(emu).get("/api/permissions/graph").json()
        assert flatten(graph["groups"]) == emu.expected_data_permissions()
        assert {str(d) for d in m.databases} <= set(graph["groups"][str(ADMINISTRATORS)])


# --- GET /api/collection/graph ------------------------------------------------------------------

def test_collection_graph_is_for_superusers_and_matches_the_model(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    denied = analyst.get("/api/collection/graph")
    assert (denied.status_code, denied.text) == (403, FORBIDDEN)
    assert Client(emu).get("/api/collection/graph").status_code == 401
    assert emu.expected_collection_permissions("analyst") == []
    graph = admin.get("/api/collection/graph").json()
    assert set(graph) == {"revision", "groups"} and isinstance(graph["revision"], int)
    assert granted(graph) == emu.expected_collection_permissions()
    m, p = emu.model, emu.profile
    keys = {k for cs in graph["groups"].values() for k in cs}
    personal = {c.id for c in m.collections.values() if m._personal_root(c)}
    assert "root" in keys and not keys & {str(i) for i in personal | {m.trash_id}}
    archived = {str(c.id) for c in m.collections.values() if c.archived and c.namespace is None and c.id not in personal}
    assert archived and (archived <= keys) == (not p.since(56))  # left out from ≈0.56 (PR #59065)
    values = {a for cs in graph["groups"].values() for a in cs.values()}
    if p.since(57):  # 0.56.13+: sparse, no "none", groups without access absent
        assert values == {"read", "write"}
    else:
        assert values == {"read", "write", "none"} and set(graph["groups"]) == {str(g) for g in GROUP_NAMES}
        assert len({frozenset(cs) for cs in graph["groups"].values()}) == 1  # every group: the same keys
    assert all(a == "write" for a in graph["groups"][str(ADMINISTRATORS)].values())
    restricted = [c.id for c in m.collections.values() if c.restricted and c.namespace is None]
    assert all(graph["groups"][str(FINANCE)][str(c)] == "write" for c in restricted)
    assert all(graph["groups"][str(ALL_USERS)].get(str(c), "none") == "none" for c in restricted)


def test_collection_graph_of_the_snippet_namespace(emu):
    graph = as_user(emu).get("/api/collection/graph", params={"namespace": "snippets"}).json()
    folders = {str(c.id) for c in emu.model.collections.values() if c.namespace == "snippets"}
    keys = {k for cs in graph["groups"].values() for k in cs}
    assert folders and keys == folders | {"root"}
    assert granted(graph) == emu.expected_collection_permissions(namespace="snippets")


# --- GET /api/permissions/graph -----------------------------------------------------------------

def test_data_graph_matches_the_model_in_every_edition(emu):
    admin = as_user(emu)
    denied = as_user(emu, "analyst").get("/api/permissions/graph")
    assert (denied.status_code, denied.text) == (403, FORBIDDEN)
    assert emu.expected_data_permissions("analyst") == set()
    for edition in ("oss", "ee-unlicensed", "ee"):
        emu.configure(edition=edition)
        graph = admin.get("/api/permissions/graph").json()
        assert set(graph) == {"revision", "groups"} and isinstance(graph["revision"], int)
        assert flatten(graph["groups"]) == emu.expected_data_permissions() == \
            emu.expected_data_permissions(edition=edition)
    emu.configure(edition="oss")


def test_data_graph_shapes(emu):
    p, m = emu.profile, emu.model
    groups = as_user(emu).get("/api/permissions/graph").json()["groups"]
    oss, ee = emu.expected_data_permissions(edition="oss"), emu.expected_data_permissions(edition="ee")
    group, table = m.permissions.sandbox
    t = m.tables[table]
    restricted = [d.id for d in m.databases.values() if d.restricted]
    if p.since(42) and not p.since(50):  # v1 under `data`, with download, data-model, details and (EE) block
        assert all(groups[str(ADMINISTRATORS)][str(d)]["data"] == {"native": "write", "schemas": "all"}
                   for d in m.databases)
        assert {r[2] for r in oss} <= {"data", "data.native", "data.read", "data.query", "download",
                                       "download.native", "data-model", "details"}
        assert {(group, t.db_id, "data.query", t.schema, table, "segmented"),
                (group, t.db_id, "data.read", t.schema, table, "all")} <= oss
        assert all(groups[str(ALL_USERS)].get(str(d), {}) in ({}, {"data": {"schemas": "block"}}) for d in restricted)
        return
    assert restricted and all(str(d) not in groups[str(ALL_USERS)] for d in restricted)  # nothing granted there
    if not p.since(50):  # v1: {native, schemas} per database, the sandbox as a read/query split
        assert oss == ee
        assert all(groups[str(ADMINISTRATORS)][str(d)] == {"native": "write", "schemas": "all"} for d in m.databases)
        assert {r[2] for r in oss} == {"native", "schemas", "schemas.read", "schemas.query"}
        assert {(group, t.db_id, "schemas.query", t.schema, table, "segmented"),
                (group, t.db_id, "schemas.read", t.schema, table, "all")} <= oss
        assert any(r[2] == "schemas" and r[3] and r[4] is None for r in oss)  # a whole schema
        assert any(r[2] == "schemas" and r[4] for r in oss)  # a table
        assert all(str(d) not in groups[str(ANALYSTS)] for d in restricted)
        return
    assert {r[2] for r in oss} == {"view-data", "create-queries", "download", "data-model", "details"} | \
        ({"transforms"} if p.since(59) else set())  # transforms from 0.59
    assert {"no", "blocked", "legacy-no-self-service", "full", "limited", "all", "yes"} <= {r[5] for r in oss}
    assert any(r[2] == "create-queries" and r[3] and r[4] is None and r[5] == "no" for r in oss)  # per schema
    assert any(r[2] == "create-queries" and r[4] for r in oss)  # per table
    assert any(r[2] == "view-data" and r[3] and r[4] is None and r[5] == "blocked" for r in oss)
    assert any(r[2] == "download" and r[4] for r in oss)  # {"download": {"schemas": {s: {t: ...}}}}
    sandboxed = (group, t.db_id, "view-data", t.schema, table, "sandboxed")
    assert sandboxed in ee and sandboxed not in oss  # the OSS graph ignores sandboxes
    for d in m.databases:
        assert {r[2:] for r in oss if r[:2] == (ADMINISTRATORS, d)} == {
            ("view-data", None, None, "unrestricted"), ("create-queries", None, None, "query-builder-and-native"),
            ("download", None, None, "full"), ("data-model", None, None, "all"), ("details", None, None, "yes")} | \
            ({("transforms", None, None, "yes")} if p.since(59) else set())
    assert groups[str(ADMINISTRATORS)]["1"]["download"] == {"schemas": "full"}
    assert all(groups[str(ANALYSTS)][str(d)] == {"view-data": "unrestricted"} for d in restricted)


def test_data_graph_of_later_and_earlier_v1_versions():
    """0.59 adds `transforms`; 0.42-0.49 put v1's data under `data` with download, data-model, details."""
    m = Model(1, SMALL)
    later = replace(PROFILES["v0.57"], tag="v0.59.2")
    rows = permissions.expected_data_permissions(m, later)
    assert {r[5] for r in rows if r[2] == "transforms"} == {"yes"}
    assert {r[0] for r in rows if r[2] == "transforms"} == {ADMINISTRATORS, ANALYSTS, FINANCE}
    assert flatten(permissions.data_graph(m, later)["groups"]) == rows
    v047 = replace(PROFILES["v0.40"], tag="v0.47.3")
    rows = permissions.expected_data_permissions(m, v047)
    assert {"data", "data.native", "download", "download.native", "data-model", "details", "data.read",
            "data.query"} == {r[2] for r in rows}
    assert (ALL_USERS, 3, "data", None, None, "block") in rows
    assert flatten(permissions.data_graph(m, v047)["groups"]) == rows
    assert permissions.data_graph(m, v047)["groups"][str(ADMINISTRATORS)]["1"] == {
        "data": {"native": "write", "schemas": "all"}, "download": {"native": "full", "schemas": "full"},
        "data-model": {"schemas": "all"}, "details": "yes"}


# --- the query log --------------------------------------------------------------------------------

def test_query_log_by_edition_and_caller(emu):
    admin, analyst, anonymous = as_user(emu), as_user(emu, "analyst"), Client(emu)
    month = emu.query_log_months()[-1]
    assert emu.query_log_months() == ["2025-07", "2025-08", "2025-09"]
    path = "/api/ee/logs/query_execution/" + month
    p = emu.profile
    for edition in ("oss", "ee-unlicensed", "ee"):
        emu.configure(edition=edition)
        r, denied, anon = admin.get(path), analyst.get(path), anonymous.get(path)
        if not p.since(46) or edition == "oss":
            assert {(x.status_code, x.text) for x in (r, denied, anon)} == {(404, "API endpoint does not exist.")}
        elif edition == "ee-unlicensed":  # the premium gate comes before authentication and the superuser check
            assert {x.status_code for x in (r, denied, anon)} == {402}
            assert (r.text if not p.since(51) else r.json()["message"]) == PAID
        else:
            assert (denied.status_code, denied.text) == (403, FORBIDDEN) == (anon.status_code, anon.text)
            assert r.status_code == 200 and r.json() == emu.expected_query_log(month)
            assert admin.get("/api/ee/logs/query_execution/2025-13").json() == []
            assert admin.get("/api/ee/logs/query_execution/" + "2019-01").json() == []
            assert admin.get("/api/ee/logs/query_execution/sept").status_code == 500
            assert admin.get("/api/ee/logs/other").status_code == 404
        expected = emu.expected_query_log(month)
        assert bool(expected) == (p.since(46) and edition == "ee")
        assert emu.expected_query_log(month, "analyst") == []
    emu.configure(edition="oss")


def test_query_log_rows(emu):
    p, m = emu.profile, emu.model
    if not p.since(46):
        assert emu.expected_query_log("2025-09", edition="ee") == []
        return
    months = emu.query_log_months()
    all_rows = [r for month in months for r in emu.expected_query_log(month, edition="ee")]
    assert len(all_rows) == 40 * len(months)
    keys = LOG_KEYS[51 if p.since(51) else 48]
    assert all(list(r) == keys for r in all_rows)
    for month in months:
        rows = emu.expected_query_log(month, edition="ee")
        stamps = [r["started_at"] for r in rows]
        assert stamps == sorted(stamps, reverse=True) and all(s.startswith(month) for s in stamps)
        assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert max(r["started_at"] for r in all_rows) < "2025-09-20T12:00:00"  # query_log_now
    ids = [r["id"] for r in all_rows]
    assert len(set(ids)) == len(ids)
    users = set(m.users)
    assert all(re.fullmatch(r"0x[0-9A-F]{8}", r["hash"]) for r in all_rows)
    assert all(r["executor_id"] in users for r in all_rows if r["executor_id"] is not None)
    assert {r["executor_id"] is None for r in all_rows if r["context"].startswith(("public", "embedded"))} == {True}
    assert {r["card_id"] is None for r in all_rows if r["context"] == "ad-hoc"} == {True}
    deleted = [r for r in all_rows if r["card_id"] and r["card_id"] not in m.cards]
    assert deleted and all(r["card_id"] > max(m.cards) for r in deleted)
    assert all(r["dashboard_id"] in m.dashboards for r in all_rows if r["dashboard_id"])
    assert all(r["database_id"] in m.databases for r in all_rows)
    assert any(r["error"] and r["result_rows"] == 0 for r in all_rows)
    assert any(r["cache_hit"] for r in all_rows) and not any(r["cache_hit"] and r["error"] for r in all_rows)
    api_key_users = {u.id for u in m.users.values() if u.kind == "api-key"}
    assert {r["executor_id"] for r in all_rows} & api_key_users  # users GET /api/user never lists
    if p.since(48):
        assert {r["cache_hash"] is None for r in all_rows} == {True, False}
        assert all(r["cache_hash"] for r in all_rows if r["cache_hit"])
    # the same month reads the same whatever the window; more months add older ones
    emu.configure(query_log_months=5)
    assert emu.query_log_months()[-3:] == months and emu.expected_query_log(months[0], edition="ee") == \
        [r for r in all_rows if r["started_at"].startswith(months[0])]
    emu.configure(query_log_months=3)


def test_query_log_is_sent_in_pieces_with_its_length_known():
    with Emulator(profile="v0.57", seed=4, scale=Scale(cards=30), edition="ee", query_log_rows_per_month=20_000,
                  query_log_now="2025-06-03T00:00:00Z") as emu:
        r = requests.get(emu.base_url + "/api/ee/logs/query_execution/2025-05", verify=emu.ca_bundle, stream=True,
                         headers={"X-API-Key": emu.credentials["admin_api_key"]}, timeout=60)
        body = b"".join(r.iter_content(1 << 16))
        assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(body)
        rows = json.loads(body)
        assert len(rows) == 20_000 and rows[0]["id"] == rows[-1]["id"] + 19_999
        assert rows[:50] == emu.expected_query_log("2025-05")[:50]
        current = emu.expected_query_log("2025-06")  # the current month: between its start and "now"
        assert len(current) == 20_000 and current[0]["started_at"] < "2025-06-03"


def test_query_log_settings_are_checked():
    with Emulator(profile="v0.50", seed=1, scale=Scale(cards=10)) as emu:
        for bad in ({"edition": "enterprise"}, {"query_log_rows_per_month": -1}, {"query_log_months": 0},
                    {"query_log_now": "yesterday"}):
            with pytest.raises(ValueError):
                emu.configure(**bad)
            r = requests.post(emu.base_url + "/__emulator__/settings", json=bad, verify=emu.ca_bundle, timeout=10)
            assert r.status_code == 400
        assert emu.configure(query_log_now="2024-02-10")["query_log_now"] == 1707523200.0
        assert emu.query_log_months() == ["2023-12", "2024-01", "2024-02"]


# --- GET /api/session/properties ------------------------------------------------------------------

OLD_KEYS = {"version", "site-name", "site-url", "site-locale", "application-name", "has-user-setup", "setup-token",
            "enable-password-login", "google-auth-enabled", "ldap-enabled", "anon-tracking-enabled",
            "available-locales", "token-features", "version-info-last-checked", "startup-time-millis"}


def test_session_properties_by_caller_and_edition(emu):
    p = emu.profile
    admin, analyst, anonymous = as_user(emu), as_user(emu, "analyst"), Client(emu)
    for edition in ("oss", "ee-unlicensed", "ee"):
        emu.configure(edition=edition)
        anon = anonymous.get("/api/session/properties").json()
        mine = analyst.get("/api/session/properties").json()
        full = admin.get("/api/session/properties").json()
        assert OLD_KEYS <= set(anon) and set(anon) < set(mine) < set(full)
        assert "check-for-updates" in full and "check-for-updates" not in mine and "enable-xrays" in mine
        assert "premium-embedding-token" not in full  # sensitive: never sent
        tag = anon["version"]["tag"]
        assert re.fullmatch(r"v%d\.%s\.\d+" % (0 if edition == "oss" else 1, p.tag.split(".")[1]), tag)
        assert {"sso_saml", "sso_jwt", "embedding", "official_collections"} <= set(anon["token-features"])
        features = anon["token-features"] if p.since(41) else anon["premium-features"]
        assert all(isinstance(v, bool) for v in features.values())
        assert (features["audit_app"], any(features.values())) == ((True, True) if edition == "ee" else (False, False))
        if p.since(41) and edition == "ee":
            assert features["sandboxes"] and not features["hosting"]
        bad = Client(emu, **{"X-Metabase-Session": "00000000-0000-4000-8000-000000000000"})
        assert bad.get("/api/session/properties").json() == anon  # an unknown session: a public answer
    if p.api_keys:
        key = Client(emu, **{"X-API-Key": emu.credentials["admin_api_key"]}).get("/api/session/properties").json()
        assert "check-for-updates" in key
    emu.configure(edition="oss")
    assert set(as_user(emu).get("/api/session/properties").json()["token-features"]) >= \
        ({"audit_app", "sandboxes", "advanced_permissions"} if p.since(41) else {"sso_saml"})
