"""Question alerts: `GET /api/alert` (metabase-api.md sections 9.5 and 10.3).

Alerts are rows of the pulse table with `alert_condition` set (Model.pulses; GET /api/pulse never
lists them). This module adds a few more of them to the model, with what only alerts have (goal
direction, "first time only", and, from Metabase 0.54, the id of the notification the alert became),
decides who sees which, and renders them as each version sends them:
- up to 0.47 any user who can read the alert's card sees it; from 0.48 (metabase#34067) admins see
  every alert and other users those they created or receive;
- `?archived=true` lists the archived ones instead of the live ones;
- from 0.54 alerts are notifications (notifications.py, which serves GET /api/alert from then on
  as Metabase's shim builds it): `id` is the notification's id (another sequence than the
  pulses'), which this module assigns, and who sees which is unchanged.
An alert on an archived card is still listed (its card then only comes with include_archived).
The pattern of a module per kind: make_alerts is a step of generate.py, alert_list a route of
routes.py, the alerts' ids a stream of expected.py."""

from __future__ import annotations

from dataclasses import dataclass

from .draw import nano, seeded, ts_around
from .rows import Pulse, PulseChannel
from .visibility import can_read, viewer_of

# Metabase seeds a few system-event notifications before any alert is migrated: the alerts'
# notification ids start after them (the count is the emulator's choice).
SYSTEM_NOTIFICATIONS = 3


@dataclass(slots=True, frozen=True)
class AlertExtra:
    notification_id: int  # the id from Metabase 0.54 on
    above_goal: bool | None  # goal alerts only
    first_only: bool


def make_alerts(model) -> None:
    """More alerts than make_pulses' two, each case the connector must meet: the analyst's own,
    one the analyst receives, one the analyst can read but neither made nor receives, one on a card
    the analyst cannot read, one on an archived card, two archived; recipients being users (a
    deactivated one among them at times: not listed) and raw addresses."""
    rng = seeded(model.seed, "alerts")
    people = model.people()
    active = [u for u in people if u.is_active]
    admin, analyst = model.users[1], model.users[2]
    v = viewer_of(model, analyst)
    live = [c for c in model.cards.values() if not c.archived]
    readable = [c for c in live if can_read(v, c.collection_id)] or live
    unreadable = [c for c in live if not can_read(v, c.collection_id)] or live
    archived_cards = [c for c in model.cards.values() if c.archived]
    if not live:
        model.alert_extras = {}
        return
    next_id = max(model.pulses, default=0) + 1
    next_channel = max((ch.id for p in model.pulses.values() for ch in p.channels), default=0) + 1
    cases = [  # (creator, card, the analyst receives it, archived)
        (analyst, rng.choice(readable), False, False),
        (admin, rng.choice(readable), True, False),
        (admin, rng.choice(readable), False, False),
        (admin, rng.choice(unreadable), False, False),
        (rng.choice(active), rng.choice(archived_cards or live), False, False),
        (rng.choice(active), rng.choice(live), True, True),
        (admin, rng.choice(live), False, True),
    ] + [(rng.choice(active), rng.choice(live), rng.random() < 0.3, False)
         for _ in range(max(0, model.scale.subscriptions - 7))]
    for n, (creator, card, to_analyst, archived) in enumerate(cases):
        created = ts_around(rng, rng.uniform(0.4, 0.97))
        stype = rng.choice(["hourly", "daily", "weekly"])
        channel = PulseChannel(next_channel + n, "email", stype, None if stype == "hourly" else rng.randint(0, 23),
                               rng.choice(["mon", "wed", "fri"]) if stype == "weekly" else None, None,
                               nano(rng), created, created + rng.randint(0, 10**11))
        others = [u for u in people if u.id != analyst.id]
        users = {u.id for u in rng.sample(others, min(len(others), rng.randint(1, 2)))}
        channel.user_ids = sorted(users | ({analyst.id} if to_analyst else set()))
        channel.emails = rng.choice([[], ["oncall@example.com"], ["ops@example.com", "cfo@example.org"]])
        pid = next_id + n
        model.pulses[pid] = Pulse(pid, None, creator.id, created, created + rng.randint(0, 10**12), nano(rng),
                                  card.collection_id, None, rng.choice(["rows", "goal"]), [(card.id, None)],
                                  [channel], skip_if_empty=True, archived=archived)
    # Notification ids: the migration numbered the alerts in the order they were created.
    alerts = sorted((p for p in model.pulses.values() if p.alert_condition), key=lambda p: (p.created_at, p.id))
    model.alert_extras = {
        p.id: AlertExtra(SYSTEM_NOTIFICATIONS + n, rng.random() < 0.5 if p.alert_condition == "goal" else None,
                         rng.random() < 0.4)
        for n, p in enumerate(alerts, 1)}


def listed_alerts(model, profile, viewer, archived: bool = False) -> list:
    """The alert rows GET /api/alert(?archived=true) lists to `viewer`, in Metabase's order (id)."""
    out = []
    for p in model.pulses.values():
        if not p.alert_condition or p.archived != archived:
            continue
        card = model.cards.get(p.cards[0][0]) if p.cards else None
        if card is None:
            continue  # deleted with its card
        if not viewer.superuser:
            if profile.since(48):
                receives = any(viewer.user.id in ch.user_ids for ch in p.channels)
                if p.creator_id != viewer.user.id and not receives:
                    continue
            elif not can_read(viewer, card.collection_id):
                continue
        out.append(p)
    return sorted(out, key=lambda p: alert_id(model, profile, p))


def alert_id(model, profile, pulse) -> int:
    """The id GET /api/alert gives the alert: the pulse's, or from 0.54 its notification's."""
    return model.alert_extras[pulse.id].notification_id if profile.since(54) else pulse.id


def render_alert(render, pulse, viewer) -> dict:
    """The alert as Render.pulse sends it, with `card` (one) instead of `cards` and the alert's keys."""
    m = render.m
    extra = m.alert_extras[pulse.id]
    d = render.pulse(pulse, viewer)
    for key in ("cards", "dashboard_id", "dashboard"):
        d.pop(key, None)
    card = m.cards[pulse.cards[0][0]]
    d.update({
        "id": pulse.id, "name": None, "alert_condition": pulse.alert_condition,
        "alert_above_goal": extra.above_goal, "alert_first_only": extra.first_only,
        "card": {"id": card.id, "include_csv": False, "include_xls": card.id % 4 == 0, "dashboard_card_id": None},
        "can_write": viewer.superuser or pulse.creator_id == viewer.user.id,
    })
    for channel in d["channels"]:
        channel["pulse_id"] = d["id"]
    return d


def alert_list(routes, req):
    """GET /api/alert up to 0.53: a bare array (from 0.54 notifications.alert_list answers)."""
    archived = req.flag("archived")
    return routes.cached(req, lambda: [render_alert(routes.r, a, req.viewer)
                                       for a in listed_alerts(routes.m, routes.p, req.viewer, archived)])
