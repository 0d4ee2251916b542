"""Alerts as notifications (Metabase 0.54+): `GET /api/notification(/:id)` and the `GET /api/alert`
shim built from them (metabase-api.md sections 9.5, 10.3 and 11.2).

From 0.54 an alert is a row of the notification table (payload_type "notification/card") with
a notification_card payload (card_id, send_condition, send_once), cron subscriptions and handlers
(one per old channel) whose recipients are users, groups or raw values. make_notifications
describes the alerts alerts.py made, as the 0.54 migration left them: the same card, creator,
recipients and timestamps, `active` = not archived, the notification ids alerts.py assigned, after
the system-event notifications Metabase seeds first (src/metabase/notification/seed.clj). Set up
since, as only the notification API can: one live alert also mails a group (a group is no
recipient for who may read it: models.clj `current-user-is-recipient?` reads user ids only), and
if no alert posts to Slack, the newest live one does.

Shapes: the notification as `hydrate-notification` builds it (src/metabase/notification/db.clj,
models.clj: creator, payload with its card row, subscriptions, handlers with channel, template and
recipients, user recipients with their active user or null); the shim as `notification->pulse`
builds it (src/metabase/pulse/api/alert.clj): no card id, name null, the schedule of the first
subscription on every channel, a deactivated user recipient sent as {} (select-keys of nil).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

from .alerts import SYSTEM_NOTIFICATIONS
from .draw import seeded, ts_around
from .rows import ADMINISTRATORS, ANALYSTS, GROUP_NAMES
from .web import FORBIDDEN, HttpError, json_response

CARD, SYSTEM = "notification/card", "notification/system-event"
PAYLOAD_TYPES = (SYSTEM, "notification/dashboard", CARD, "notification/testing")  # models.clj notification-types
USER, GROUP, RAW, TEMPLATE = ("notification-recipient/" + t for t in ("user", "group", "raw-value", "template"))
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # Quartz numbers them 1-7
# The first seeded notifications of 0.54 (seed.clj): internal id, event, template, recipients.
SEEDS = (
    ("user-invited", "event/user-invited", "User joined Email template", "new_user_invite",
     "{{payload.custom.user_invited_email_subject}}", [("{{payload.event_info.object.email}}", None)]),
    ("alert-new-confirmation", "event/notification-create", "Notification Card Created Confirmation",
     "notification_card_new_confirmation", "You set up an alert",
     [("{{payload.event_info.object.creator.email}}", None)]),
    ("slack-token-error", "event/slack-token-invalid", "Slack Token Error Email template", "slack_token_error",
     "Your Slack connection stopped working", [("{{context.admin_email}}", True), (None, ADMINISTRATORS)]),
)


@dataclass(slots=True)
class Recipient:
    id: int
    type: str
    user_id: int | None = None
    group_id: int | None = None
    details: dict | None = None


@dataclass(slots=True)
class Handler:
    id: int
    channel_type: str  # "channel/email" | "channel/slack"
    active: bool
    created_at: int
    updated_at: int
    recipients: list = dc_field(default_factory=list)
    template: dict | None = None  # {id, name, details} of a system notification's email template


@dataclass(slots=True)
class Notification:
    id: int
    payload_type: str
    creator_id: int | None
    created_at: int
    updated_at: int
    pulse_id: int | None = None  # the alert (a pulse row) it was migrated from
    payload_id: int | None = None
    send_condition: str | None = None  # has_result | goal_above | goal_below
    send_once: bool = False
    subscriptions: list = dc_field(default_factory=list)  # [(id, cron_schedule | None, event_name | None)]
    handlers: list = dc_field(default_factory=list)


def cron(stype: str, hour, day, frame) -> str:
    """The Quartz cron a pulse channel's schedule became (metabase.util.cron schedule-map->cron-string)."""
    if stype == "hourly":
        return "0 0 * * * ? *"
    if stype == "daily":
        return "0 0 %d * * ? *" % hour
    if stype == "weekly":
        return "0 0 %d ? * %d *" % (hour, DAYS.index(day) + 1)
    if frame == "mid":
        return "0 0 %d 15 * ? *" % hour
    if day:
        return "0 0 %d ? * %d%s *" % (hour, DAYS.index(day) + 1, "#1" if frame == "first" else "L")
    return "0 0 %d %s * ? *" % (hour, "1" if frame == "first" else "L")


def schedule(cron_schedule: str) -> dict:
    """cron-string->schedule-map: the four schedule_* keys the shim puts on every channel."""
    _, _, hour, dom, _, dow, _ = cron_schedule.split()
    out = dict.fromkeys(("schedule_type", "schedule_hour", "schedule_day", "schedule_frame"))
    if hour == "*":
        return dict(out, schedule_type="hourly")
    out["schedule_hour"] = int(hour)
    if dom in ("1", "15", "L"):
        return dict(out, schedule_type="monthly", schedule_frame={"1": "first", "15": "mid", "L": "last"}[dom])
    if dow == "?":
        return dict(out, schedule_type="daily")
    day = DAYS[int(dow.rstrip("L").split("#")[0]) - 1]
    if dow[-1] == "L" or "#" in dow:
        return dict(out, schedule_type="monthly", schedule_day=day,
                    schedule_frame="last" if dow[-1] == "L" else "first")
    return dict(out, schedule_type="weekly", schedule_day=day)


# --- generation ----------------------------------------------------------------------------

class _Ids:
    __slots__ = ("payload", "subscription", "handler", "recipient")

    def __init__(self):
        self.payload = self.subscription = self.handler = self.recipient = 0

    def next(self, kind: str) -> int:
        setattr(self, kind, getattr(self, kind) + 1)
        return getattr(self, kind)


def make_notifications(model) -> None:
    """The system notifications, then every alert as the 0.54 migration stored it (by notification id)."""
    rng = seeded(model.seed, "notifications")
    ids = _Ids()
    seeded_at = ts_around(rng, 0.9)
    for n, (_, event, name, path, subject, recipients) in enumerate(SEEDS[:SYSTEM_NOTIFICATIONS], 1):
        h = Handler(ids.next("handler"), "channel/email", True, seeded_at, seeded_at, template={
            "id": n, "name": name, "details": {"type": "email/handlebars-resource", "subject": subject,
                                               "path": path, "recipient-type": "cc"}})
        for pattern, extra in recipients:
            h.recipients.append(Recipient(ids.next("recipient"), TEMPLATE, details={"pattern": pattern, **(
                {"is_optional": True} if extra is True else {})}) if pattern else
                Recipient(ids.next("recipient"), GROUP, group_id=extra))
        model.notifications[n] = Notification(n, SYSTEM, None, seeded_at, seeded_at, subscriptions=[
            (ids.next("subscription"), None, event)], handlers=[h])
    extras = model.alert_extras
    analyst = model.users[2].id
    grouped = False
    for pid in sorted(extras, key=lambda p: extras[p].notification_id):
        p, extra = model.pulses[pid], extras[pid]
        goal = "goal_above" if extra.above_goal else "goal_below"
        n = Notification(extra.notification_id, CARD, p.creator_id, p.created_at, p.updated_at, pulse_id=pid,
                         payload_id=ids.next("payload"), send_once=extra.first_only,
                         send_condition="has_result" if p.alert_condition == "rows" else goal)
        crons = []
        for ch in p.channels:
            c = cron(ch.schedule_type, ch.schedule_hour, ch.schedule_day, ch.schedule_frame)
            if c not in crons:
                crons.append(c)
            h = Handler(ids.next("handler"), "channel/" + ch.channel_type, not p.archived, ch.created_at, ch.updated_at)
            if ch.channel_type == "email":
                h.recipients = [Recipient(ids.next("recipient"), USER, user_id=u) for u in ch.user_ids] + \
                    [Recipient(ids.next("recipient"), RAW, details={"value": e}) for e in ch.emails]
                # the first live alert the analyst neither made nor receives mails the Analysts group too
                if not grouped and not p.archived and p.creator_id != analyst and \
                        not any(analyst in other.user_ids for other in p.channels):
                    h.recipients.append(Recipient(ids.next("recipient"), GROUP, group_id=ANALYSTS))
                    grouped = True
            else:
                h.recipients = [Recipient(ids.next("recipient"), RAW, details={"value": ch.details.get("channel")})]
            n.handlers.append(h)
        n.subscriptions = [(ids.next("subscription"), c, None) for c in crons]
        model.notifications[n.id] = n
    alerts = [n for n in model.notifications.values() if n.pulse_id and not model.pulses[n.pulse_id].archived]
    if alerts and not any(h.channel_type == "channel/slack" for n in alerts for h in n.handlers):
        n = alerts[-1]  # no migrated alert posts to Slack: the newest live one does, as set up since
        h = Handler(ids.next("handler"), "channel/slack", True, n.updated_at, n.updated_at)
        h.recipients = [Recipient(ids.next("recipient"), RAW, details={"value": rng.choice(["#data-alerts", "#exec"])})]
        n.handlers.append(h)


# --- visibility ----------------------------------------------------------------------------

def card_id(m, n) -> int | None:
    return m.pulses[n.pulse_id].cards[0][0] if n.pulse_id else None


def active(m, n) -> bool:
    return not m.pulses[n.pulse_id].archived if n.pulse_id else True


def recipient_ids(n) -> set:
    return {r.user_id for h in n.handlers for r in h.recipients if r.user_id is not None}


def listed(m, viewer, payload_type=None, include_inactive=False, creator_id=None, recipient_id=None,
           creator_or_recipient_id=None, card=None, only_active=None) -> list:
    """GET /api/notification's rows for `viewer`, in id order (list-notifications: the filters, then
    can-read?: superusers, the creator, a recipient). `only_active` is the shim's legacy-active."""
    out = []
    for n in sorted(m.notifications.values(), key=lambda n: n.id):
        cid = card_id(m, n)
        if n.pulse_id and cid not in m.cards:
            continue  # deleted with its card
        people = recipient_ids(n)
        if only_active is not None:
            if active(m, n) != only_active:
                continue
        elif not include_inactive and not active(m, n):
            continue
        if (payload_type and n.payload_type != payload_type) or (card and cid != card) or \
                (creator_id and n.creator_id != creator_id) or (recipient_id and recipient_id not in people) or \
                (creator_or_recipient_id and n.creator_id != creator_or_recipient_id
                 and creator_or_recipient_id not in people):
            continue
        if can_read(viewer, n):
            out.append(n)
    return out


def can_read(viewer, n) -> bool:
    return viewer.superuser or n.creator_id == viewer.user.id or viewer.user.id in recipient_ids(n)


# --- rendering -----------------------------------------------------------------------------

def _user(render, uid):
    """A user recipient's `user`: active users only (recipients-detail), else null."""
    return render.creator(uid) if render.m.users[uid].is_active else None


def _group(render, gid):
    """hydrate-group-members: the group with its active members by first and last name."""
    m = render.m
    membership = {(u, g): mid for mid, u, g in m.memberships}
    members = sorted((u for u in m.people() if gid in u.group_ids and u.is_active),
                     key=lambda u: ((u.first_name or "").lower(), (u.last_name or "").lower()))
    return {"id": gid, "name": GROUP_NAMES[gid], "members": [
        {"id": u.id, "user_id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email,
         "is_superuser": u.is_superuser, "group_id": gid, "membership_id": membership.get((u.id, gid))}
        for u in members]}


def render_notification(api, n) -> dict:
    r, m = api.r, api.m
    at = r.ts(n.created_at, n.id)
    payload = None
    if n.payload_type == CARD:
        card = {k: v for k, v in api.card_dict(card_id(m, n)).items() if k not in ("creator", "collection",
                                                                                  "last-edit-info")}
        payload = {"id": n.payload_id, "card_id": card["id"], "send_condition": n.send_condition,
                   "send_once": n.send_once, "created_at": at, "updated_at": r.ts(n.updated_at, n.id), "card": card}
    handlers = []
    for h in n.handlers:
        recipients = []
        for x in h.recipients:
            d = {"id": x.id, "notification_handler_id": h.id, "type": x.type, "user_id": x.user_id,
                 "permissions_group_id": x.group_id, "details": x.details, "created_at": at, "updated_at": at}
            if x.type == USER:
                d["user"] = _user(r, x.user_id)
            elif x.type == GROUP:
                d["permissions_group"] = _group(r, x.group_id)
            recipients.append(d)
        template = dict(h.template, channel_type="channel/email", created_at=at, updated_at=at) if h.template else None
        handlers.append({"id": h.id, "notification_id": n.id, "channel_type": h.channel_type, "channel_id": None,
                         "template_id": h.template["id"] if h.template else None, "active": h.active,
                         "created_at": r.ts(h.created_at, h.id), "updated_at": r.ts(h.updated_at, h.id),
                         "channel": None, "template": template, "recipients": recipients})
    return {"id": n.id, "payload_type": n.payload_type, "payload_id": n.payload_id, "active": active(m, n),
            "creator_id": n.creator_id, "creator": r.creator(n.creator_id) if n.creator_id else None,
            "created_at": at, "updated_at": r.ts(n.updated_at, n.id), "payload": payload,
            "subscriptions": [{"id": sid, "notification_id": n.id, "type": "notification-subscription/" + (
                "cron" if c else "system-event"), "cron_schedule": c, "event_name": e,
                "ui_display_type": "cron/builder" if c else None, "created_at": at} for sid, c, e in n.subscriptions],
            "handlers": handlers}


def render_shim(api, n) -> dict:
    """notification->pulse: the alert as GET /api/alert sends it from 0.54 on."""
    r, m = api.r, api.m
    card = m.cards[card_id(m, n)]
    first = schedule(n.subscriptions[0][1]) if n.subscriptions else {}
    channels = []
    for h in n.handlers:
        users = [{k: u[k] for k in ("email", "last_name", "first_name", "id", "common_name")} if u else {}
                 for u in (_user(r, x.user_id) for x in h.recipients if x.type == USER)]
        values = [x.details for x in h.recipients if x.type == RAW]
        email = h.channel_type == "channel/email"
        details = {"emails": [v["value"] for v in values]} if email else \
            {"channel": values[0]["value"] if values else None} if h.channel_type == "channel/slack" else {}
        channels.append(dict(first, id=h.id, channel_type=h.channel_type.split("/")[1], channel_id=None,
                             enabled=h.active, details=details,
                             recipients=[{"email": v["value"]} for v in values] + users if email else []))
    return {"id": n.id, "creator_id": n.creator_id, "creator": r.creator(n.creator_id),
            "created_at": r.ts(n.created_at, n.id), "updated_at": r.ts(n.updated_at, n.id), "name": None,
            "alert_condition": "rows" if n.send_condition == "has_result" else "goal",
            "alert_above_goal": True if n.send_condition == "goal_above" else None, "alert_first_only": n.send_once,
            "archived": not active(m, n), "collection_position": None, "collection_id": None, "skip_if_empty": True,
            "parameters": [], "dashboard_id": None,
            "card": {"name": card.name, "description": card.description, "collection_id": card.collection_id,
                     "display": card.display, "format_rows": True, "include_xls": False, "include_csv": True,
                     "pivot_results": False, "dashboard_id": None, "dashboard_card_id": None,
                     "parameter_mappings": None},
            "channels": channels}


# --- handlers ------------------------------------------------------------------------------

def _positive(req, name):
    v = req.get(name)
    if v is None:
        return None
    if not v.isdigit() or int(v) < 1:
        message = "value must be an integer greater than zero."
        raise HttpError(400, {"errors": {name: message}, "specific-errors": {name: ["%s, received: %s" % (message, v)]}})
    return int(v)


def notification_list(api, req):
    """GET /api/notification: a bare array, no paging (notification/api/notification.clj)."""
    ptype = req.get("payload_type")
    if ptype is not None and ptype not in PAYLOAD_TYPES:
        raise HttpError(400, {"errors": {"payload_type": "nullable enum of %s" % ", ".join(PAYLOAD_TYPES)}})
    filters = dict(payload_type=ptype, include_inactive=req.flag("include_inactive"), card=_positive(req, "card_id"),
                   **{k: _positive(req, k) for k in ("creator_id", "recipient_id", "creator_or_recipient_id")})
    return api.cached(req, lambda: [render_notification(api, n) for n in listed(api.m, req.viewer, **filters)])


def notification_detail(api, req, nid):
    n = api.m.notifications.get(int(nid))
    if n is None or (n.pulse_id and card_id(api.m, n) not in api.m.cards):
        raise HttpError(404, "Not found.")
    if not can_read(req.viewer, n):
        raise HttpError(403, FORBIDDEN)
    return json_response(render_notification(api, n))


def alert_list(api, req):
    """GET /api/alert from 0.54: active card notifications (archived=true: inactive ones) of the caller
    (admins: all, or `user_id`'s), through notification->pulse."""
    archived = req.flag("archived")
    user_id = _positive(req, "user_id") if req.viewer.superuser else req.user.id

    def build():
        rows = listed(api.m, req.viewer, payload_type=CARD, only_active=not archived,
                      creator_or_recipient_id=user_id)
        return [render_shim(api, n) for n in rows]
    return api.cached(req, build)


def routes(api) -> list:
    """The routes from 0.54; the /api/alert shim goes before the pulse-era route (first match wins)."""
    if not api.p.notifications:
        return []
    return [("GET", r"/api/notification", lambda req: notification_list(api, req), True),
            ("GET", r"/api/notification/(\d+)", lambda req, nid: notification_detail(api, req, nid), True),
            ("GET", r"/api/alert", lambda req: alert_list(api, req), True)]
