"""The emulator's notifications (notifications.py): GET /api/notification(/:id) on 0.54+ and the
GET /api/alert shim Metabase builds from them (metabase-api.md 9.5, 10.3, 11.2)."""

import pytest

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.metabase_emulator import notifications
from integration_tests.test_emulator import as_user

CARD = {"payload_type": "notification/card", "include_inactive": "true"}
SHIM_KEYS = {"id", "creator_id", "creator", "created_at", "updated_at", "name", "alert_condition", "alert_above_goal",
             "alert_first_only", "archived", "collection_position", "collection_id", "skip_if_empty", "parameters",
             "dashboard_id", "card", "channels"}
USER_KEYS = {"email", "last_name", "first_name", "id", "common_name"}


@pytest.fixture(scope="module", params=["v0.57", "v0.64"])
def emu(request):
    with Emulator(profile=request.param, seed=1, scale=Scale(cards=60)) as emulator:
        yield emulator


def alert_rows(model):
    return {model.alert_extras[p.id].notification_id: p for p in model.pulses.values()
            if p.alert_condition and p.cards[0][0] in model.cards}


def test_card_notifications_are_the_alerts_as_054_stores_them(emu):
    model = emu.model
    listed = as_user(emu).get("/api/notification", params=CARD).json()
    rows = alert_rows(model)
    assert [n["id"] for n in listed] == sorted(rows)
    for n in listed:
        p = rows[n["id"]]
        assert n["payload"]["card_id"] == p.cards[0][0] == n["payload"]["card"]["id"] and n["payload_id"]
        assert "creator" not in n["payload"]["card"] and "collection" not in n["payload"]["card"]
        assert (n["creator_id"], n["creator"]["id"], n["active"]) == (p.creator_id, p.creator_id, not p.archived)
        assert (n["payload"]["send_condition"] == "has_result") == (p.alert_condition == "rows")
        assert n["payload"]["send_once"] == model.alert_extras[p.id].first_only
        handlers = [(h["channel_type"], h["active"]) for h in n["handlers"]]
        migrated = [("channel/" + ch.channel_type, not p.archived) for ch in p.channels]
        assert handlers[:len(migrated)] == migrated and set(handlers[len(migrated):]) <= {("channel/slack", True)}
        recipients = [r for h in n["handlers"] for r in h["recipients"]]
        assert {r["user_id"] for r in recipients if r["type"] == notifications.USER} == \
            {u for ch in p.channels for u in ch.user_ids}
        assert sorted(r["details"]["value"] for h in n["handlers"] if h["channel_type"] == "channel/email"
                      for r in h["recipients"] if r["type"] == notifications.RAW) == \
            sorted(e for ch in p.channels for e in ch.emails)
        for r in recipients:
            if r["type"] == notifications.USER:
                assert (r["user"] is None) == (not model.users[r["user_id"]].is_active)
        assert all(s["type"] == "notification-subscription/cron" and s["cron_schedule"] for s in n["subscriptions"])
    kinds = {r["type"] for n in listed for h in n["handlers"] for r in h["recipients"]}
    assert {notifications.USER, notifications.RAW, notifications.GROUP} <= kinds
    assert any(h["channel_type"] == "channel/slack" for n in listed for h in n["handlers"])
    assert any(r["type"] == notifications.USER and r["user"] is None for n in listed for h in n["handlers"]
               for r in h["recipients"]), "a deactivated recipient: user null"


def test_the_list_filters_and_who_sees_which(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model = emu.model
    everything = admin.get("/api/notification", params={"include_inactive": "true"}).json()
    live = admin.get("/api/notification").json()
    assert [n["id"] for n in live] == [n["id"] for n in everything if n["active"]] and len(live) < len(everything)
    system = admin.get("/api/notification", params={"payload_type": "notification/system-event"}).json()
    assert [n["id"] for n in system] == [1, 2, 3] and all(n["payload"] is None and n["creator"] is None for n in system)
    assert {r["type"] for n in system for h in n["handlers"] for r in h["recipients"]} == \
        {notifications.TEMPLATE, notifications.GROUP}
    for name, value in (("creator_id", 2), ("recipient_id", 2), ("creator_or_recipient_id", 2)):
        got = admin.get("/api/notification", params={name: value, "include_inactive": "true"}).json()
        people = lambda n: {r["user_id"] for h in n["handlers"] for r in h["recipients"]}  # noqa: E731
        want = {"creator_id": lambda n: n["creator_id"] == 2, "recipient_id": lambda n: 2 in people(n),
                "creator_or_recipient_id": lambda n: n["creator_id"] == 2 or 2 in people(n)}[name]
        assert got and [n["id"] for n in got] == [n["id"] for n in everything if want(n)]
    card = everything[-1]["payload"]["card_id"]
    assert {n["payload"]["card_id"] for n in admin.get("/api/notification", params={"card_id": card}).json()} <= {card}
    mine = analyst.get("/api/notification", params={"include_inactive": "true"}).json()
    assert mine and all(n["creator_id"] == 2 or 2 in people(n) for n in mine) and len(mine) < len(everything)
    v = model.viewer(model.users[2])
    assert [n["id"] for n in mine] == [n.id for n in notifications.listed(model, v, include_inactive=True)]
    # a group the analyst is in mails one alert: no recipient for who may read it
    grouped = [n for n in everything
               if any(r["permissions_group_id"] == 3 for h in n["handlers"] for r in h["recipients"])]
    assert grouped and not {n["id"] for n in grouped} & {n["id"] for n in mine}
    assert admin.get("/api/notification", params={"payload_type": "notification/pulse"}).status_code == 400
    assert admin.get("/api/notification", params={"creator_id": "zero"}).status_code == 400
    one = everything[4]
    assert admin.get("/api/notification/%d" % one["id"]).json() == one
    assert analyst.get("/api/notification/%d" % grouped[0]["id"]).status_code == 403
    assert analyst.get("/api/notification/%d" % mine[0]["id"]).status_code == 200
    assert admin.get("/api/notification/99999").status_code == 404


def test_the_alert_shim_is_notification_to_pulse(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    source = {n["id"]: n for n in admin.get("/api/notification", params=CARD).json()}
    live, archived = admin.get("/api/alert").json(), admin.get("/api/alert", params={"archived": "true"}).json()
    assert [a["id"] for a in live] == [i for i, n in source.items() if n["active"]] == emu.expected_ids("alerts")
    assert [a["id"] for a in archived] == [i for i, n in source.items() if not n["active"]]
    for a in live + archived:
        n = source[a["id"]]
        card = n["payload"]["card"]
        assert set(a) == SHIM_KEYS and "id" not in a["card"]
        assert {k: a["card"][k] for k in ("name", "description", "collection_id", "display")} == \
            {k: card[k] for k in ("name", "description", "collection_id", "display")}
        assert (a["name"], a["collection_id"], a["dashboard_id"], a["skip_if_empty"], a["parameters"]) == \
            (None, None, None, True, [])
        assert (a["archived"], a["alert_first_only"]) == (not n["active"], n["payload"]["send_once"])
        cond = n["payload"]["send_condition"]
        assert (a["alert_condition"], a["alert_above_goal"]) == \
            ("rows" if cond == "has_result" else "goal", True if cond == "goal_above" else None)
        first = notifications.schedule(n["subscriptions"][0]["cron_schedule"])
        assert [c["id"] for c in a["channels"]] == [h["id"] for h in n["handlers"]]
        for ch, h in zip(a["channels"], n["handlers"]):
            assert {k: ch[k] for k in first} == first and ch["enabled"] == h["active"]
            values = [r["details"]["value"] for r in h["recipients"] if r["type"] == notifications.RAW]
            users = [{k: r["user"][k] for k in USER_KEYS} if r["user"] else {}
                     for r in h["recipients"] if r["type"] == notifications.USER]
            if ch["channel_type"] == "email":
                assert ch["recipients"] == [{"email": v} for v in values] + users
                assert ch["details"] == {"emails": values}
            else:
                assert ch["recipients"] == [] and ch["details"] == {"channel": values[0]}
    assert any({} in ch["recipients"] for a in live for ch in a["channels"]), "a deactivated user: {} (select-keys nil)"
    mine = analyst.get("/api/alert").json()
    assert [a["id"] for a in mine] == emu.expected_ids("alerts", "analyst") and mine
    assert analyst.get("/api/alert", params={"user_id": 1}).json() == mine  # ignored for non-admins
    by_user = admin.get("/api/alert", params={"user_id": 2}).json()
    assert [a["id"] for a in by_user] == [a["id"] for a in mine]


@pytest.mark.parametrize("schedule", [
    ("hourly", None, None, None), ("daily", 0, None, None), ("daily", 3, None, None), ("weekly", 16, "tue", None),
    ("monthly", 17, "mon", "first"), ("monthly", 23, "fri", "last"), ("monthly", 17, None, "mid"),
    ("monthly", 0, None, "first"), ("monthly", 0, None, "last")])
def test_schedules_make_the_round_trip_through_quartz_cron(schedule):
    """As metabase.util.cron-test: a pulse channel's schedule to its cron and back."""
    stype, hour, day, frame = schedule
    cron = notifications.cron(stype, hour, day, frame)
    assert notifications.schedule(cron) == {"schedule_type": stype, "schedule_hour": hour, "schedule_day": day,
                                            "schedule_frame": frame}
    assert notifications.cron("weekly", 16, "tue", None) == "0 0 16 ? * 3 *"
    assert notifications.cron("monthly", 17, "mon", "first") == "0 0 17 ? * 2#1 *"
    assert notifications.schedule(notifications.cron("monthly", 9, "wed", "mid"))["schedule_day"] is None
