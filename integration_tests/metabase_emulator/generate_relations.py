"""Generation of what joins the content together (the relationship endpoints, metabase-api.md
section 9): segments, group memberships, hidden tables, timelines with their events, and pulses
(dashboard subscriptions, legacy pulses, two alerts; alerts.py adds more). Called in
generate.py's order."""

from __future__ import annotations

from .draw import nano, seeded, ts_around
from .rows import Pulse, PulseChannel, Segment, Timeline, TimelineEvent, display_name
from .visibility import can_read, viewer_of
from .words import AREAS, METRICS, SENTENCES


def make_segments(m):
    """Segments on tables, before the cards (whose queries filter on them)."""
    rng = seeded(m.seed, "segments")
    tables = [t for t in m.tables.values() if t.fields]
    restricted = [t for t in tables if m.databases[t.db_id].restricted]
    people = m.people()
    for i in range(m.scale.segments if tables else 0):
        sid = i + 1
        # the first one on a table the analyst cannot see, the third archived
        table = rng.choice(restricted) if i == 0 and restricted else rng.choice(tables)
        f = rng.choice(table.fields)
        value = {"type/Boolean": True, "type/Text": rng.choice(["Widget", "Gizmo", "Paid", "EU"])}.get(
            f.base_type, "2024-01-01" if "Date" in f.base_type else rng.randint(1, 500))
        created = ts_around(rng, sid / max(1, m.scale.segments) * 0.95)
        m.segments[sid] = Segment(
            sid, "%s %s" % (rng.choice(["Active", "Large", "Recent", "Paying", "Test", "EU"]),
                            display_name(table.name)),
            rng.choice([None, rng.choice(SENTENCES)]), table.id, (f.id, value), rng.choice(people).id,
            created, created + rng.randint(0, 10**13), nano(rng), archived=i == 2 or rng.random() < 0.08,
            caveats=rng.choice([None, None, "Excludes refunds."]))


def make_memberships(m):
    """One row per (user, group), API-key users included, as permissions_group_membership."""
    mid = 0
    for u in m.users.values():
        for gid in u.group_ids:
            mid += 1
            m.memberships.append((mid, u.id, gid))


def hide_some_tables(m):
    """The last table of each warehouse is hidden from the data model (visibility "hidden")."""
    for db in m.databases.values():
        if not db.is_sample and len(db.tables) > 1:
            db.tables[-1].visibility_type = "hidden"


def make_timelines(m):
    rng = seeded(m.seed, "timelines")
    places = [c.id for c in m.content_collections() if not c.archived]
    restricted = [c for c in places if m.collections[c].restricted]
    people = m.people()
    eid = 0
    for i in range(m.scale.timelines):
        tid = i + 1
        # the first timeline in the root collection, the second restricted, the third archived
        coll = None if i == 0 or not places else rng.choice(restricted) if i == 1 and restricted \
            else rng.choice(places + [None])
        created = ts_around(rng, tid / max(1, m.scale.timelines) * 0.9)
        name = "%s events" % (m.collections[coll].name if coll else "Our analytics") if i % 4 == 3 else \
            "%s %s" % (rng.choice(AREAS), rng.choice(["Launches", "Incidents", "Campaigns", "Releases"]))
        t = Timeline(tid, name, rng.choice([None, rng.choice(SENTENCES)]),
                     rng.choice(["star", "cake", "mail", "warning", "bell", "cloud"]), coll, i % 4 == 3,
                     rng.choice(people).id, created, created + rng.randint(0, 10**12), nano(rng),
                     archived=i == 2)
        for k in range(rng.randint(1, 5) if i else 3):
            eid += 1
            at = ts_around(rng, rng.random())
            t.events.append(TimelineEvent(
                eid, tid, rng.choice(["v2 launch", "Outage", "Black Friday", "Price change", "Re-org",
                                      "Campaign start", "Data backfill"]),
                rng.choice([None, "See the post-mortem."]), at, rng.random() < 0.5,
                rng.choice(["UTC", "Europe/Berlin", "America/New_York"]), rng.choice(["star", "warning", "bell"]),
                rng.choice(people).id, at + 10**6, at + rng.randint(10**6, 10**11),
                archived=t.archived or (i == 0 and k == 2)))  # an archived event in a live timeline
        m.timelines[tid] = t


def make_pulses(m):
    rng = seeded(m.seed, "pulses")
    people = m.people()
    analyst = m.users[2]
    active = [u for u in people if u.is_active]
    live = [d for d in m.dashboards.values() if not d.archived and any(dc.card_id for dc in d.dashcards)]
    archived = [d for d in m.dashboards.values() if d.archived and any(dc.card_id for dc in d.dashcards)]
    readable_by_analyst = [d for d in live if can_read(viewer_of(m, analyst), d.collection_id)]
    cards = [c for c in m.cards.values() if not c.archived]
    ids = iter(range(1, 10**9))
    cids = iter(range(1, 10**9))

    def channels(pulse_id, created):
        out = []
        for kind in (["email"] + (["slack"] if rng.random() < 0.4 else [])):
            stype = rng.choice(["hourly", "daily", "daily", "weekly", "monthly"])
            ch = PulseChannel(next(cids), kind, stype, None if stype == "hourly" else rng.randint(0, 23),
                              rng.choice(["mon", "tue", "fri"]) if stype in ("weekly", "monthly") else None,
                              rng.choice(["first", "mid", "last"]) if stype == "monthly" else None,
                              nano(rng), created, created + rng.randint(0, 10**11))
            if kind == "email":
                users = {u.id for u in rng.sample(people, min(len(people), rng.randint(1, 3)))}
                if rng.random() < 0.5:
                    users.add(analyst.id)
                ch.user_ids = sorted(users)
                ch.emails = rng.choice([[], ["board@example.com"], ["ops@example.com", "cfo@example.org"]])
            else:
                ch.details = {"channel": rng.choice(["#metrics", "#exec", "#data-alerts"])}
            out.append(ch)
        return out

    def pulse(name, creator, dashboard=None, collection_id=None, alert=None, card_ids=(), is_archived=False):
        pid = next(ids)
        created = ts_around(rng, rng.uniform(0.3, 0.97))
        p = Pulse(pid, name, creator.id, created, created + rng.randint(0, 10**12), nano(rng),
                  dashboard.collection_id if dashboard else collection_id, dashboard.id if dashboard else None,
                  alert, skip_if_empty=rng.random() < 0.3, archived=is_archived)
        if dashboard:
            p.cards = [(dc.card_id, dc.id) for dc in dashboard.dashcards if dc.card_id]
            p.parameters = [dict(pp, value=None) for pp in dashboard.parameters[:1]]
        else:
            p.cards = [(cid, None) for cid in card_ids]
        p.channels = channels(pid, created)
        m.pulses[pid] = p
        return p

    for i in range(m.scale.subscriptions if live else 0):
        # the analyst's own subscription first; one on an archived dashboard; one archived
        if i == 0 and readable_by_analyst:
            d, creator = rng.choice(readable_by_analyst), analyst
        elif i == 1 and archived:
            d, creator = rng.choice(archived), rng.choice(active)
        else:
            d, creator = rng.choice(live), rng.choice(active)
        pulse(d.name, creator, dashboard=d, is_archived=i == 2)
    if cards:
        colls = [c.id for c in m.content_collections() if not c.archived]
        for i in range(max(1, m.scale.subscriptions // 3)):  # legacy pulses: cards, no dashboard
            pulse("Weekly %s" % rng.choice(METRICS), rng.choice(active), collection_id=rng.choice(colls + [None]),
                  card_ids=[c.id for c in rng.sample(cards, min(len(cards), rng.randint(1, 3)))])
        for i in range(2):  # alerts: never listed by GET /api/pulse
            card = rng.choice(cards)
            pulse(None, rng.choice(active), collection_id=card.collection_id, alert=rng.choice(["rows", "goal"]),
                  card_ids=[card.id])
