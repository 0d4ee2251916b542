"""Who may read and write what, and what each list holds for a viewer.

Collections: admins read all; a personal collection (and what is under it) only its owner;
restricted trees Administrators and Finance. Writers of what they read: admins, the owner,
Analysts, Finance on restricted trees; of the root: admins and Analysts. Databases: restricted
ones only for Administrators and Finance.
The `visible_*`/`listed_*` functions are what the routes list and what expected.py expects;
`Model` keeps methods of the same names (one-line calls to these) for the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rows import ANALYSTS, FINANCE, User


@dataclass(slots=True, frozen=True)
class Viewer:
    """What one user may see: computed once per user from its groups."""
    user: User
    superuser: bool
    readable: frozenset  # readable collection ids (root is always readable)
    writable: frozenset
    database_ids: frozenset


def viewer_of(m, user: User) -> Viewer:
    """The user's Viewer, cached on the model (changes.py empties the cache when databases change)."""
    v = m._viewers.get(user.id)
    if v is None:
        su = user.is_superuser
        finance = FINANCE in user.group_ids
        readable, writable = set(), set()
        for c in m.collections.values():
            owner = m._personal_root(c)
            if su:
                ok = True
            elif owner is not None:
                ok = owner == user.id
            else:
                ok = not c.restricted or finance
            if ok:
                readable.add(c.id)
                if su or owner == user.id or ANALYSTS in user.group_ids or (finance and c.restricted):
                    writable.add(c.id)
        dbs = frozenset(d.id for d in m.databases.values() if su or finance or not d.restricted)
        v = m._viewers[user.id] = Viewer(user, su, frozenset(readable), frozenset(writable), dbs)
    return v


def can_read(viewer: Viewer, collection_id) -> bool:
    return collection_id is None or collection_id in viewer.readable


def can_write(viewer: Viewer, collection_id) -> bool:
    if collection_id is None:
        return viewer.superuser or ANALYSTS in viewer.user.group_ids
    return collection_id in viewer.writable


# --- what lists contain (shared by the routes and expected.py) ---------------------------

def visible_cards(m, viewer: Viewer, f: str = "all"):
    """Cards of GET /api/card?f=..., unsorted."""
    out = []
    for c in m.cards.values():
        if not can_read(viewer, c.collection_id):
            continue
        if f == "archived":
            ok = c.archived
        elif f == "mine":
            ok = not c.archived and c.creator_id == viewer.user.id
        else:
            ok = not c.archived
        if ok:
            out.append(c)
    return out


def visible_dashboards(m, viewer: Viewer, f: str = "all"):
    out = []
    for d in m.dashboards.values():
        if not can_read(viewer, d.collection_id):
            continue
        if (f == "archived") == d.archived and (f != "mine" or d.creator_id == viewer.user.id):
            out.append(d)
    return out


def visible_collections(m, viewer: Viewer, archived=False, namespace=None, exclude_other_personal=False):
    out = []
    for c in m.collections.values():
        if c.type == "trash" or c.namespace != namespace or c.archived != archived:
            continue
        if c.id not in viewer.readable:
            continue
        if exclude_other_personal and m._personal_root(c) not in (None, viewer.user.id):
            continue
        out.append(c)
    return out


def visible_snippets(m, viewer: Viewer, archived=False):
    return [s for s in m.snippets.values()
            if s.archived == archived and can_read(viewer, s.collection_id)]


def visible_databases(m, viewer: Viewer):
    return [d for d in m.databases.values() if d.id in viewer.database_ids]


def listed_users(m, viewer: Viewer, status: str = "active"):
    ok = {"active": (True,), "deactivated": (False,), "all": (True, False)}[status]
    return [u for u in m.people() if u.is_active in ok]


def visible_segments(m, viewer: Viewer):
    """GET /api/segment: live segments on tables the viewer can read."""
    return [s for s in m.segments.values()
            if not s.archived and m.tables[s.table_id].db_id in viewer.database_ids]


def visible_timelines(m, viewer: Viewer, archived=False):
    return [t for t in m.timelines.values()
            if t.archived == archived and can_read(viewer, t.collection_id)]


def listed_pulses(m, viewer: Viewer, since_046: bool, dashboard_id=None, archived=False):
    """GET /api/pulse: never alerts. Metabase 0.46+ drops subscriptions of archived dashboards and
    shows non-admins only the pulses they created; before, whatever collections they can read.
    0.40 (since_046 False and dashboard_id None here) lists only legacy pulses."""
    out = []
    for p in m.pulses.values():
        if p.alert_condition or p.archived != archived or not can_read(viewer, p.collection_id):
            continue
        if p.dashboard_id and p.dashboard_id not in m.dashboards:
            continue  # deleted with its dashboard (pulse.dashboard_id cascades)
        if dashboard_id is not None and p.dashboard_id != dashboard_id:
            continue
        if since_046:
            if p.dashboard_id and m.dashboards[p.dashboard_id].archived:
                continue
            if not viewer.superuser and p.creator_id != viewer.user.id:
                continue
        out.append(p)
    return out
