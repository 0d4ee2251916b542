"""Changes between two syncs, made as a Metabase user (or Metabase itself) makes them.

generate.py generates an instance; this module changes its rows afterwards: edits, archiving,
new rows, hard deletes, views. Each change stamps `updated_at` where Metabase does, and
nowhere else, with a deterministic change clock, then tells the routes what to re-render.

What Metabase stamps, from its source (metabase/metabase):
- Models deriving `:hook/timestamped?` get `updated_at = now()` in a before-update hook
  (`add-updated-at-timestamp`, src/metabase/models/interface.clj), and toucan2's update! only
  writes rows whose columns really change, so only a real change of a row moves its updated_at.
  Newer releases also leave out "non-timestamped fields" (a dashboard's `last_viewed_at`).
- PUT /api/dashboard/:id (`update-dashboard`, src/metabase/dashboards/api.clj) updates the
  dashboard row only with its own keys (name, description, parameters, archived, ...); the
  dashcards are diffed against the stored ones (`do-update-dashcards!`) and created, updated
  or deleted as rows of their own. So adding, moving or removing a dashcard stamps that dashcard
  (or nothing, for a removal) and leaves the dashboard's updated_at alone.
- Archiving writes `archived` (and `archived_directly`), a real change: updated_at moves. On 0.53+
  archiving a dashboard archives its own questions too (`t2/update! :model/Card :dashboard_id`),
  which moves theirs.
- A hard delete (0.50+ Trash "delete permanently", DELETE /api/database/:id) removes rows, and
  the database's foreign keys cascade to dashcards, a database's tables and cards: no remaining
  row is stamped.
- 0.52 (metabase#53687): a view wrote `last_viewed_at` through the timestamped hook, so every
  view moved cards' and dashboards' updated_at. Other versions count the view only.
- What a view counts (metabase-api.md section 10.1): GET /api/dashboard/:id is a view of the
  dashboard on every version and, from 0.50, of every card on it too (each card once); GET
  /api/card/:id is a view of the card unless it asks `ignore_view=true` (0.44+). Lists are not.
  `views` tallies every view so counted, by (stream, id): what a sync adds to the usage figures.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from datetime import datetime, timezone

from . import queries
from .draw import nano
from .model import Model
from .rows import ALL_USERS, Card, DashCard, Dashboard, Database, Field, Snippet, Table, User, display_name
from .words import FIELD_KINDS

STREAMS = ("cards", "dashboards", "dashboard_cards", "users", "native_query_snippets", "databases", "tables",
           "collections", "segments", "permission_group_memberships", "documents", "measures", "transforms")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ACTOR = 1  # who makes the changes: the admin
LOCALES = [None, "de", "fr", "pt_BR", "ja"]


def to_us(at) -> int:
    """Microseconds since the epoch from an int (µs), a datetime (naive = UTC) or an ISO string."""
    if isinstance(at, bool):
        raise ValueError("at must be microseconds, a datetime or an ISO timestamp, not %r" % at)
    if isinstance(at, int):
        return at
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            raise ValueError("at: not an ISO timestamp: %r" % at) from None
    if isinstance(at, datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        delta = at - EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    raise ValueError("at must be microseconds, a datetime or an ISO timestamp, not %r" % (at,))


def latest_timestamp(m: Model) -> int:
    """The latest timestamp the generated content holds (views derived from it included)."""
    stamps = [0]
    for u in m.users.values():
        stamps += [u.date_joined, u.last_login or 0, u.updated_at]
    for db in m.databases.values():
        stamps += [db.created_at, db.updated_at]
    for t in m.tables.values():
        stamps += [t.created_at, t.updated_at]
    stamps += [c.created_at for c in m.collections.values()]
    for c in m.cards.values():
        stamps += [c.created_at, c.updated_at, c.last_query_start or 0, c.last_used_at or 0]
    for d in m.dashboards.values():
        stamps += [d.created_at, d.updated_at + 10**9, d.last_viewed_at or 0]
        stamps += [dc.updated_at for dc in d.dashcards] + [dc.created_at for dc in d.dashcards]
    for s in m.snippets.values():
        stamps += [s.created_at, s.updated_at]
    return max(stamps)


class Clock:
    """The change clock: a day after everything generated, then a fixed step per change."""

    STEP = 1_000_237  # µs: over a second, so rows stored in whole seconds stay in order too

    def __init__(self, model: Model):
        # a whole second plus a fraction, so every stamp on the wire carries fractional digits
        self.now = (latest_timestamp(model) // 1_000_000 + 86400) * 1_000_000 + 123_457

    def tick(self, at=None) -> int:
        """The next change's time, or `at` (the clock never goes back: later ticks stay after it)."""
        if at is not None:
            t = to_us(at)
            self.now = max(self.now, t)
            return t
        self.now += self.STEP
        return self.now

    def batch(self) -> int:
        """When views recorded by Metabase's background batch land: after the last change,
        before the next one, the same for every view in between (so concurrency cannot reorder)."""
        return self.now + self.STEP // 2


class Changes:
    """Changes to one emulated instance. Every method is safe to call while it serves."""

    def __init__(self, model: Model, profile, api):
        self.m, self.p, self.api = model, profile, api
        self.clock = Clock(model)
        self.lock = threading.RLock()
        self.rng = random.Random("%s/changes" % model.seed)
        self.revision = 0
        dashcards = [dc.id for d in model.dashboards.values() for dc in d.dashcards]
        self.last_id = {"cards": max(model.cards, default=0), "dashboards": max(model.dashboards, default=0),
                        "dashboard_cards": max(dashcards, default=0), "users": max(model.users, default=0),
                        "native_query_snippets": max(model.snippets, default=0),
                        "databases": max(model.databases, default=0), "tables": max(model.tables, default=0),
                        "fields": max(model.fields, default=0)}
        self.views: Counter = Counter()  # (stream, id) -> views counted, see the module's docstring
        self._pending_views: list = []  # views read whose counts have not landed yet
        api.on_view = self._viewed_by_request

    # -- the public verbs (Emulator's methods of the same names call these) --
    def edit(self, stream: str, ids, at=None) -> list:
        """An edit as a user makes it: a rename, a new description, a resize, a new locale."""
        with self.lock:
            touched = _Touched()
            rows = self._rows_for(stream, ids)
            for row in rows:
                self.revision += 1
                if stream == "collections":  # collections carry no updated_at: nothing is stamped
                    row.name = self._revised(row.name)
                    touched.collections.add(row.id)
                    touched.cards.update(c.id for c in self.m.cards.values() if c.collection_id == row.id)
                    continue
                t = self.clock.tick(at)
                if stream == "cards":
                    row.name, row.editor_id = self._revised(row.name), ACTOR
                    touched.cards.add(row.id)
                elif stream == "dashboards":
                    row.name, row.editor_id = self._revised(row.name), ACTOR
                    if self.p.dashboard_questions:  # its questions embed its name (not their updated_at)
                        touched.cards.update(c.id for c in self.m.cards.values() if c.dashboard_id == row.id)
                elif stream == "dashboard_cards":
                    row.size_y += 1
                    self._revise(self._dashcard_owner(row.id), t)
                elif stream == "users":
                    row.locale = LOCALES[(LOCALES.index(row.locale) + 1) % len(LOCALES)] \
                        if row.locale in LOCALES else None
                elif stream == "native_query_snippets":
                    row.content = re.sub(r"\n-- rev \d+$", "", row.content) + "\n-- rev %d" % self.revision
                elif stream == "databases":
                    row.name = self._revised(row.name)
                elif stream == "tables":
                    row.description = "Revised description (rev %d)." % self.revision
                self._stamp(row, t)
            self._commit(touched)
            return [r.id for r in rows]

    def archive(self, stream: str, ids, at=None) -> list:
        return self._set_archived(stream, ids, True, at)

    def unarchive(self, stream: str, ids, at=None) -> list:
        return self._set_archived(stream, ids, False, at)

    def add(self, stream: str, count: int = 1, at=None, **where) -> list:
        """New rows with new ids, created_at = updated_at = the change clock.
        `where`: collection_id (cards, dashboards), dashboard_id and card_id (dashboard_cards),
        database_id (tables)."""
        allowed = {"cards": {"collection_id"}, "dashboards": {"collection_id"},
                   "dashboard_cards": {"dashboard_id", "card_id"}, "tables": {"database_id"}}.get(stream, set())
        if stream not in STREAMS or stream == "collections":
            raise ValueError("cannot add to %r (can: %s)" % (stream, ", ".join(s for s in STREAMS if s != "collections")))
        if set(where) - allowed:
            raise ValueError("add(%r) takes %s, not %s" % (stream, ", ".join(sorted(allowed)) or "no options",
                                                          ", ".join(sorted(set(where) - allowed))))
        count = int(count)
        if count < 0:
            raise ValueError("count must be >= 0")
        with self.lock:
            touched = _Touched()
            made = getattr(self, "_add_" + stream)(count, at, touched, **where)
            self._commit(touched)
            return made

    def delete(self, stream: str, ids) -> list:
        """A hard delete: the rows are gone, with what cascades from them; no timestamp moves."""
        if stream in ("users", "collections"):
            raise ValueError("Metabase does not delete %s: %s" % (
                stream, "deactivate them" if stream == "users" else "archive them"))
        with self.lock:
            touched = _Touched()
            rows = self._rows_for(stream, ids)
            gone = {r.id for r in rows}
            m = self.m
            if stream == "cards":
                self._delete_cards(gone, touched)
            elif stream == "dashboards":
                for d in rows:
                    self._uncount(d.dashcards, touched)
                m.dashboards = {k: v for k, v in m.dashboards.items() if k not in gone}
                questions = {c.id for c in m.cards.values() if c.dashboard_id in gone}
                if self.p.dashboard_questions:  # a dashboard's own questions go with it
                    self._delete_cards(questions, touched)
                else:
                    for cid in questions:
                        m.cards[cid].dashboard_id = None
            elif stream == "dashboard_cards":
                for d in {id(d): d for d in (self._dashcard_owner(i) for i in gone)}.values():
                    self._uncount([dc for dc in d.dashcards if dc.id in gone], touched)
                    d.dashcards = [dc for dc in d.dashcards if dc.id not in gone]
                    self._revise(d, self.clock.tick(None))
            elif stream == "native_query_snippets":  # no API route does it: an admin in the app DB
                m.snippets = {k: v for k, v in m.snippets.items() if k not in gone}
            elif stream == "databases":
                tables = {t.id for db in rows for t in db.tables}
                m.databases = {k: v for k, v in m.databases.items() if k not in gone}
                m.tables = {k: v for k, v in m.tables.items() if k not in tables}
                self._delete_cards({c.id for c in m.cards.values() if c.database_id in gone}, touched)
                touched.viewers = True
            elif stream == "permission_group_memberships":  # DELETE /api/permissions/membership/:id
                ended = [(uid, gid) for mid, uid, gid in m.memberships if mid in gone]
                m.memberships = [row for row in m.memberships if row[0] not in gone]
                for uid, gid in ended:  # the user's group_ids follow; core_user itself is not written
                    m.users[uid].group_ids = [g for g in m.users[uid].group_ids if g != gid]
                touched.viewers = True
            elif stream == "segments":  # deprecated DELETE /api/segment/:id archives (see archive)
                raise ValueError("Metabase archives segments, it does not delete them: archive them")
            elif stream in ("documents", "measures", "transforms"):  # DELETE /api/<kind>/:id (0.58+)
                setattr(m, stream, {k: v for k, v in getattr(m, stream).items() if k not in gone})
            elif stream == "tables":  # retired by a sync; fields stay, as cards' metadata refers to them
                for db in {t.db_id for t in rows}:
                    m.databases[db].tables = [t for t in m.databases[db].tables if t.id not in gone]
                m.tables = {k: v for k, v in m.tables.items() if k not in gone}
            self._commit(touched)
            return sorted(gone)

    def view(self, stream: str, ids, at=None) -> list:
        """A user opens the card or dashboard: view bookkeeping, and on 0.52 updated_at."""
        if stream not in ("cards", "dashboards"):
            raise ValueError("only cards and dashboards are viewed, not %r" % stream)
        with self.lock:
            touched = _Touched()
            rows = self._rows_for(stream, ids)
            for row in rows:
                self._view(stream, row, self.clock.tick(at), touched)
            self._commit(touched)
            return [r.id for r in rows]

    def deactivate(self, ids, at=None) -> list:
        return self._set_active(ids, False, at)

    def reactivate(self, ids, at=None) -> list:
        return self._set_active(ids, True, at)

    def apply(self, action: str, stream: str | None = None, ids=(), count: int = 1, at=None, **where) -> list:
        """One change by name, as POST /__emulator__/changes sends it."""
        if action in ("deactivate", "reactivate"):
            if stream not in (None, "users"):
                raise ValueError("%s applies to users, not %r" % (action, stream))
            return getattr(self, action)(ids, at)
        if action not in ("edit", "archive", "unarchive", "add", "delete", "view"):
            raise ValueError("unknown action %r (edit, archive, unarchive, add, delete, view, deactivate, "
                             "reactivate)" % (action,))
        if not isinstance(stream, str):
            raise ValueError("stream is required (one of %s)" % ", ".join(STREAMS))
        if action == "add":
            return self.add(stream, count, at, **where)
        if where:
            raise ValueError("%s takes no %s" % (action, ", ".join(sorted(where))))
        if action == "delete":
            if at is not None:
                raise ValueError("a delete stamps nothing: no at")
            return self.delete(stream, ids)
        return getattr(self, action)(stream, ids, at)

    def rendered_updated_at(self, stream: str, rid: int):
        row = self._rows_for(stream, [rid])[0]
        return self.api.r.uts(stream, row.updated_at, row.id)

    # -- pieces --
    def _rows(self, stream: str) -> dict:
        m = self.m
        if stream == "dashboard_cards":
            return {dc.id: dc for d in m.dashboards.values() for dc in d.dashcards}
        if stream == "users":
            return {u.id: u for u in m.people()}
        if stream == "collections":
            return {c.id: c for c in m.collections.values() if c.type is None}
        if stream == "permission_group_memberships":
            return {mid: _Membership(mid, uid, gid) for mid, uid, gid in m.memberships}
        try:
            return {"cards": m.cards, "dashboards": m.dashboards, "native_query_snippets": m.snippets,
                    "databases": m.databases, "tables": m.tables, "segments": m.segments, "documents": m.documents,
                    "measures": m.measures, "transforms": m.transforms}[stream]
        except KeyError:
            raise ValueError("unknown stream %r (known: %s)" % (stream, ", ".join(STREAMS))) from None

    def _rows_for(self, stream: str, ids) -> list:
        if isinstance(ids, (int, str)):
            ids = [ids]
        rows = self._rows(stream)
        out = []
        for i in ids:
            try:
                out.append(rows[int(i)])
            except (KeyError, ValueError, TypeError):
                raise ValueError("no %s with id %r" % (stream, i)) from None
        return out

    def _revised(self, name: str) -> str:
        return re.sub(r" \(rev \d+\)$", "", name or "") + " (rev %d)" % self.revision

    @staticmethod
    def _revise(dashboard: Dashboard, t):
        """A save of the dashboard that changed only its dashcards: Metabase records a revision
        (the list's last-edit-info moves) but leaves the dashboard row, and so its updated_at."""
        if t is not None:
            dashboard.revised_at, dashboard.editor_id = t, ACTOR

    @staticmethod
    def _stamp(row, t: int, revision: bool = True):
        """updated_at = t, first pinning the values the renderer derives from updated_at. A
        write of a dashboard's row is a revision of it too, unless it is a view (0.52's bug)."""
        if isinstance(row, Card) and row.last_used_at is None:
            row.last_used_at = row.last_query_start or row.updated_at
        if isinstance(row, Dashboard):
            if row.last_viewed_at is None:
                row.last_viewed_at = row.updated_at + 10**9
            row.revised_at = None if revision else (row.revised_at or row.updated_at)
        row.updated_at = t

    def _commit(self, touched: "_Touched", land_views: bool = True):
        if land_views:  # the views read since the last batch land with this change
            t = self.clock.batch()
            for stream, rid in self._pending_views:
                row = self._rows(stream).get(rid)
                if row is not None:
                    self._count(stream, row, t, touched)
            self._pending_views.clear()
        r = self.api.r
        for cid in touched.collections:
            r._coll_rows.pop(cid, None)
        if touched.authors:
            r._authors = None
        if touched.viewers:
            self.m._viewers = {}
        self.api.cards_changed(touched.cards)
        # Every cached list body goes: cheap to rebuild, and no route (old or new) can be missed.
        self.api.cache.clear()

    def _set_archived(self, stream, ids, archived: bool, at):
        """Archiving writes `archived` (segments: PUT /api/segment/:id {"archived": true}; they are
        timestamped, metabase-api.md 9.3), a real change: updated_at moves."""
        if stream not in ("cards", "dashboards", "native_query_snippets", "segments", "documents", "measures"):
            raise ValueError("only cards, dashboards, native_query_snippets, segments, documents and measures are "
                             "archived here, not %r" % stream)
        with self.lock:
            touched = _Touched()
            changed = []
            for row in self._rows_for(stream, ids):
                if row.archived == archived:
                    continue  # nothing changes, so Metabase writes nothing
                row.archived = archived
                if stream in ("cards", "dashboards", "documents"):
                    row.archived_directly = archived
                self._stamp(row, self.clock.tick(at))
                changed.append(row.id)
                if stream == "cards":
                    touched.cards.add(row.id)
                elif stream == "dashboards" and self.p.dashboard_questions:
                    # its own questions follow it (not those archived on their own)
                    for c in self.m.cards.values():
                        if c.dashboard_id == row.id and c.archived != archived and \
                                (archived or not c.archived_directly):
                            c.archived, c.archived_directly = archived, False
                            self._stamp(c, self.clock.tick(at))
                            touched.cards.add(c.id)
            self._commit(touched)
            return changed

    def _set_active(self, ids, active: bool, at):
        with self.lock:
            changed = []
            for u in self._rows_for("users", ids):
                if u.is_active != active:
                    u.is_active = active
                    self._stamp(u, self.clock.tick(at))
                    changed.append(u.id)
            self._commit(_Touched())
            return changed

    def _view(self, stream, row, t, touched):
        """A user's view, counted at once."""
        self._tally(stream, row)
        if self.p.view_bumps_updated_at:
            self._stamp(row, t, revision=False)
        self._count(stream, row, t, touched)

    def _tally(self, stream, row):
        self.views[(stream, row.id)] += 1
        if stream == "dashboards" and self.p.since(50):
            for cid in self._cards_on(row):
                self.views[("cards", cid)] += 1

    def _cards_on(self, dashboard) -> list:
        return sorted({dc.card_id for dc in dashboard.dashcards if dc.card_id in self.m.cards})

    def _count(self, stream, row, t, touched):
        """What a view moves in the rows Metabase shows: view counts, a dashboard's last_viewed_at."""
        if stream == "documents":  # a kind module's row counts its own views
            row.viewed(t)
            return
        row.view_count += 1
        if stream == "dashboards":
            if row.last_viewed_at is None:
                row.last_viewed_at = row.updated_at + 10**9
            row.last_viewed_at = max(row.last_viewed_at, t)
            if self.p.since(50):  # and every card on it, once each (no stamp of theirs)
                for cid in self._cards_on(row):
                    self.m.cards[cid].view_count += 1
                    touched.cards.add(cid)
        else:
            touched.cards.add(row.id)

    def _viewed_by_request(self, stream: str, rid: int):
        """GET /api/card/:id (without ignore_view) or /api/dashboard/:id: a view. Tallied at once;
        its counts land with Metabase's next background batch (the next change, or land_views()),
        as Metabase updates them in batches. 0.52 wrote the stamp at once (metabase#53687)."""
        with self.lock:
            row = self._rows(stream).get(rid)
            if row is not None:
                self._tally(stream, row)
                self._pending_views.append((stream, rid))
                if self.p.view_bumps_updated_at:
                    touched = _Touched()
                    self._stamp(row, self.clock.batch(), revision=False)
                    if stream == "cards":
                        touched.cards.add(rid)
                    self._commit(touched, land_views=False)

    def land_views(self):
        """Metabase's background batch: the counts of the views read so far show."""
        with self.lock:
            self._commit(_Touched())

    def _dashcard_owner(self, dcid: int) -> Dashboard:
        return next(d for d in self.m.dashboards.values() if any(dc.id == dcid for dc in d.dashcards))

    def _uncount(self, dashcards, touched):
        """The cards of removed dashcards are on one dashboard fewer (their JSON changes, not their updated_at)."""
        for dc in dashcards:
            card = self.m.cards.get(dc.card_id) if dc.card_id else None
            if card is not None:
                card.dashboard_count = max(0, card.dashboard_count - 1)
                touched.cards.add(card.id)

    def _delete_cards(self, gone: set, touched):
        if not gone:
            return
        m = self.m
        m.cards = {k: v for k, v in m.cards.items() if k not in gone}
        for d in m.dashboards.values():  # the dashcards and series entries cascade
            if any(dc.card_id in gone or gone.intersection(dc.series) for dc in d.dashcards):
                for dc in d.dashcards:
                    if gone.intersection(dc.series):
                        dc.series = [s for s in dc.series if s not in gone]
                d.dashcards = [dc for dc in d.dashcards if dc.card_id not in gone]
        touched.authors = True

    def _next(self, stream: str) -> int:
        self.last_id[stream] += 1  # ids are never reused, as a database sequence
        return self.last_id[stream]

    def _collection(self, collection_id):
        if collection_id is not None and collection_id not in {c.id for c in self.m.content_collections()}:
            raise ValueError("no collection %r to put it in" % (collection_id,))
        return collection_id

    # -- new rows, one method per stream --
    def _add_cards(self, count, at, touched, collection_id=None):
        m = self.m
        self._collection(collection_id)
        if not m.databases:
            raise ValueError("a card needs a database")
        db = m.databases.get(1) or next(iter(m.databases.values()))
        table = db.tables[0] if db.tables else None
        new = {}
        for _ in range(count):
            cid, t = self._next("cards"), self.clock.tick(at)
            query = queries.table_question(table, self.rng)
            new[cid] = Card(cid, "New question %d" % cid, None, collection_id, "question", "query", query, db.id,
                            table.id if table else None, "table", ACTOR, t, t, ACTOR, nano(self.rng))
        m.cards = {**m.cards, **new}
        touched.cards.update(new)
        touched.authors = True
        return list(new)

    def _add_dashboards(self, count, at, touched, collection_id=None):
        m = self.m
        self._collection(collection_id)
        new = {}
        for _ in range(count):
            did, t = self._next("dashboards"), self.clock.tick(at)
            new[did] = Dashboard(did, "New dashboard %d" % did, None, collection_id, ACTOR, t, t, ACTOR,
                                 nano(self.rng))
        m.dashboards = {**m.dashboards, **new}
        return list(new)

    def _add_dashboard_cards(self, count, at, touched, dashboard_id=None, card_id=None):
        d = self.m.dashboards.get(dashboard_id)
        if d is None:
            raise ValueError("add('dashboard_cards') needs the dashboard_id of an existing dashboard")
        if card_id is None:  # the lowest-id live card, else a text card
            card_id = min((c.id for c in self.m.cards.values() if not c.archived), default=None)
        elif card_id not in self.m.cards:
            raise ValueError("no card %r" % (card_id,))
        made, dashcards = [], list(d.dashcards)
        for _ in range(count):
            dcid, t = self._next("dashboard_cards"), self.clock.tick(at)
            dc = DashCard(dcid, card_id, 0 if d.tabs else None, sum(x.size_y for x in dashcards), 0, 12, 6,
                          nano(self.rng), t, t)
            if card_id is None:
                dc.virtual = {"virtual_card": {"name": None, "display": "text", "visualization_settings": {},
                                               "dataset_query": {}, "archived": False}, "text": "New text"}
            else:
                self.m.cards[card_id].dashboard_count += 1
                touched.cards.add(card_id)
            dashcards.append(dc)
            made.append(dcid)
        d.dashcards = dashcards  # the dashboard's own updated_at stays: its row did not change
        self._revise(d, dashcards[-1].updated_at if made else None)
        return made

    def _add_users(self, count, at, touched):
        m = self.m
        new = {}
        for _ in range(count):
            uid, t = self._next("users"), self.clock.tick(at)
            new[uid] = User(uid, "new.user%d@example.com" % uid, "New", "User %d" % uid, False, True, [ALL_USERS],
                            t, None, t)
        m.users = {**m.users, **new}
        m.by_email = {**m.by_email, **{u.email: u for u in new.values()}}
        return list(new)

    def _add_native_query_snippets(self, count, at, touched):
        m = self.m
        new = {}
        for _ in range(count):
            sid, t = self._next("native_query_snippets"), self.clock.tick(at)
            new[sid] = Snippet(sid, "new_snippet_%d" % sid, None, "WHERE 1 = 1", None, ACTOR, t, t,
                               nano(self.rng))
        m.snippets = {**m.snippets, **new}
        return list(new)

    def _add_databases(self, count, at, touched):
        m = self.m
        made = []
        for _ in range(count):
            dbid, t = self._next("databases"), self.clock.tick(at)
            db = Database(dbid, "New Warehouse %d" % dbid, "postgres", False, False, t, t,
                          {"host": "new-warehouse-%d.db.internal.example.com" % dbid, "port": 5432,
                           "dbname": "warehouse_%d" % dbid, "user": "metabase_ro", "password": "**MetabasePass**",
                           "ssl": True, "tunnel-enabled": False, "advanced-options": False}, "UTC", ACTOR)
            m.databases = {**m.databases, dbid: db}
            for _ in range(2):  # its first sync finds two tables
                self._new_table(db, t)
            made.append(dbid)
        touched.viewers = True
        return made

    def _add_tables(self, count, at, touched, database_id=None):
        m = self.m
        if database_id is None:  # the newest warehouse (not the sample database)
            database_id = max((db.id for db in m.databases.values() if not db.is_sample), default=None)
        db = m.databases.get(database_id)
        if db is None:
            raise ValueError("no database %r for the new tables" % (database_id,))
        return [self._new_table(db, self.clock.tick(at)).id for _ in range(count)]

    def _new_table(self, db: Database, t: int) -> Table:
        m = self.m
        tid = self._next("tables")
        name = "new_table_%d" % tid
        table = Table(tid, db.id, name, "public", display_name(name), None, "entity/GenericTable", t, t,
                      nano(self.rng), None)
        fields = {}
        for pos, (column, kind) in enumerate((("id", "pk"), ("name", "name"), ("created_at", "datetime"))):
            fid = self._next("fields")
            base, semantic, db_type = FIELD_KINDS[kind]
            fields[fid] = Field(fid, tid, column, display_name(column), base, semantic, db_type, pos, None, None)
            table.fields.append(fields[fid])
        m.fields = {**m.fields, **fields}
        m.tables = {**m.tables, tid: table}
        db.tables = db.tables + [table]
        return table


class _Membership:
    """A membership row as the changes API addresses it (model.py keeps them as tuples)."""
    __slots__ = ("id", "user_id", "group_id")

    def __init__(self, mid: int, uid: int, gid: int):
        self.id, self.user_id, self.group_id = mid, uid, gid


class _Touched:
    """What one change makes stale besides the cached list bodies."""
    __slots__ = ("cards", "collections", "authors", "viewers")

    def __init__(self):
        self.cards: set = set()  # cards whose JSON changed
        self.collections: set = set()  # collections whose row (as embedded in cards) changed
        self.authors = False  # who made what (GET /api/user/current)
        self.viewers = False  # what each user may see (databases)
