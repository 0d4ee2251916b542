"""The emulator changes like a real Metabase between two syncs (changes.py), seen over HTTPS.

Each test compares full listings before and after a change: the rows Metabase stamps get a new
`updated_at` (the one `emulator.updated_at` reports), every other row stays as it was.
"""

import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests

from integration_tests.metabase_emulator import Emulator, Scale

SMALL = Scale(cards=60)
EDIT_PROFILES = ["v0.40", "v0.50", "v0.57"]  # v0.52 reads are views themselves: tested apart
ALL_PROFILES = ["v0.40", "v0.50", "v0.52", "v0.57"]


class Api:
    """The admin's session on one emulator (a session works on every profile)."""

    def __init__(self, emu, who="admin"):
        self.emu = emu
        self.s = requests.Session()
        self.s.headers["X-Metabase-Session"] = emu.mint_session(emu.credentials[who + "_email"])

    def get(self, path, **params):
        r = self.s.get(self.emu.base_url + path, params=params, verify=self.emu.ca_bundle, timeout=10)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    def raw(self, path, **params):
        return self.s.get(self.emu.base_url + path, params=params, verify=self.emu.ca_bundle, timeout=10).content


def control(emu, body):
    return requests.post(emu.base_url + "/__emulator__/changes", json=body, verify=emu.ca_bundle, timeout=10)


def instant(stamp):
    t = datetime.fromisoformat(stamp)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)  # zone-less H2 stamps are UTC


def snapshot(emu, api=None, details=True):
    """Every row of every stream, as a full sync reads it: {stream: {id: row}}.
    Without `details`, no dashcards (on v0.52 a detail GET is a view, which stamps)."""
    api = api or Api(emu)
    key = emu.profile.dashcards_key
    dashboards = api.get("/api/dashboard") + api.get("/api/dashboard", f="archived")
    # (before the Trash, 0.50, Metabase refuses the detail of an archived dashboard)
    details = [api.get("/api/dashboard/%d" % d["id"]) for d in dashboards
               if emu.profile.trash or not d["archived"]] if details else []
    return {
        "cards": {c["id"]: c for c in api.get("/api/card") + api.get("/api/card", f="archived")},
        "dashboards": {d["id"]: d for d in dashboards},
        "dashboard_cards": {dc["id"]: dc for d in details for dc in d[key]},
        "users": {u["id"]: u for u in api.get("/api/user", status="all")["data"]},
        "native_query_snippets": {s["id"]: s for s in api.get("/api/native-query-snippet")
                                  + api.get("/api/native-query-snippet", archived="true")},
        "databases": {d["id"]: d for d in api.get("/api/database")["data"]},
        "tables": {t["id"]: t for t in api.get("/api/table")},
    }


# Copies of other rows that Metabase hydrates into a row: they follow those rows, not this
# row's updated_at (a dashboard's card copies, a table's database, a card's dashboard and collection,
# a dashboard's last revision, which a save of its dashcards alone writes too).
HYDRATED = {"dashboard_cards": ("card", "series"), "tables": ("db",), "cards": ("dashboard", "collection"),
            "dashboards": ("last-edit-info",)}


def assert_revised_only(before, after, dash):
    """The dashboard row is unchanged but for a newer last revision (last-edit-info)."""
    assert own("dashboards", after["dashboards"][dash]) == own("dashboards", before["dashboards"][dash])
    revised, old = after["dashboards"][dash]["last-edit-info"], before["dashboards"][dash].get("last-edit-info")
    assert old is None or instant(revised["timestamp"]) > instant(old["timestamp"])


# What reading moves: a snapshot's own dashboard detail reads are views (metabase-api.md 10.1).
VIEW_BOOKKEEPING = ("view_count", "last_viewed_at")


def own(stream, row):
    return {k: v for k, v in row.items() if k not in HYDRATED.get(stream, ()) and k not in VIEW_BOOKKEEPING}


def owned(snap):
    return {stream: {i: own(stream, row) for i, row in rows.items()} for stream, rows in snap.items()}


def assert_stamped(emu, before, after, stamped):
    """Rows in `stamped` ({stream: ids}) carry a new updated_at, later than every stamp the
    stream had; every other row that is in both snapshots is unchanged."""
    for stream, rows in before.items():
        ids = set(stamped.get(stream, ()))
        assert ids <= set(after[stream]), (stream, ids - set(after[stream]))
        latest = max(instant(r["updated_at"]) for r in rows.values())
        for i in set(rows) & set(after[stream]):
            old, new = rows[i], after[stream][i]
            if i in ids:
                assert new["updated_at"] == emu.updated_at(stream, i) != old["updated_at"], (stream, i)
                assert instant(new["updated_at"]) > latest, (stream, i)
            else:
                assert own(stream, new) == own(stream, old), (stream, i)


def live_card_on_a_dashboard(emu):
    m = emu.model
    return next(dc.card_id for d in m.dashboards.values() if not d.archived for dc in d.dashcards
                if dc.card_id and not m.cards[dc.card_id].archived and not m.cards[dc.card_id].dashboard_id)


def first(rows, **where):
    return next(r for r in rows.values() if all(r.get(k) == v for k, v in where.items()))["id"]


# --- edits ------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", EDIT_PROFILES)
def test_edit_stamps_exactly_the_edited_rows(profile):
    with Emulator(profile=profile, seed=4, scale=SMALL) as emu:
        before = snapshot(emu)
        card = live_card_on_a_dashboard(emu)
        edits = {"cards": [card, first(before["cards"], archived=False, collection_id=None)],
                 "dashboards": [first(before["dashboards"], archived=False)],
                 "dashboard_cards": [min(before["dashboard_cards"])],
                 "users": [first(before["users"], is_active=True, is_superuser=False)],
                 "native_query_snippets": [first(before["native_query_snippets"], archived=False)],
                 "databases": [max(before["databases"])],
                 "tables": [min(before["tables"])]}
        for stream, ids in edits.items():
            assert emu.edit(stream, ids) == ids
        after = snapshot(emu)
        assert_stamped(emu, before, after, edits)
        assert after["cards"][card]["name"] != before["cards"][card]["name"]
        # the dashboards showing the card embed its new copy, but keep their own updated_at
        shown = [dc for dc in after["dashboard_cards"].values() if dc["card_id"] == card]
        assert shown and all(dc["card"]["name"] == after["cards"][card]["name"] for dc in shown)
        # tables embed their database as it is now
        db = edits["databases"][0]
        assert all(t["db"]["updated_at"] == after["databases"][db]["updated_at"]
                   for t in after["tables"].values() if t["db_id"] == db)
        # the new name moves the card in the list, sorted by name as Metabase does
        names = [c["name"].lower() for c in Api(emu).get("/api/card")]
        assert names == sorted(names)


def test_collection_rename_stamps_nothing():
    """Collections have no updated_at: the cards in one show its new name, their stamps stay."""
    with Emulator(profile="v0.50", seed=4, scale=SMALL) as emu:
        before = snapshot(emu)
        cid = next(c["collection_id"] for c in before["cards"].values() if c["collection_id"])
        emu.edit("collections", [cid])
        after = snapshot(emu)
        assert_stamped(emu, before, after, {})
        moved = [c for c in after["cards"].values() if c["collection_id"] == cid]
        assert moved and all(c["collection"]["name"] == emu.model.collections[cid].name for c in moved)
        assert all(c["updated_at"] == before["cards"][c["id"]]["updated_at"] for c in moved)


# --- archive ----------------------------------------------------------------------------

@pytest.mark.parametrize("profile", EDIT_PROFILES)
def test_archive_and_unarchive(profile):
    with Emulator(profile=profile, seed=4, scale=SMALL) as emu:
        api = Api(emu)
        before = snapshot(emu)
        card = live_card_on_a_dashboard(emu)
        holders = {dc["dashboard_id"] for dc in before["dashboard_cards"].values() if dc["card_id"] == card}
        dash = next(d.id for d in emu.model.dashboards.values() if not d.archived and d.id not in holders
                    and not any(c.dashboard_id == d.id for c in emu.model.cards.values()))
        snippet = first(before["native_query_snippets"], archived=False)
        assert emu.archive("cards", [card]) == [card]
        assert emu.archive("dashboards", [dash]) == [dash]
        assert emu.archive("native_query_snippets", [snippet]) == [snippet]
        after = snapshot(emu)
        gone = {dcid for dcid, dc in before["dashboard_cards"].items() if dc["card_id"] == card}
        assert gone and not gone & set(after["dashboard_cards"])  # Metabase drops dashcards of archived cards
        assert_stamped(emu, before, after, {"cards": [card], "dashboards": [dash], "native_query_snippets": [snippet]})
        assert all(after["dashboards"][h]["updated_at"] == before["dashboards"][h]["updated_at"] for h in holders)
        assert card not in {c["id"] for c in api.get("/api/card")} and card not in emu.expected_ids("cards")
        assert card in {c["id"] for c in api.get("/api/card", f="archived")}
        assert dash not in {d["id"] for d in api.get("/api/dashboard")} and dash not in emu.expected_ids("dashboards")
        assert snippet not in {s["id"] for s in api.get("/api/native-query-snippet")}
        assert snippet not in emu.expected_ids("native_query_snippets")
        assert after["cards"][card]["archived"] and after["dashboards"][dash]["archived"]
        assert emu.archive("cards", [card]) == []  # already archived: Metabase writes nothing
        assert owned(snapshot(emu)) == owned(after)
        assert emu.unarchive("cards", [card]) == [card]
        back = snapshot(emu)
        assert_stamped(emu, after, back, {"cards": [card]})
        assert gone <= set(back["dashboard_cards"]) and card in emu.expected_ids("cards")


def test_archiving_a_dashboard_archives_its_questions_on_v057():
    with Emulator(profile="v0.57", seed=4, scale=SMALL) as emu:
        m = emu.model
        dash = next(c.dashboard_id for c in m.cards.values() if c.dashboard_id and not c.archived)
        questions = sorted(c.id for c in m.cards.values() if c.dashboard_id == dash and not c.archived)
        before = snapshot(emu)
        emu.archive("dashboards", [dash])
        after = snapshot(emu)
        assert_stamped(emu, before, after, {"dashboards": [dash], "cards": questions})
        assert all(after["cards"][q]["archived"] and not after["cards"][q]["archived_directly"] for q in questions)
        emu.unarchive("dashboards", [dash])
        assert set(questions) <= set(emu.expected_ids("cards"))


# --- add, delete -------------------------------------------------------------------------

@pytest.mark.parametrize("profile", EDIT_PROFILES)
def test_add_rows(profile):
    with Emulator(profile=profile, seed=4, scale=SMALL) as emu:
        before = snapshot(emu)
        added = {stream: emu.add(stream, 2) for stream in
                 ("cards", "dashboards", "users", "native_query_snippets", "databases", "tables")}
        dash = min(before["dashboards"])
        added["dashboard_cards"] = emu.add("dashboard_cards", 1, dashboard_id=dash)
        after = snapshot(emu)
        for stream, ids in added.items():
            assert len(ids) == len(set(ids)) and not set(ids) & set(before[stream]), stream
            assert set(ids) <= set(after[stream]), stream
            for i in ids:
                row = after[stream][i]
                created = row["date_joined"] if stream == "users" else row["created_at"]
                assert created == row["updated_at"] == emu.updated_at(stream, i)
                assert instant(row["updated_at"]) > max(instant(r["updated_at"]) for r in before[stream].values())
            if stream != "dashboard_cards":
                assert set(ids) <= set(emu.expected_ids(stream)), stream
        for db in added["databases"]:  # a new database comes with the tables its first sync found
            assert len([t for t in after["tables"].values() if t["db_id"] == db]) >= 2
        assert {after["tables"][t]["db_id"] for t in added["tables"]} == {max(added["databases"])}  # the newest
        assert set(emu.expected_ids("tables")) == set(after["tables"])
        # the new dashcard's card counts one dashboard more; no existing row got a stamp
        card = after["dashboard_cards"][added["dashboard_cards"][0]]["card_id"]
        assert after["cards"][card]["dashboard_count"] == before["cards"][card]["dashboard_count"] + 1
        before["cards"][card]["dashboard_count"] += 1
        assert_stamped(emu, before, after, {})
        assert_revised_only(before, after, dash)


@pytest.mark.parametrize("profile", EDIT_PROFILES)
def test_hard_delete_changes_no_timestamp(profile):
    with Emulator(profile=profile, seed=4, scale=SMALL) as emu:
        api = Api(emu)
        before = snapshot(emu)
        card = live_card_on_a_dashboard(emu)
        db = max(before["databases"])
        db_cards = {c["id"] for c in before["cards"].values() if c["database_id"] == db} - {card}
        table = next(t for t in before["tables"].values() if t["db_id"] != db)["id"]
        dash = next(d for d in before["dashboards"].values() if d["id"] not in
                    {dc["dashboard_id"] for dc in before["dashboard_cards"].values() if dc["card_id"] == card})["id"]
        dashcard = next(dc for dc in before["dashboard_cards"].values() if dc["dashboard_id"] not in (dash,))["id"]
        snippet = min(before["native_query_snippets"])
        assert emu.delete("cards", [card]) == [card]
        emu.delete("dashboards", [dash])
        emu.delete("dashboard_cards", [dashcard])
        emu.delete("native_query_snippets", [snippet])
        emu.delete("tables", [table])
        emu.delete("databases", [db])
        after = snapshot(emu)
        assert card not in after["cards"] and not db_cards & set(after["cards"])  # cards of the database go too
        assert not [dc for dc in after["dashboard_cards"].values() if dc["card_id"] == card]
        assert dash not in after["dashboards"] and dashcard not in after["dashboard_cards"]
        assert snippet not in after["native_query_snippets"] and db not in after["databases"]
        assert table not in after["tables"] and not [t for t in after["tables"].values() if t["db_id"] == db]
        for stream, rows in after.items():  # no remaining row carries another stamp
            assert {i: r["updated_at"] for i, r in rows.items()} == \
                {i: before[stream][i]["updated_at"] for i in rows}, stream
            if stream not in ("dashboard_cards",):
                assert set(emu.expected_ids(stream)) <= set(rows), stream
        assert card not in emu.expected_ids("cards") and db not in emu.expected_ids("databases")
        r = api.s.get(emu.base_url + "/api/card/%d" % card, verify=emu.ca_bundle, timeout=10)
        assert (r.status_code, r.text) == (404, "Not found.")
        with pytest.raises(ValueError):
            emu.delete("users", [4])  # Metabase only deactivates users
        with pytest.raises(ValueError):
            emu.delete("cards", [card])  # already gone


def test_dashcard_changes_leave_the_dashboard_stamp():
    """PUT /api/dashboard/:id writes dashcards as their own rows: the dashboard row is untouched
    (its updated_at stays), but the save is a new revision of the dashboard (last-edit-info)."""
    with Emulator(profile="v0.50", seed=4, scale=SMALL) as emu:
        before = snapshot(emu)
        dash = next(d["id"] for d in before["dashboards"].values() if not d["archived"] and
                    sum(dc["dashboard_id"] == d["id"] for dc in before["dashboard_cards"].values()) >= 2)
        first_dc, second_dc = sorted(i for i, dc in before["dashboard_cards"].items() if dc["dashboard_id"] == dash)[:2]
        card = min(i for i, c in before["cards"].items() if not c["archived"])
        new = emu.add("dashboard_cards", 1, dashboard_id=dash, card_id=card)
        emu.edit("dashboard_cards", [first_dc])
        emu.delete("dashboard_cards", [second_dc])
        after = snapshot(emu)
        removed_card = before["dashboard_cards"][second_dc]["card_id"]
        for cid, step in ((card, 1), (removed_card, -1)):  # counted by hydration: no stamp
            if cid is not None:
                before["cards"][cid]["dashboard_count"] += step
        assert_stamped(emu, before, after, {"dashboard_cards": [first_dc]})
        assert_revised_only(before, after, dash)
        assert after["dashboard_cards"][first_dc]["size_y"] == before["dashboard_cards"][first_dc]["size_y"] + 1
        assert new[0] in after["dashboard_cards"] and second_dc not in after["dashboard_cards"]
        assert after["dashboard_cards"][new[0]]["card_id"] == card


def test_deactivate_and_reactivate_users():
    with Emulator(profile="v0.50", seed=4, scale=SMALL) as emu:
        before = snapshot(emu)
        uid = first(before["users"], is_active=True, is_superuser=False)
        assert emu.deactivate([uid]) == [uid] and emu.deactivate([uid]) == []
        after = snapshot(emu)
        assert_stamped(emu, before, after, {"users": [uid]})
        assert after["users"][uid]["is_active"] is False
        assert emu.reactivate([uid]) == [uid] and snapshot(emu)["users"][uid]["is_active"] is True


# --- views and Metabase 0.52 -------------------------------------------------------------

@pytest.mark.parametrize("profile", ["v0.50", "v0.52"])
def test_views_stamp_updated_at_only_on_v052(profile):
    bumps = profile == "v0.52"
    with Emulator(profile=profile, seed=4, scale=SMALL) as emu:
        api = Api(emu)
        cards = {c["id"]: c for c in api.get("/api/card")}
        dashboards = {d["id"]: d for d in api.get("/api/dashboard")}
        cid, did = min(cards), min(dashboards)
        emu.view("cards", [cid])
        emu.view("dashboards", [did])
        card = next(c for c in api.get("/api/card") if c["id"] == cid)
        dash = next(d for d in api.get("/api/dashboard") if d["id"] == did)
        assert card["view_count"] == cards[cid]["view_count"] + 1
        assert dash["view_count"] == dashboards[did]["view_count"] + 1
        assert instant(dash["last_viewed_at"]) > instant(dashboards[did]["last_viewed_at"])
        assert (card["updated_at"] != cards[cid]["updated_at"]) is bumps
        assert (dash["updated_at"] != dashboards[did]["updated_at"]) is bumps
        if bumps:
            assert card["updated_at"] == emu.updated_at("cards", cid)
        else:  # nothing but the view bookkeeping moved
            assert {k: v for k, v in card.items() if k != "view_count"} == \
                {k: v for k, v in cards[cid].items() if k != "view_count"}

        # the detail GETs of a sync are views too on 0.52 (the answer still has the old stamp)
        other_card, other_dash = sorted(cards)[1], sorted(dashboards)[1]
        listed = {d["id"]: d["updated_at"] for d in api.get("/api/dashboard")}
        assert api.get("/api/dashboard/%d" % other_dash)["updated_at"] == listed[other_dash]
        assert api.get("/api/card/%d" % other_card)["updated_at"] == cards[other_card]["updated_at"]
        relisted = {d["id"]: d["updated_at"] for d in api.get("/api/dashboard")}
        card_now = next(c for c in api.get("/api/card") if c["id"] == other_card)["updated_at"]
        assert (relisted[other_dash] != listed[other_dash]) is bumps
        assert (card_now != cards[other_card]["updated_at"]) is bumps
        assert {i: s for i, s in relisted.items() if i != other_dash} == \
            {i: s for i, s in listed.items() if i != other_dash}
        if bumps:  # later than every stamp a sync could have taken as its cursor
            assert instant(relisted[other_dash]) > max(instant(s) for s in listed.values())


def test_v052_concurrent_detail_calls_are_deterministic():
    stamps = []
    for _ in range(2):
        with Emulator(profile="v0.52", seed=4, scale=SMALL) as emu:
            api = Api(emu)
            ids = [d["id"] for d in api.get("/api/dashboard")]
            errors = []

            def read(part):
                try:
                    s = Api(emu)
                    for i in part:
                        s.get("/api/dashboard/%d" % i)
                except Exception as e:  # asserted below, in the main thread
                    errors.append(e)
            threads = [threading.Thread(target=read, args=(ids[k::4],)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors
            stamps.append(api.raw("/api/dashboard"))
    assert stamps[0] == stamps[1]


# --- determinism, the clock, the control route -------------------------------------------

def _script(emu):
    emu.edit("cards", [1, 2, 3])
    emu.archive("cards", [4])
    emu.add("cards", 2)
    emu.add("dashboard_cards", 2, dashboard_id=1)
    emu.edit("dashboards", [1])
    emu.delete("dashboards", [2])
    emu.add("users")
    emu.edit("native_query_snippets", [1])
    emu.view("dashboards", [3])
    emu.add("databases")


def test_same_calls_same_content():
    bodies = []
    paths = ("/api/card", "/api/dashboard", "/api/dashboard/1", "/api/user", "/api/native-query-snippet",
             "/api/database", "/api/table")
    for script in (_script, _script, None):
        with Emulator(profile="v0.57", seed=9, scale=SMALL) as emu:
            if script:
                script(emu)
            api = Api(emu)
            bodies.append([api.raw(p) for p in paths])
    assert bodies[0] == bodies[1]
    assert all(a != b for a, b in zip(bodies[0][:4], bodies[2][:4]))


def test_change_clock_and_at():
    with Emulator(profile="v0.50", seed=4, scale=SMALL) as emu:
        generated = max(instant(r["updated_at"]) for rows in snapshot(emu).values() for r in rows.values())
        emu.edit("cards", [1])
        t1 = instant(emu.updated_at("cards", 1))
        assert t1 > generated + timedelta(hours=23)  # a day after all the generated history
        emu.edit("cards", [2])
        emu.edit("cards", [1])
        t2, t3 = instant(emu.updated_at("cards", 2)), instant(emu.updated_at("cards", 1))
        assert t1 < t2 < t3 and t3 - t1 < timedelta(seconds=3)
        assert any(re.search(r"\.\d+(Z|[+-]\d\d:\d\d)$", emu.updated_at("cards", i)) for i in (1, 2))  # fractional seconds
        # `at`: two rows in the same instant, given as a datetime, microseconds or a string
        at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        emu.edit("cards", [5, 6], at=at)
        assert instant(emu.updated_at("cards", 5)) == instant(emu.updated_at("cards", 6)) == at
        emu.edit("dashboards", [1], at=int(at.timestamp()) * 1_000_000)
        emu.edit("users", [1], at="2026-01-02T03:04:05Z")
        assert instant(emu.updated_at("dashboards", 1)) == instant(emu.updated_at("users", 1)) == at
        emu.edit("cards", [7])
        assert instant(emu.updated_at("cards", 7)) > at  # the clock goes on after `at`
        # reuse a stamp a sync could hold as its cursor: the row sends exactly that value again
        cursor = emu.updated_at("cards", 7)
        emu.edit("cards", [7], at=cursor)
        assert emu.updated_at("cards", 7) == cursor
        with pytest.raises(ValueError):
            emu.edit("cards", [1], at="yesterday")


def test_control_route():
    with Emulator(profile="v0.50", seed=4, scale=SMALL) as emu:
        before = snapshot(emu)
        r = control(emu, {"action": "edit", "stream": "cards", "ids": [1, 2]})
        assert r.status_code == 200 and r.json() == {"ids": [1, 2]}
        assert_stamped(emu, before, snapshot(emu), {"cards": [1, 2]})
        added = control(emu, {"action": "add", "stream": "dashboards", "count": 3}).json()["ids"]
        assert len(added) == 3 and set(added) <= set(emu.expected_ids("dashboards"))
        dc = control(emu, {"action": "add", "stream": "dashboard_cards", "count": 1, "dashboard_id": added[0]})
        assert dc.status_code == 200 and len(dc.json()["ids"]) == 1
        assert control(emu, {"action": "archive", "stream": "cards", "ids": [3]}).json() == {"ids": [3]}
        assert 3 not in emu.expected_ids("cards")
        assert control(emu, {"action": "unarchive", "stream": "cards", "ids": [3]}).json() == {"ids": [3]}
        assert control(emu, {"action": "delete", "stream": "cards", "ids": [3]}).json() == {"ids": [3]}
        assert control(emu, {"action": "view", "stream": "dashboards", "ids": [1]}).json() == {"ids": [1]}
        assert control(emu, {"action": "deactivate", "ids": [4]}).json() == {"ids": [4]}
        at = control(emu, {"action": "edit", "stream": "cards", "ids": [5], "at": "2026-02-03T04:05:06Z"})
        assert at.status_code == 200 and instant(emu.updated_at("cards", 5)) == instant("2026-02-03T04:05:06Z")
        for bad in ({"action": "rename", "stream": "cards", "ids": [1]}, {"action": "edit", "stream": "pulses"},
                    {"action": "edit", "stream": "cards", "ids": [99999]}, {"action": "delete", "stream": "users",
                                                                            "ids": [4]},
                    {"action": "add", "stream": "cards", "dashboard_id": 1}, {"stream": "cards"},
                    {"action": "edit", "stream": "cards", "ids": [1], "at": "soon"},
                    {"action": "edit", "stream": "cards", "ids": [1], "colour": "red"}):
            r = control(emu, bad)
            assert r.status_code == 400 and "error" in r.json(), bad
        r = requests.post(emu.base_url + "/__emulator__/changes", data=b"{not json", verify=emu.ca_bundle, timeout=10)
        assert r.status_code == 400


# --- timestamps on the wire ----------------------------------------------------------------

def _stamps(snap):
    return [r["updated_at"] for rows in snap.values() for r in rows.values()] + \
        [r.get("created_at") or r["date_joined"] for rows in snap.values() for r in rows.values()]


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_timestamp_forms_on_every_profile(profile):
    details = profile != "v0.52"
    with Emulator(profile=profile, seed=4, scale=SMALL) as emu:
        emu.configure(timestamp_offsets=False)
        plain = _stamps(snapshot(emu, details=details))
        assert not [s for s in plain if re.search(r"[+-]\d\d:\d\d$", s)]  # switched off: Z (and H2's none)
        emu.configure(timestamp_offsets=True)  # the default
        snap = snapshot(emu, details=details)
        stamps = _stamps(snap)
        zone = {"Z": r"Z$", "+00:00": r"\+00:00$", "-05:00": r"-05:00$", "none": r"T\d\d:\d\d:\d\d(\.\d+)?$"}
        found = {name: [s for s in stamps if re.search(rx, s)] for name, rx in zone.items()}
        assert found["Z"] and found["+00:00"] and found["-05:00"]
        assert bool(found["none"]) is (profile == "v0.40")  # zone-less: old H2-backed instances
        fraction = lambda s: re.search(r"T[\d:]{8}(\.(\d+))?", s).group(2) or ""  # noqa: E731
        digits = {len(fraction(s)) for s in stamps}
        assert {0, 3, 6} <= digits  # whole seconds, milliseconds, microseconds
        # another zone is the same instant: compare with the model (stored with <= 1 s precision loss)
        for row in emu.model.cards.values():
            sent = snap["cards"].get(row.id)
            if sent and sent["updated_at"].endswith("-05:00"):
                true = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=row.updated_at)
                assert timedelta(0) <= true - instant(sent["updated_at"]) < timedelta(seconds=1)
        emu.configure(timestamp_offsets=False)
        assert _stamps(snapshot(emu, details=details)) == plain
        emu.configure(timestamp_offsets=True)
        assert _stamps(snapshot(emu, details=details)) == stamps


def test_null_and_unparsable_updated_at():
    with Emulator(profile="v0.50", seed=4, scale=SMALL) as emu:
        api = Api(emu)
        before = snapshot(emu)
        emu.configure(null_updated_at_ids={"cards": [1], "dashboards": [1]},
                      garbage_updated_at_ids={"cards": [2], "users": [1]})
        assert emu.settings["null_updated_at_ids"] == {"cards": [1], "dashboards": [1]}
        after = snapshot(emu)
        assert after["cards"][1]["updated_at"] is None and after["dashboards"][1]["updated_at"] is None
        assert api.get("/api/card/1")["updated_at"] is None and api.get("/api/dashboard/1")["updated_at"] is None
        bad = after["cards"][2]["updated_at"]
        assert bad == after["users"][1]["updated_at"] == emu.updated_at("cards", 2)
        with pytest.raises(ValueError):
            instant(bad)
        for stream, rows in after.items():
            for i, row in rows.items():
                if (stream, i) not in {("cards", 1), ("cards", 2), ("dashboards", 1), ("users", 1)}:
                    assert own(stream, row) == own(stream, before[stream][i]), (stream, i)
        with pytest.raises(ValueError):
            emu.configure(null_updated_at_ids={"pulses": [1]})
        emu.configure(null_updated_at_ids={}, garbage_updated_at_ids={})
        assert owned(snapshot(emu)) == owned(before)


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_detail_reads_are_views_as_metabase_counts_them(profile):
    """metabase-api.md 10.1: a dashboard's detail is a view of it and, from 0.50, of each card on it
    once; a card's detail is a view unless it asks ignore_view=true (0.44+); lists are none."""
    with Emulator(profile=profile, seed=4, scale=SMALL) as emu:
        api = Api(emu)
        dash = next(d for d in emu.model.dashboards.values()
                    if not d.archived and len({dc.card_id for dc in d.dashcards if dc.card_id}) > 1)
        on_it = {dc.card_id for dc in dash.dashcards if dc.card_id in emu.model.cards}
        card = min(emu.model.cards)
        listed = {c["id"]: c for c in api.get("/api/card")}
        emu.clear_requests()
        api.get("/api/card"), api.get("/api/dashboard")
        assert emu.views() == {}
        api.get("/api/dashboard/%d" % dash.id)
        expected = {"dashboards": {dash.id: 1}}
        if profile != "v0.40":
            expected["cards"] = {cid: 1 for cid in sorted(on_it)}
        assert emu.views() == expected
        emu.land_views()  # Metabase's background batch
        relisted = {c["id"]: c for c in api.get("/api/card")}
        for cid in on_it:  # what Metabase shows moves with it (0.50+), nothing else
            assert relisted[cid].get("view_count") == (listed[cid]["view_count"] + 1 if profile != "v0.40"
                                                       else listed[cid].get("view_count"))
        emu.clear_requests()
        api.get("/api/card/%d" % card, ignore_view="true")
        assert emu.views() == ({} if profile != "v0.40" else {"cards": {card: 1}})
        api.get("/api/card/%d" % card)
        assert emu.views()["cards"][card] == (1 if profile != "v0.40" else 2)
