"""What a complete sync must emit, per stream and viewer (`Emulator.expected_ids`), from the same
visibility.py lists the routes answer with. A new kind of object with a stream adds its ids here.
"""

from __future__ import annotations

from . import documents, measures, transforms
from .alerts import alert_id, listed_alerts
from .rows import GROUP_NAMES
from .visibility import listed_pulses, listed_users, visible_cards, visible_collections, visible_dashboards, \
    visible_databases, visible_segments, visible_snippets, visible_timelines

STREAMS = ("cards", "collections", "dashboards", "users", "databases", "native_query_snippets", "tables",
           "permission_groups", "dashboard_cards", "fields", "permission_group_memberships", "segments",
           "timelines", "timeline_events", "dashboard_subscriptions", "alerts", "documents", "transforms", "measures")
ARCHIVABLE = ("cards", "collections", "dashboards", "native_query_snippets", "dashboard_cards", "alerts")


def expected_ids(m, p, v, stream: str, include_archived: bool = False, gone=frozenset(),
                 transforms_enabled: bool = True) -> list:
    """Ids a complete sync of `stream` must emit when run as the viewer `v` on profile `p` (primary
    key values: `membership_id` for permission_group_memberships). With `include_archived`, archived
    cards, collections (with the Trash from 0.50 on), dashboards and snippets too. `gone`: the ids
    of the dashboards that vanish (the vanishing_dashboard_ids setting); `transforms_enabled`: that
    setting. documents, transforms and measures: empty before the version that serves them."""
    if include_archived and stream in ARCHIVABLE:
        return sorted(set(expected_ids(m, p, v, stream, gone=gone)) | set(_archived_ids(m, p, v, stream, gone)),
                      key=lambda i: (isinstance(i, str), i))
    if stream == "documents":
        return documents.expected_ids(m, p, v)
    if stream == "measures":
        return measures.expected_ids(m, p, v)
    if stream == "transforms":
        return transforms.expected_ids(m, p, v, transforms_enabled)
    if stream in STREAMS[8:]:
        return _relationship_ids(m, p, v, stream, gone)
    if stream == "cards":
        return sorted(c.id for c in visible_cards(m, v, "all"))
    if stream == "collections":
        return ["root"] + sorted(c.id for c in visible_collections(m, v))
    if stream == "dashboards":
        return sorted(d.id for d in visible_dashboards(m, v, "all") if d.id not in gone)
    if stream == "users":
        if not v.superuser and p.user_list_admin_only:
            return []  # GET /api/user answers 403
        return sorted(u.id for u in listed_users(m, v, "all" if v.superuser else "active"))
    if stream == "databases":
        return sorted(d.id for d in visible_databases(m, v))
    if stream == "native_query_snippets":
        return sorted(s.id for s in visible_snippets(m, v))
    if stream == "tables":
        return sorted(t.id for db in visible_databases(m, v) for t in db.tables)
    if stream == "permission_groups":
        return sorted(GROUP_NAMES) if v.superuser else []  # others get 403
    raise ValueError("unknown stream %r (known: %s)" % (stream, ", ".join(STREAMS)))


def _archived_ids(m, p, v, stream: str, gone) -> list:
    if stream == "cards":
        return [c.id for c in visible_cards(m, v, "archived")]
    if stream == "collections":
        return [c.id for c in visible_collections(m, v, archived=True)] + ([m.trash_id] if p.trash else [])
    if stream == "native_query_snippets":
        return [s.id for s in visible_snippets(m, v, archived=True)]
    if stream == "alerts":
        return [alert_id(m, p, a) for a in listed_alerts(m, p, v, archived=True)]
    # before the Trash (0.50) Metabase refuses the detail of an archived dashboard
    dashboards = [d for d in visible_dashboards(m, v, "archived") if p.trash and d.id not in gone]
    if stream == "dashboards":
        return [d.id for d in dashboards]
    return _dashcard_ids(m, dashboards)


def _dashcard_ids(m, dashboards) -> list:
    return [dc.id for d in dashboards for dc in d.dashcards
            if not (dc.card_id and m.cards[dc.card_id].archived)]


def _relationship_ids(m, p, v, stream: str, gone) -> list:
    if stream == "dashboard_cards":
        return sorted(_dashcard_ids(m, [d for d in visible_dashboards(m, v, "all") if d.id not in gone]))
    if stream == "fields":
        return sorted(f.id for db in visible_databases(m, v) for t in db.tables for f in t.fields if f.active)
    if stream == "permission_group_memberships":
        return [mid for mid, _, _ in m.memberships] if v.superuser else []  # others get 403
    if stream == "segments":
        return sorted(s.id for s in visible_segments(m, v))
    if stream in ("timelines", "timeline_events"):
        if not p.since(43):
            return []  # GET /api/timeline does not exist yet
        timelines = visible_timelines(m, v)
        if stream == "timelines":
            return sorted(t.id for t in timelines)
        return sorted(e.id for t in timelines for e in t.events if not e.archived)
    if stream == "dashboard_subscriptions":
        pulses = listed_pulses(m, v, p.since(46))
        if not p.since(41):
            pulses = [x for x in pulses if x.dashboard_id is None]  # 0.40: legacy pulses only
        return sorted(x.id for x in pulses)
    if stream == "alerts":
        return sorted(alert_id(m, p, a) for a in listed_alerts(m, p, v))
    raise ValueError(stream)
