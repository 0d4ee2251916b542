"""The Metabase routes (handlers) and the bodies they send.

`GET /api/card` can be hundreds of MB, so every card's JSON is rendered once into one
arena (sorted as Metabase sorts: lower(name)); a card list body is then a list of slices of
that arena, never a copy. Other list bodies are cached per (route, query, user).
A change (changes.py) marks the cards it touched: the arena is rebuilt at the next read,
re-rendering only those and copying the others' bytes; the cache is emptied.
"""

from __future__ import annotations

import re
import threading
from array import array

import orjson

from . import documents, edition, measures, notifications, permissions, querylog, transforms
from .alerts import alert_list
from .auth import CLEAR_COOKIES
from .model import Model
from .profiles import Profile
from .render import Render
from .visibility import can_read, listed_pulses, listed_users, viewer_of, visible_cards, visible_collections, \
    visible_dashboards, visible_databases, visible_segments, visible_snippets, visible_timelines
from .web import FORBIDDEN, HTML, JSON, LRU, TEXT, Body, HttpError, Request, Response, json_response, text_response

HYDRATED = ("creator", "collection", "last-edit-info")  # keys GET /api/card adds to the card row
KINDS = (notifications, documents, transforms, measures)  # kind modules with routes of their own
# Namespaces whose unknown sub-routes still need auth first (Metabase wraps them in +auth).
AUTH_NAMESPACES = {"card", "collection", "dashboard", "user", "database", "native-query-snippet", "table",
                   "permissions", "activity", "search", "field", "segment", "pulse", "alert", "timeline",
                   "revision", "setting", "api-key", "dataset", "bookmark", "notification", "metric",
                   "legacy-metric", "login-history", "util", "action", "model-index", "cache"}


def _name_key(row):
    return ((row.name or "").lower(), row.id)


class CardArena:
    """Every card's JSON in one buffer, in list order; replaced whole, never changed in place."""
    __slots__ = ("buf", "view", "starts", "splits", "ends", "pos")

    def __init__(self):
        self.buf = bytearray()
        self.view = None
        self.starts, self.splits, self.ends = array("q"), array("q"), array("q")
        self.pos = {}


class Api:
    def __init__(self, model: Model, profile: Profile, auth, settings):
        self.m = model
        self.p = profile
        self.auth = auth
        self.settings = settings
        self.r = Render(profile, model)
        self.cache = LRU(128 << 20)
        self.on_view = None  # set by the Emulator: called with (stream, id) after a detail GET that is a view
        self._arena_lock = threading.Lock()
        self._stale = set()  # ids of cards whose JSON changed since the arena was built
        self.stamp_settings()
        self._arena = self._build_card_arena(None)
        self.routes = self._routes()

    # -- the card arena --
    def _build_card_arena(self, stale) -> CardArena:
        """All cards in list order; those in `stale` (all if None) rendered anew, the others'
        bytes copied from the current arena."""
        old = None if stale is None else self._arena
        new = CardArena()
        arena = new.buf
        for i, c in enumerate(sorted(self.m.cards.values(), key=_name_key)):
            if i:
                arena += b","
            j = old.pos.get(c.id) if old is not None and c.id not in stale else None
            new.starts.append(len(arena))
            if j is not None:
                arena += old.view[old.starts[j]:old.splits[j]]
                new.splits.append(len(arena))
                arena += old.view[old.splits[j]:old.ends[j]]
            else:
                # The hydrated keys go last, so that a dashcard's copy of the card (which has
                # none of them) is a prefix of these bytes: no parsing when serving dashboards.
                d = self.r.card(c)
                tail = {k: d.pop(k) for k in HYDRATED if k in d}
                arena += orjson.dumps(d)[:-1]
                new.splits.append(len(arena))
                arena += b"," + orjson.dumps(tail)[1:]
            new.ends.append(len(arena))
            new.pos[c.id] = i
        new.view = memoryview(arena)
        return new

    def cards_changed(self, ids):
        """Mark cards whose JSON changed (None: all of them, e.g. another timestamp form)."""
        with self._arena_lock:
            self._stale = None if ids is None or self._stale is None else self._stale | set(ids)

    def stamp_settings(self):
        """Hand the timestamp settings to the renderer (then rerender() if anything was rendered)."""
        s = self.settings()
        self.r.offsets = s.get("timestamp_offsets", False)
        self.r.null_updated = s.get("null_updated_at_ids", {})
        self.r.garbage_updated = s.get("garbage_updated_at_ids", {})

    def rerender(self):
        """After a change of how things render: forget every memo, re-render every card."""
        self.r._creators, self.r._coll_rows, self.r._authors = {}, {}, None
        self.cards_changed(None)
        self.cache.clear()

    @property
    def arena(self) -> CardArena:
        if self._stale != set():  # rebuilt lazily, so a burst of changes costs one rebuild
            with self._arena_lock:
                if self._stale != set():
                    self._arena = self._build_card_arena(self._stale)
                    self._stale = set()
        return self._arena

    def card_bytes(self, cid: int) -> bytes:
        a = self.arena
        i = a.pos[cid]
        return bytes(a.view[a.starts[i]:a.ends[i]])

    def card_dict(self, cid: int) -> dict:
        return orjson.loads(self.card_bytes(cid))

    def dashcard_card(self, cid: int, extra: bytes) -> orjson.Fragment:
        """The card as a dashcard embeds it: without the hydrated keys, plus `extra`."""
        a = self.arena
        i = a.pos[cid]
        return orjson.Fragment(b"".join((a.view[a.starts[i]:a.splits[i]], extra, b"}")))

    def card_list_body(self, cards) -> Body:
        """`[` + runs of adjacent cards (arena slices, commas included) + `]`."""
        a = self.arena
        pos = sorted(a.pos[c.id] for c in cards if c.id in a.pos)  # (a card deleted meanwhile is gone)
        pieces = [b"["]
        i = 0
        while i < len(pos):
            j = i
            while j + 1 < len(pos) and pos[j + 1] == pos[j] + 1:
                j += 1
            if i:
                pieces.append(b",")
            pieces.append(a.view[a.starts[pos[i]]:a.ends[pos[j]]])
            i = j + 1
        pieces.append(b"]")
        return Body(pieces)

    # -- dispatch --
    def _routes(self):
        """The routes table. A kind module's routes go here, with handlers of (api, req) in that
        module (as alerts.alert_list), or come from its `routes(api)` (those the version has, ahead of
        the others: the first match wins); their namespaces then want auth first."""
        p = self.p
        kinds = [route for kind in KINDS for route in kind.routes(self)]
        self.namespaces = AUTH_NAMESPACES | {rx.split("/")[2] for _, rx, _, _ in kinds}
        table = kinds + [
            ("GET", r"/api/health", self.health, False),
            ("GET", r"/api/session/properties", self.session_properties, False),
            ("POST", r"/api/session", self.login, False),
            ("DELETE", r"/api/session", self.logout, False),
            ("GET", r"/api/user/current", self.user_current, True),
            ("GET", r"/api/user", self.user_list, True),
            ("GET", r"/api/user/(\d+)", self.user_detail, True),
            ("GET", r"/api/card", self.card_list, True),
            ("GET", r"/api/card/(\d+)", self.card_detail, True),
            ("GET", r"/api/collection", self.collection_list, True),
            ("GET", r"/api/collection/(root|\d+)", self.collection_detail, True),
            ("GET", r"/api/collection/(root|\d+)/items", self.collection_items, True),
            ("GET", r"/api/dashboard", self.dashboard_list if p.dashboard_list else None, True),
            ("GET", r"/api/dashboard/(\d+)", self.dashboard_detail, True),
            ("GET", r"/api/database", self.database_list, True),
            ("GET", r"/api/database/(\d+)", self.database_detail, True),
            ("GET", r"/api/native-query-snippet", self.snippet_list, True),
            ("GET", r"/api/native-query-snippet/(\d+)", self.snippet_detail, True),
            ("GET", r"/api/table", self.table_list, True),
            ("GET", r"/api/permissions/group", self.group_list, True),
            ("GET", r"/api/permissions/membership", self.membership_list, True),
            ("GET", r"/api/segment", self.segment_list, True),
            ("GET", r"/api/segment/(\d+)", self.segment_detail, True),
            ("GET", r"/api/pulse", self.pulse_list, True),
            ("GET", r"/api/alert", lambda req: alert_list(self, req), True),
            ("GET", r"/api/database/(\d+)/metadata", self.database_metadata, True),
            ("GET", r"/api/collection/graph", lambda req: permissions.collection_graph_route(self, req), True),
            ("GET", r"/api/permissions/graph", lambda req: permissions.data_graph_route(self, req), True),
            ("GET", r"/api/ee/logs(/.*)?", lambda req, rest: querylog.query_log_route(self, req, rest), False),
        ]
        if p.since(43):  # timelines and events came with 0.43
            table += [("GET", r"/api/timeline", self.timeline_list, True),
                      ("GET", r"/api/timeline/(\d+)", self.timeline_detail, True)]
        if p.activity_feed:
            table.append(("GET", r"/api/activity", self.activity, True))
        return [(m, re.compile(rx + "/?$"), fn, needs_auth) for m, rx, fn, needs_auth in table if fn]

    def handle(self, req: Request) -> Response:
        if not (req.path == "/api" or req.path.startswith("/api/")):  # the single-page app
            return Response(200, APP_PAGE, HTML, auth=self.auth.identify(req.headers, consume=False)[0])
        kind, user, req.session_id = self.auth.identify(req.headers, consume=True)
        req.auth, req.user = kind, user
        req.viewer = viewer_of(self.m, user) if user is not None else None
        try:
            resp = self._dispatch(req)
        except HttpError as e:
            resp = e.response
        resp.auth = kind
        return resp

    def _dispatch(self, req: Request) -> Response:
        for method, rx, fn, needs_auth in self.routes:
            m = rx.match(req.path)
            if m and method == req.method:
                if needs_auth and req.user is None:
                    return text_response("Unauthenticated", 401)
                return fn(req, *m.groups())
        ns = req.path[5:].split("/", 1)[0]
        if ns in self.namespaces and req.user is None:
            return text_response("Unauthenticated", 401)
        return text_response("API endpoint does not exist.", 404)

    def cached(self, req: Request, build) -> Response:
        key = (req.path.rstrip("/"), req.query, req.user.id)
        body = self.cache.get(key)
        if body is None:
            generation = self.cache.generation
            body = build()
            if not isinstance(body, Body):
                body = orjson.dumps(body)
            self.cache.put(key, body, generation)
        return Response(200, body, JSON)

    # -- session, health --
    def health(self, req):
        return json_response({"status": "ok"})

    def session_properties(self, req):
        settings = self.settings()
        props = self.r.session_properties(not settings["password_login_disabled"])
        return json_response(edition.session_properties(props, self.p, edition.edition_of(settings), req.viewer))

    def login(self, req):
        status, payload, headers = self.auth.login(req.body)
        if isinstance(payload, str):
            resp = text_response(payload, status)
            resp.headers = headers
            return resp
        return json_response(payload, status, headers)

    def logout(self, req):
        if req.auth.startswith("session_") and self.auth.logout(req.session_id):
            return Response(204, b"", TEXT, list(CLEAR_COOKIES))
        return text_response("Not found.", 404)

    # -- users --
    def user_current(self, req):
        return json_response(self.r.current_user(req.user))

    def user_list(self, req):
        v = req.viewer
        if self.p.user_list_admin_only and not v.superuser:
            raise HttpError(403, FORBIDDEN)
        # Metabase checks for a superuser as soon as either filter is *given* (even
        # status=active or include_deactivated=false): non-admins may only omit them.
        if not v.superuser and (req.get("status") is not None or req.get("include_deactivated") is not None):
            raise HttpError(403, FORBIDDEN)
        status, legacy = req.get("status"), req.flag("include_deactivated")
        status = status or ("all" if legacy else "active")
        if status not in ("active", "deactivated", "all"):
            raise HttpError(400, {"errors": {"status": "nullable enum of active, deactivated, all"}})
        limit, offset = req.paging()

        def build():
            users = listed_users(self.m, v, status)
            q = (req.get("query") or "").lower()
            if q:
                users = [u for u in users if q in " ".join(filter(None, (u.first_name, u.last_name, u.email))).lower()]
            gid = req.get("group_id")
            if gid and gid.isdigit():
                users = [u for u in users if int(gid) in u.group_ids]
            users.sort(key=lambda u: ((u.first_name or "").lower(), (u.last_name or "").lower(), u.id))
            page = users[offset:offset + limit] if limit is not None else users
            return {"data": [self.r.user(u, v.superuser) for u in page], "total": len(users),
                    "limit": limit, "offset": offset}
        return self.cached(req, build)

    def user_detail(self, req, uid):
        u = self.m.users.get(int(uid))
        if not req.viewer.superuser and (u is None or u.id != req.user.id):
            raise HttpError(403, FORBIDDEN)
        if u is None or u.kind != "personal":
            raise HttpError(404, "Not found.")
        d = self.r.user(u)
        d["user_group_memberships"] = [{"id": g} for g in u.group_ids]
        return json_response(d)

    # -- cards --
    CARD_FILTERS = ("all", "mine", "bookmarked", "database", "table", "using_model", "using_segment", "archived")

    def card_list(self, req):
        f = req.get("f") or "all"
        valid = self.CARD_FILTERS if self.p.card_type else \
            ("all", "mine", "fav", "database", "table", "recent", "popular", "archived")
        if f not in valid:
            raise HttpError(400, {"errors": {"f": "nullable enum of %s" % ", ".join(valid)}})
        model_id = req.get("model_id")
        if f in ("database", "table", "using_model", "using_segment"):
            if not (model_id or "").isdigit():
                raise HttpError(400, {"errors": {"model_id": "model_id is a required parameter when filter mode is '%s'" % f}})
            model_id = int(model_id)

        def build():
            cards = visible_cards(self.m, req.viewer, f if f in ("all", "mine", "archived") else "all")
            if f == "database":
                cards = [c for c in cards if c.database_id == model_id]
            elif f == "table":
                cards = [c for c in cards if c.table_id == model_id]
            elif f == "using_model":
                cards = [c for c in cards if c.source_card_id == model_id]
            elif f not in ("all", "mine", "archived"):
                cards = []  # nobody has bookmarks, segments or a view history here
            return self.card_list_body(cards)
        return self.cached(req, build)

    def card_detail(self, req, cid):
        c = self.m.cards.get(int(cid))
        if c is None:
            raise HttpError(404, "Not found.")
        if not can_read(req.viewer, c.collection_id):
            raise HttpError(403, FORBIDDEN)
        d = self.r.card_detail(self.card_dict(c.id), c, req.viewer, req.flag("legacy-mbql"))
        resp = json_response(d)
        ignored = req.flag("ignore_view") and self.p.since(44)
        if self.on_view and not ignored:
            self.on_view("cards", c.id)  # after the answer is built, as Metabase's view event
        return resp

    # -- collections --
    def _collection(self, req, cid):
        """The collection behind an id, with Metabase's 404/403 checks (None = root)."""
        if cid == "root":
            return None
        c = self.m.collections.get(int(cid))
        if c is None or int(cid) in self.settings()["vanishing_collection_ids"] or \
                (c.type == "trash" and not self.p.trash):
            raise HttpError(404, "Not found.")
        if c.id not in req.viewer.readable:
            raise HttpError(403, FORBIDDEN)
        return c

    def collection_list(self, req):
        archived = req.flag("archived")
        namespace = req.get("namespace") or None
        exclude = req.flag("exclude-other-user-collections")

        def build():
            cols = visible_collections(self.m, req.viewer, archived, namespace, exclude)
            if archived and self.p.trash and namespace is None and self.m.trash_id:
                cols.append(self.m.collections[self.m.trash_id])
            cols.sort(key=lambda c: (c.authority_level != "official", c.type is not None, c.name.lower(), c.id))
            out = [] if archived else [self.r.root(req.viewer, namespace)]
            return out + [self.r.collection(c, req.viewer) for c in cols]
        return self.cached(req, build)

    def collection_detail(self, req, cid):
        c = self._collection(req, cid)
        if c is None:
            return json_response(self.r.root(req.viewer, req.get("namespace") or None))
        return json_response(self.r.collection_detail(c, req.viewer))

    def collection_items(self, req, cid):
        coll = self._collection(req, cid)
        namespace = coll.namespace if coll else (req.get("namespace") or None)
        archived = req.flag("archived")
        show_dq = req.flag("show_dashboard_questions")
        limit, offset = req.paging()
        if namespace == "snippets":
            canonical = ["collection", "snippet"]
        else:
            canonical = ["collection", "dataset"] + (["metric"] if self.p.card_type else []) + \
                        ["card", "dashboard", "pulse", "timeline"]
        wanted = set(req.params.get("models", [])) or set(canonical)
        models = [m for m in canonical if m in wanted]

        def build():
            v, m = req.viewer, self.m
            items = []
            cid_ = coll.id if coll else None
            if coll is not None and coll.type == "trash":  # the Trash lists what was archived directly
                kids = [c for c in m.collections.values() if c.archived_directly and c.id in v.readable]
                cards = [c for c in m.cards.values() if c.archived_directly and can_read(v, c.collection_id)]
                dashes = [d for d in m.dashboards.values() if d.archived_directly and can_read(v, d.collection_id)]
                snippets = []
            else:
                where = (coll.location + "%d/" % coll.id) if coll else "/"
                kids = [c for c in m.collections.values()
                        if c.location == where and c.namespace == namespace and c.type is None
                        and c.archived == archived and c.id in v.readable
                        and not (coll is None and c.personal_owner_id)]
                cards = [c for c in m.cards.values() if c.collection_id == cid_ and c.archived == archived
                         and (show_dq or not c.dashboard_id or not self.p.dashboard_questions)] \
                    if namespace is None else []
                dashes = [d for d in m.dashboards.values() if d.collection_id == cid_ and d.archived == archived] \
                    if namespace is None else []
                snippets = [s for s in m.snippets.values() if s.collection_id == cid_ and s.archived == archived] \
                    if namespace == "snippets" else []
            if "collection" in models:
                items += [self.r.collection_item("collection", c, v) for c in kids]
            for c in cards:
                if self.r.card_model(c) in models:
                    items.append(self.r.collection_item("card", c, v))
            if "dashboard" in models:
                items += [self.r.collection_item("dashboard", d, v) for d in dashes]
            if "snippet" in models:
                items += [self.r.collection_item("snippet", s, v) for s in snippets]
            items.sort(key=lambda d: (d["model"] != "collection", (d["name"] or "").lower(), d["id"]))
            if namespace == "snippets":  # the snippet namespace is not paged
                return {"total": len(items), "data": items, "models": models}
            page = items[offset:offset + limit] if limit is not None else items
            return {"total": len(items), "data": page, "models": models, "limit": limit, "offset": offset}
        return self.cached(req, build)

    # -- dashboards --
    def dashboard_list(self, req):
        f = req.get("f") or "all"
        if f not in ("all", "mine", "archived"):
            raise HttpError(400, {"errors": {"f": "nullable enum of all, mine, archived"}})
        return self.cached(req, lambda: [self.r.dashboard(d) for d in
                                         sorted(visible_dashboards(self.m, req.viewer, f), key=_name_key)])

    def dashboard_detail(self, req, did):
        d = self.m.dashboards.get(int(did))
        if d is None or d.id in self.settings()["vanishing_dashboard_ids"]:
            raise HttpError(404, "Not found.")
        if not can_read(req.viewer, d.collection_id):
            raise HttpError(403, FORBIDDEN)
        if d.archived and not self.p.trash:  # check-not-archived, until the Trash (0.50)
            raise HttpError(404, {"message": "The object has been archived.", "error_code": "archived"})
        # not cached: with the cards spliced in as bytes this costs a fraction of a millisecond
        resp = json_response(self.r.dashboard_detail(d, req.viewer, self.dashcard_card))
        if self.on_view:
            self.on_view("dashboards", d.id)  # after the answer is built, as Metabase's view event
        return resp

    # -- databases, tables, snippets, groups, activity --
    def database_list(self, req):
        include_tables = req.get("include") == "tables" or req.flag("include_tables")
        saved = req.flag("saved")

        def build():
            dbs = sorted(visible_databases(self.m, req.viewer), key=_name_key)
            data = []
            for db in dbs:
                d = self.r.database(db, req.viewer.superuser)
                if include_tables:
                    d["tables"] = [self.r.table(t) for t in sorted(db.tables, key=lambda t: (t.name, t.id))]
                data.append(d)
            if saved:
                data.append({"name": "Saved Questions", "id": -1337, "features": ["basic-aggregations"],
                             "is_saved_questions": True})
            return {"data": data, "total": len(data)}
        return self.cached(req, build)

    def database_detail(self, req, dbid):
        db = self.m.databases.get(int(dbid))
        if db is None:
            raise HttpError(404, "Not found.")
        if db.id not in req.viewer.database_ids:
            raise HttpError(403, FORBIDDEN)
        d = self.r.database(db, req.viewer.superuser)
        d["can-manage"] = req.viewer.superuser
        return json_response(d)

    def snippet_list(self, req):
        archived = req.flag("archived")
        return self.cached(req, lambda: [self.r.snippet(s) for s in
                                         sorted(visible_snippets(self.m, req.viewer, archived), key=_name_key)])

    def snippet_detail(self, req, sid):
        s = self.m.snippets.get(int(sid))
        if s is None:
            raise HttpError(404, "Not found.")
        if not can_read(req.viewer, s.collection_id):
            raise HttpError(403, FORBIDDEN)
        return json_response(self.r.snippet(s))

    def table_list(self, req):
        hydrate = transforms.hydrate_table  # `transform`, on versions with transforms
        return self.cached(req, lambda: [hydrate(self, t, self.r.table(t, req.viewer.superuser)) for t in sorted(
            (t for db in visible_databases(self.m, req.viewer) for t in db.tables), key=lambda t: (t.name, t.id))])

    def group_list(self, req):
        if not req.viewer.superuser:
            raise HttpError(403, FORBIDDEN)
        return self.cached(req, self.r.groups)

    def activity(self, req):
        return self.cached(req, self.r.activity)

    # -- relationship endpoints (metabase-api.md section 9) --
    def membership_list(self, req):
        if not req.viewer.superuser:
            raise HttpError(403, FORBIDDEN)
        return self.cached(req, self.r.memberships)

    def segment_list(self, req):
        return self.cached(req, lambda: [self.r.segment(s) for s in
                                         sorted(visible_segments(self.m, req.viewer), key=_name_key)])

    def segment_detail(self, req, sid):
        s = self.m.segments.get(int(sid))
        if s is None:
            raise HttpError(404, "Not found.")
        if self.m.tables[s.table_id].db_id not in req.viewer.database_ids:
            raise HttpError(403, FORBIDDEN)
        return json_response(self.r.segment(s))  # archived ones too

    def timeline_list(self, req):
        include = req.get("include")
        if include not in (None, "", "events"):
            raise HttpError(400, {"errors": {"include": "nullable enum of events"}})
        archived = req.flag("archived")
        return self.cached(req, lambda: [
            self.r.timeline(t, req.viewer, include == "events", archived)
            for t in sorted(visible_timelines(self.m, req.viewer, archived), key=_name_key)])

    def timeline_detail(self, req, tid):
        t = self.m.timelines.get(int(tid))
        if t is None:
            raise HttpError(404, "Not found.")
        if not can_read(req.viewer, t.collection_id):
            raise HttpError(403, FORBIDDEN)
        return json_response(self.r.timeline(t, req.viewer, req.get("include") == "events", req.flag("archived")))

    def pulse_list(self, req):
        archived = req.flag("archived")
        dashboard_id = req.get("dashboard_id")
        if dashboard_id is not None and not dashboard_id.isdigit():
            raise HttpError(400, {"errors": {"dashboard_id": "nullable value must be an integer greater than zero."}})
        dashboard_id = int(dashboard_id) if dashboard_id else None
        since_046 = self.p.since(46)

        def build():
            pulses = listed_pulses(self.m, req.viewer, since_046, dashboard_id, archived)
            if not self.p.since(41) and dashboard_id is None:
                pulses = [p for p in pulses if p.dashboard_id is None]  # 0.40 compares dashboard_id to NULL
            return [self.r.pulse(p, req.viewer) for p in sorted(pulses, key=lambda p: ((p.name or "").lower(), p.id))]
        return self.cached(req, build)

    def database_metadata(self, req, dbid):
        db = self.m.databases.get(int(dbid))
        if db is None:
            raise HttpError(404, "Not found.")
        if db.id not in req.viewer.database_ids:
            raise HttpError(403, FORBIDDEN)
        return self.cached(req, lambda: self.r.metadata(db, req.viewer, req.flag("include_hidden")))


APP_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Metabase</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="app/assets/img/favicon.ico"></head>
<body><div id="root"></div>
<script type="application/json" id="_metabaseBootstrap">{"site-name":"Emulated Metabase"}</script>
<script src="app/dist/app-main.bundle.js"></script></body></html>
"""

SSO_PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in - Example Corp SSO</title></head>
<body><h1>Example Corp single sign-on</h1>
<form method="post" action="/sso/login"><label>Email <input name="email"></label>
<label>Password <input name="password" type="password"></label><button>Sign in</button></form>
</body></html>
"""
