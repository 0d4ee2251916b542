"""The emulator's newest and oldest-but-one profiles (profiles.py): v0.64 (what 0.58-0.64 brought,
metabase-api.md section 11) and v0.48 (0.48.0, which had no GET /api/dashboard, 11.1); and the
new endpoints answering 404 on every version before them."""

import pytest

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.metabase_emulator.profiles import PROFILES
from integration_tests.test_emulator import Client, as_user

NEW = ["/api/document", "/api/document/1", "/api/transform", "/api/transform/1", "/api/measure", "/api/measure/1"]
MISSING = "API endpoint does not exist."


@pytest.fixture(scope="module")
def emu64():
    with Emulator(profile="v0.64", seed=1, scale=Scale(cards=60)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def emu48():
    with Emulator(profile="v0.48", seed=1, scale=Scale(cards=60)) as emulator:
        yield emulator


@pytest.mark.parametrize("profile", ["v0.40", "v0.48", "v0.50", "v0.52", "v0.57"])
def test_older_versions_have_none_of_the_new_endpoints(profile):
    with Emulator(profile=profile, seed=1, scale=Scale(cards=20)) as emu:
        admin, anonymous = as_user(emu), Client(emu)
        for path in NEW:
            for client in (admin, anonymous):  # no such namespace: no auth asked first either
                answer = client.get(path)
                assert (answer.status_code, answer.text) == (404, MISSING)
                assert answer.headers["Content-Type"].startswith("text/plain")
        notification = admin.get("/api/notification")
        assert notification.status_code == (200 if emu.profile.since(54) else 404)
        for stream in ("documents", "transforms", "measures"):
            assert emu.expected_ids(stream) == []
        assert not {"library", "library-data", "library-metrics"} & \
            {c.get("type") for c in admin.get("/api/collection").json()}


def test_v064_flags_and_what_it_keeps_from_057(emu64):
    p = PROFILES["v0.64"]
    assert (p.notifications, p.documents, p.transforms, p.library, p.measures) == (True,) * 5
    older = PROFILES["v0.57"]
    assert (older.notifications, older.documents, older.measures) == (True, False, False)
    admin, anonymous = as_user(emu64), Client(emu64)
    version = anonymous.get("/api/session/properties").json()["version"]
    assert version["tag"] == "v0.64.2" and version["date"].startswith("2026-")
    for path in NEW:
        assert anonymous.get(path).status_code == 401 and admin.get(path).status_code == 200
    cards = admin.get("/api/card").json()
    assert all(c["dataset_query"]["lib/type"] == "mbql/query" and c["is_remote_synced"] is False for c in cards)
    assert any(c["dashboard_id"] for c in cards)
    segment = admin.get("/api/segment").json()[0]
    assert segment["definition"]["lib/type"] == "mbql/query"
    archived = admin.get("/api/collection", params={"archived": "true"}).json()
    assert any(c["type"] == "trash" for c in archived)
    assert admin.get("/api/dashboard").status_code == 200


def test_v064_library_collections(emu64):
    admin, analyst = as_user(emu64), as_user(emu64, "analyst")
    listed = {c["type"]: c for c in admin.get("/api/collection").json() if (c.get("type") or "").startswith("library")}
    assert set(listed) == {"library", "library-data", "library-metrics"}
    root = listed["library"]
    assert root["location"] == "/" and all(listed[t]["location"] == "/%d/" % root["id"]
                                           for t in ("library-data", "library-metrics"))
    mine = {c["id"] for c in analyst.get("/api/collection").json()}
    assert {c["id"] for c in listed.values()} <= mine
    assert {c["id"] for c in listed.values()} <= set(emu64.expected_ids("collections", "analyst"))
    trash = next(c for c in admin.get("/api/collection", params={"archived": "true"}).json() if c["type"] == "trash")
    assert min(c["id"] for c in listed.values()) > trash["id"]  # made last: no other id moved


def test_v064_is_deterministic_with_its_new_content():
    bodies = []
    for _ in range(2):
        with Emulator(profile="v0.64", seed=4, scale=Scale(cards=40)) as emu:
            s = as_user(emu)
            bodies.append([s.get(p).content for p in NEW + ["/api/notification", "/api/table", "/api/card"]])
    assert bodies[0] == bodies[1]


def test_v048_has_no_dashboard_list_and_its_era_shapes(emu48):
    admin = as_user(emu48)
    assert admin.get("/api/session/properties").json()["version"]["tag"] == "v0.48.0"
    missing = admin.get("/api/dashboard")
    assert (missing.status_code, missing.text) == (404, MISSING)
    assert Client(emu48).get("/api/dashboard").status_code == 401  # the namespace is still there
    some = sorted(d.id for d in emu48.model.dashboards.values() if not d.archived)[0]
    detail = admin.get("/api/dashboard/%d" % some).json()
    assert "dashcards" in detail and "ordered_cards" not in detail and "tabs" in detail
    assert all("size_x" in dc for dc in detail["dashcards"])
    card = admin.get("/api/card").json()[0]
    assert "type" not in card and isinstance(card["dataset"], bool) and "archived_directly" not in card
    keyed = Client(emu48, **{"X-API-Key": emu48.credentials["admin_api_key"]}).get("/api/user/current")
    assert keyed.status_code == 401  # API keys came with 0.49
    assert not any(c.get("type") == "trash" for c in admin.get("/api/collection", params={"archived": "true"}).json())
    assert admin.get("/api/notification").status_code == 404


def dashboards_through_collections(client, archived=False, page=None) -> list:
    """Every dashboard a client finds without GET /api/dashboard: the items of the root and of every
    collection GET /api/collection lists (personal ones included), `models=dashboard`, paged;
    `archived`: the archived ones, from live and archived collections alike."""
    ids = []
    collections = client.get("/api/collection").json()
    if archived:  # archived ones sit in live collections too, or in archived ones
        collections += client.get("/api/collection", params={"archived": "true"}).json()
    for cid in ["root"] + [c["id"] for c in collections if c["id"] != "root"]:
        offset = 0
        while True:
            params = {"models": "dashboard", "archived": str(archived).lower()}
            if page:
                params.update(limit=page, offset=offset)
            body = client.get("/api/collection/%s/items" % cid, params=params).json()
            assert body["models"] == ["dashboard"] and all(i["model"] == "dashboard" for i in body["data"])
            ids += [i["id"] for i in body["data"]]
            offset += len(body["data"])
            if not page or offset >= body["total"] or not body["data"]:
                break
    return sorted(ids)


@pytest.mark.parametrize("viewer", ["admin", "analyst"])
def test_v048_dashboards_are_found_through_collection_items(emu48, viewer):
    client = as_user(emu48, viewer)
    expected = emu48.expected_ids("dashboards", viewer)
    found = dashboards_through_collections(client)
    assert found == expected and len(found) == len(set(found))
    assert dashboards_through_collections(client, page=2) == expected
    model = emu48.model
    places = [model.dashboards[d].collection_id for d in found]
    assert None in places, "a dashboard in the root"
    assert any(c and model._personal_root(model.collections[c]) for c in places), "one in a personal collection"
    archived = dashboards_through_collections(client, archived=True)
    v = model.viewer(model.by_email[emu48.credentials[viewer + "_email"]])
    assert archived == sorted(d.id for d in model.visible_dashboards(v, "archived"))
