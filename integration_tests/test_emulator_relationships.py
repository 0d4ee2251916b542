"""The emulator's relationship endpoints (metabase-api.md section 9), through plain `requests`:
memberships, segments, timelines, pulses, database metadata, archived dashboards, per profile."""

import pytest

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.test_emulator import Client, as_user

SMALL = Scale(cards=60)


@pytest.fixture(scope="module", params=["v0.40", "v0.50", "v0.57"])
def emu(request):
    with Emulator(profile=request.param, seed=1, scale=SMALL) as emulator:
        yield emulator


def test_memberships_map_every_user_to_its_groups_api_key_users_included(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    body = admin.get("/api/permissions/membership").json()
    assert sorted(body, key=int) == sorted({str(u.id) for u in emu.model.users.values()}, key=int)
    rows = [m for ms in body.values() for m in ms]
    assert sorted((m["membership_id"], m["user_id"], m["group_id"]) for m in rows) == sorted(emu.model.memberships)
    assert all(str(m["user_id"]) == uid for uid, ms in body.items() for m in ms)
    # is_group_manager came with 0.43, and is always false without Enterprise
    assert {("is_group_manager" in m, m.get("is_group_manager")) for m in rows} == \
        ({(True, False)} if emu.profile.since(43) else {(False, None)})
    listed = {u["id"] for u in admin.get("/api/user", params={"status": "all"}).json()["data"]}
    hidden = {int(uid) for uid in body} - listed
    assert hidden and all(emu.model.users[u].kind == "api-key" for u in hidden)
    denied = analyst.get("/api/permissions/membership")
    assert denied.status_code == 403 and denied.text == "You don't have permissions to do that."


def test_segments_list_live_ones_on_readable_tables_in_name_order(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    segments = admin.get("/api/segment").json()
    assert [s["name"].lower() for s in segments] == sorted(s["name"].lower() for s in segments)
    assert sorted(s["id"] for s in segments) == emu.expected_ids("segments")
    archived = [s for s in emu.model.segments.values() if s.archived]
    assert archived and not {s.id for s in archived} & {s["id"] for s in segments}
    detail = admin.get("/api/segment/%d" % archived[0].id).json()
    assert detail["archived"] is True
    mine = analyst.get("/api/segment").json()
    assert sorted(s["id"] for s in mine) == emu.expected_ids("segments", "analyst") and len(mine) < len(segments)
    p = emu.profile
    for s in segments:
        assert set(s["definition"]) == {"source-table", "filter"}  # MBQL 4 up to 0.57
        assert s["definition"]["source-table"] == s["table_id"]
        assert ("entity_id" in s) == p.since(44)
        assert ("definition_description" in s, "query_description" in s) == (p.since(47), not p.since(47))
        assert s["creator"]["id"] == s["creator_id"]


def test_timelines_exist_from_043_with_their_events_in_one_request(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    if not emu.profile.since(43):
        answer = admin.get("/api/timeline", params={"include": "events"})
        assert (answer.status_code, answer.text) == (404, "API endpoint does not exist.")
        assert Client(emu).get("/api/timeline").status_code == 401
        return
    plain = admin.get("/api/timeline").json()
    full = admin.get("/api/timeline", params={"include": "events"}).json()
    assert "events" not in plain[0] and [t["id"] for t in plain] == [t["id"] for t in full]
    assert [t["name"].lower() for t in full] == sorted(t["name"].lower() for t in full)
    model_events = {e.id: e for t in emu.model.timelines.values() for e in t.events}
    events = [e for t in full for e in t["events"]]
    assert events and all(not model_events[e["id"]].archived for e in events)
    assert any(e.archived for t in emu.model.timelines.values() if not t.archived for e in t.events)
    assert all(e["timeline_id"] == t["id"] for t in full for e in t["events"])
    archived = admin.get("/api/timeline", params={"include": "events", "archived": "true"}).json()
    assert archived and all(t["archived"] and all(e["archived"] for e in t["events"]) for t in archived)
    assert all(t["collection"]["id"] == (t["collection_id"] or "root") for t in full)
    mine = analyst.get("/api/timeline").json()
    assert sorted(t["id"] for t in mine) == emu.expected_ids("timelines", "analyst") and len(mine) < len(full)
    assert admin.get("/api/timeline", params={"include": "cards"}).status_code == 400


def test_pulses_are_subscriptions_and_legacy_pulses_never_alerts(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model, p = emu.model, emu.profile
    pulses = admin.get("/api/pulse").json()
    assert sorted(x["id"] for x in pulses) == emu.expected_ids("dashboard_subscriptions")
    assert not any(model.pulses[x["id"]].alert_condition for x in pulses)
    assert any(pulse.alert_condition for pulse in model.pulses.values())
    assert not any(x["archived"] for x in pulses)
    if not p.since(41):  # 0.40: legacy pulses only, subscriptions per dashboard
        assert pulses and all(x["dashboard_id"] is None for x in pulses)
        dashboard = next(pulse.dashboard_id for pulse in model.pulses.values()
                         if pulse.dashboard_id and not pulse.archived)
        per_dashboard = admin.get("/api/pulse", params={"dashboard_id": dashboard}).json()
        assert per_dashboard and {x["dashboard_id"] for x in per_dashboard} == {dashboard}
    else:
        assert any(x["dashboard_id"] for x in pulses) and any(x["dashboard_id"] is None for x in pulses)
        on_archived = [pulse for pulse in model.pulses.values() if pulse.dashboard_id
                       and model.dashboards[pulse.dashboard_id].archived]
        assert on_archived and not {pulse.id for pulse in on_archived} & {x["id"] for x in pulses}
    mine = analyst.get("/api/pulse").json()
    assert sorted(x["id"] for x in mine) == emu.expected_ids("dashboard_subscriptions", "analyst")
    if p.since(46):  # non-admins see their own only
        assert mine and {x["creator_id"] for x in mine} == {2}
    for x in pulses:
        assert ("entity_id" in x) == p.since(44) and ("dashboard" in x) == (not p.since(46))
        for channel in x["channels"]:
            users = [r["id"] for r in channel["recipients"] if "id" in r]
            assert all(model.users[u].is_active for u in users) and users == sorted(users)
            raw = [r for r in channel["recipients"] if "id" not in r]
            assert channel["recipients"][:len(raw)] == raw  # raw addresses first
            assert channel["enabled"] is True
    archived_one = next(pulse for pulse in model.pulses.values() if pulse.archived)  # a subscription
    params = {"archived": "true"} if p.since(41) else {"archived": "true", "dashboard_id": archived_one.dashboard_id}
    archived = admin.get("/api/pulse", params=params).json()
    assert archived_one.id in [x["id"] for x in archived]
    assert all(x["archived"] and not any(c["enabled"] for c in x["channels"]) for x in archived)


def test_database_metadata_lists_every_table_and_field_with_include_hidden(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model = emu.model
    for db in model.databases.values():
        full = admin.get("/api/database/%d/metadata" % db.id, params={"include_hidden": "true"}).json()
        shown = admin.get("/api/database/%d/metadata" % db.id).json()
        assert full["id"] == db.id and "details" in full
        assert sorted(f["id"] for t in full["tables"] for f in t["fields"]) == \
            sorted(f.id for t in db.tables for f in t.fields if f.active)  # inactive fields: listed nowhere
        names = [t["display_name"].lower() for t in full["tables"]]
        assert names == sorted(names)
        for table in full["tables"]:
            assert "db" not in table and all(f["table_id"] == table["id"] for f in table["fields"])
            assert [f["position"] for f in table["fields"]] == sorted(f["position"] for f in table["fields"])
            for f in table["fields"]:
                target = f["target"]
                assert (target or {}).get("id") == f["fk_target_field_id"]
        hidden_tables = {t.id for t in db.tables if t.visibility_type}
        assert {t["id"] for t in shown["tables"]} == {t.id for t in db.tables} - hidden_tables
        shown_fields = [f for t in shown["tables"] for f in t["fields"]]
        assert not any(f["visibility_type"] == "sensitive" for f in shown_fields)
    assert any(t.visibility_type == "hidden" for t in model.tables.values())
    assert any(not f.active for f in model.fields.values())
    sample = admin.get("/api/database/1/metadata", params={"include_hidden": "true"}).json()
    assert any(f["visibility_type"] == "sensitive" for t in sample["tables"] for f in t["fields"])
    restricted = next(db for db in model.databases.values() if db.restricted)
    assert analyst.get("/api/database/%d/metadata" % restricted.id).status_code == 403
    assert admin.get("/api/database/999/metadata").status_code == 404


def test_archived_dashboards_detail_refused_before_050_and_in_the_trash_after(emu):
    admin = as_user(emu)
    model = emu.model
    archived = [d for d in model.dashboards.values() if d.archived]
    assert archived and any(d.archived_directly for d in archived)
    listed = admin.get("/api/dashboard", params={"f": "archived"}).json()
    assert sorted(d["id"] for d in listed) == sorted(d.id for d in archived)
    for d in archived:
        answer = admin.get("/api/dashboard/%d" % d.id)
        if not emu.profile.trash:
            assert answer.status_code == 404
            assert answer.json() == {"message": "The object has been archived.", "error_code": "archived"}
        else:
            body = answer.json()
            assert body["archived"] is True
            assert body["collection_id"] == (model.trash_id if d.archived_directly else d.collection_id)


def test_dashcards_of_archived_cards_are_not_returned():
    with Emulator(profile="v0.57", seed=2, scale=Scale(cards=40)) as emu:
        dashboard = next(d for d in emu.model.dashboards.values() if not d.archived and
                         any(dc.card_id for dc in d.dashcards))
        card_id = next(dc.card_id for dc in dashboard.dashcards if dc.card_id)
        emu.model.cards[card_id].archived = True
        dashcards = as_user(emu).get("/api/dashboard/%d" % dashboard.id).json()["dashcards"]
        kept = sorted(dc.id for dc in dashboard.dashcards if dc.card_id != card_id)
        assert sorted(dc["id"] for dc in dashcards) == kept
        assert not set(dc.id for dc in dashboard.dashcards if dc.card_id == card_id) & set(
            emu.expected_ids("dashboard_cards"))


def test_relationship_content_is_deterministic_and_scales():
    bodies = []
    for seed in (4, 4, 5):
        with Emulator(profile="v0.57", seed=seed, scale=Scale(cards=40)) as emu:
            s = as_user(emu)
            bodies.append([s.get(p).content for p in ("/api/permissions/membership", "/api/segment",
                                                       "/api/timeline?include=events", "/api/pulse",
                                                       "/api/database/2/metadata?include_hidden=true")])
    assert bodies[0] == bodies[1] and bodies[0] != bodies[2]
    big = Scale(cards=3000)
    assert (big.segments, big.timelines, big.subscriptions) == (150, 100, 100)
    assert min(Scale().segments, Scale().timelines, Scale().subscriptions) >= 3
    empty = Scale(cards=0, dashboards=0, collections=0, users=0, databases=0, snippets=0)
    with Emulator(profile="v0.50", scale=empty) as emu:
        s = as_user(emu)
        assert s.get("/api/segment").json() == [] and s.get("/api/pulse").json() == []
        # timelines with no collection to be in: the root's, and the third one archived
        assert [t["collection_id"] for t in s.get("/api/timeline").json()] == [None, None]


def test_segments_become_mbql5_queries_from_058():
    """No 0.58 profile yet: the v0.57 one with a 0.58 tag renders what metabase#65566 sends."""
    from dataclasses import replace

    from integration_tests.metabase_emulator.model import Model
    from integration_tests.metabase_emulator.profiles import PROFILES, Render

    model = Model(1, SMALL)
    segment = next(iter(model.segments.values()))
    old, new = (Render(profile, model).segment(segment) for profile in
                (PROFILES["v0.57"], replace(PROFILES["v0.57"], tag="v0.58.0")))
    assert set(old["definition"]) == {"source-table", "filter"}
    assert new["definition"]["lib/type"] == "mbql/query"
    assert new["definition"]["database"] == model.tables[segment.table_id].db_id
    assert new["definition"]["stages"][0]["source-table"] == segment.table_id


SHIM_CARD = {"name", "description", "collection_id", "display", "format_rows", "include_xls", "include_csv",
             "pivot_results", "dashboard_id", "dashboard_card_id", "parameter_mappings"}


def test_alerts_follow_each_versions_visibility_and_shape(emu):
    """GET /api/alert: every alert for an admin; for others, 0.40 those on readable cards, 0.48+
    those they created or receive; ?archived=true the archived ones; 0.54+ notification ids and
    notification->pulse's card, which has no id (the card is the notification's payload.card_id)."""
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model, p = emu.model, emu.profile
    live, archived = admin.get("/api/alert").json(), admin.get("/api/alert", params={"archived": "true"}).json()
    rows = [pulse for pulse in model.pulses.values() if pulse.alert_condition]
    assert len(live) == sum(not r.archived for r in rows) and len(archived) == sum(r.archived for r in rows) >= 2
    assert not any(a["archived"] for a in live) and all(a["archived"] for a in archived)
    card_keys = SHIM_CARD if p.since(54) else {"id", "include_csv", "include_xls", "dashboard_card_id"}
    assert all(a["name"] is None and set(a["card"]) == card_keys for a in live + archived)
    if p.since(54):
        by_id = {model.alert_extras[r.id].notification_id: r.cards[0][0] for r in rows}
        card_of = {a["id"]: by_id[a["id"]] for a in live + archived}
    else:
        card_of = {a["id"]: a["card"]["id"] for a in live + archived}
    assert any(model.cards[card_of[a["id"]]].archived for a in live), "an alert on an archived card"
    recipients = [r for a in live for ch in a["channels"] for r in ch["recipients"]]
    assert any(set(r) == {"email"} for r in recipients) and any("id" in r for r in recipients)
    assert ("entity_id" in live[0]) == (p.since(44) and not p.since(54))
    mine = analyst.get("/api/alert").json()
    v = model.viewer(model.users[2])
    if p.since(48):
        receives = lambda a: any(r.get("id") == 2 for ch in a["channels"] for r in ch["recipients"])  # noqa: E731
        assert mine and all(a["creator_id"] == 2 or receives(a) for a in mine)
        assert len(mine) < len([a for a in live if model.can_read(v, model.cards[card_of[a["id"]]].collection_id)])
    else:
        assert sorted(a["id"] for a in mine) == sorted(
            a["id"] for a in live if model.can_read(v, model.cards[card_of[a["id"]]].collection_id))
        assert len(mine) < len(live)
    by_row = sorted(r.id for r in rows if not r.archived)
    assert (sorted(a["id"] for a in live) == by_row) == (not p.since(54))
