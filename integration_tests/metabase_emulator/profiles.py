"""Version profiles: which routes exist and how each version renders the model's rows.

Only the differences that real Metabase versions show (metabase-api.md sections 2-3) are
modelled; a profile is a bundle of flags, and `Render` turns rows into wire dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson

from . import queries
from .model import ADMINISTRATORS, ALL_USERS, GROUP_NAMES, Card, Collection, Model, Viewer, iso


@dataclass(frozen=True)
class Profile:
    name: str
    tag: str  # version.tag of /api/session/properties
    hash: str
    date: str
    api_keys: bool  # X-API-Key honoured (v0.49+)
    user_list_admin_only: bool  # GET /api/user 403 for non-admins (v0.47+)
    activity_feed: bool  # GET /api/activity (removed in v0.47)
    dashcards_key: str  # "ordered_cards" (<0.48) or "dashcards"
    snake_sizes: bool  # size_x/size_y (v0.45+) instead of sizeX/sizeY
    tabs: bool  # dashboard tabs (v0.47+)
    card_type: bool  # card "type" (v0.49+) instead of "dataset"
    trash: bool  # Trash collection, archived_directly, can_restore/can_delete (v0.50+)
    mbql5: bool  # dataset_query as MBQL 5 + legacy_query + card_schema (v0.57+)
    remote_sync: bool  # is_remote_synced (v0.57+)
    dashboard_questions: bool  # card.dashboard_id / dashboard (v0.53+)
    legacy_rows: bool  # some rows without entity_id, some H2 zone-less timestamps
    throttle_status: int  # status of a throttled login
    sso_source: bool  # users carry sso_source instead of google_auth/ldap_auth
    view_bumps_updated_at: bool = False  # a card/dashboard view moves updated_at (v0.52, metabase#53687)

    def since(self, minor: int) -> bool:
        """This version is 0.<minor> or later (for the differences metabase-api.md section 9 lists)."""
        return int(self.tag.split(".")[1]) >= minor


PROFILES = {
    "v0.40": Profile("v0.40", "v0.40.8", "f8a3a54", "2021-09-27", api_keys=False,
                     user_list_admin_only=False, activity_feed=True, dashcards_key="ordered_cards",
                     snake_sizes=False, tabs=False, card_type=False, trash=False, mbql5=False,
                     remote_sync=False, dashboard_questions=False, legacy_rows=True,
                     throttle_status=400, sso_source=False),
    "v0.50": Profile("v0.50", "v0.50.29", "e8d2f4b", "2024-10-03", api_keys=True,
                     user_list_admin_only=True, activity_feed=False, dashcards_key="dashcards",
                     snake_sizes=True, tabs=True, card_type=True, trash=True, mbql5=False,
                     remote_sync=False, dashboard_questions=False, legacy_rows=False,
                     throttle_status=401, sso_source=True),
    "v0.57": Profile("v0.57", "v0.57.3", "2c41b9e", "2025-11-05", api_keys=True,
                     user_list_admin_only=True, activity_feed=False, dashcards_key="dashcards",
                     snake_sizes=True, tabs=True, card_type=True, trash=True, mbql5=True,
                     remote_sync=True, dashboard_questions=True, legacy_rows=False,
                     throttle_status=401, sso_source=True),
}
# 0.52 as 0.50, plus its bug: every view of a card or dashboard bumped updated_at (fixed later)
PROFILES["v0.52"] = replace(PROFILES["v0.50"], name="v0.52", tag="v0.52.11", hash="3f7c1d2", date="2025-02-10",
                            view_bumps_updated_at=True)
PROFILES = dict(sorted(PROFILES.items()))
GARBAGE_UPDATED_AT = "0000-00-00T00:00:00"  # a MySQL zero date: no parser takes it


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError("unknown profile %r (known: %s)" % (name, ", ".join(PROFILES))) from None


class Render:
    """Turns model rows into the JSON-ready dicts one profile sends."""

    def __init__(self, profile: Profile, model: Model):
        self.p = profile
        self.m = model
        self._cols_mbql: dict = {}
        self._cols_native: dict = {}
        self._creators: dict = {}
        self._coll_rows: dict = {}
        self._authors = None
        # how timestamps go on the wire (Emulator settings; changing them re-renders everything)
        self.offsets = False
        self.null_updated: dict = {}  # stream -> ids whose updated_at is null
        self.garbage_updated: dict = {}  # stream -> ids whose updated_at is unparsable

    # -- small pieces --
    def ts(self, us, row_id: int = 1):
        """A timestamp as Metabase sends it; the form depends on the row, so one answer mixes them."""
        if us is None:
            return None
        # the app database's precision: some rows in milliseconds, some in whole seconds, the rest µs
        if row_id % 3 == 0:
            us -= us % 1000
        elif row_id % 7 == 5:
            us -= us % 1_000_000
        # v0.40-era instances on H2 send some timestamps without a zone
        if self.p.legacy_rows and row_id % 4 == 0:
            return iso(us, False)
        # a JVM in another zone sends the same instant with an offset
        if self.offsets and row_id % 5 == 1:
            return iso(us, False) + "+00:00"
        if self.offsets and row_id % 5 == 2:
            return iso(us - 5 * 3600 * 10**6, False) + "-05:00"
        return iso(us)

    def uts(self, stream: str, us, row_id: int):
        """A row's updated_at: ts(), or null / unparsable on the rows the settings name."""
        if row_id in self.null_updated.get(stream, ()):
            return None
        if row_id in self.garbage_updated.get(stream, ()):
            return GARBAGE_UPDATED_AT
        return self.ts(us, row_id)

    def last_used(self, c):
        return c.last_used_at if c.last_used_at is not None else (c.last_query_start or c.updated_at)

    def eid(self, entity_id: str, row_id: int):
        return None if self.p.legacy_rows and row_id % 5 == 0 else entity_id

    def creator(self, uid: int):
        c = self._creators.get(uid)
        if c is None:
            u = self.m.users[uid]
            c = self._creators[uid] = {
                "email": u.email, "first_name": u.first_name, "last_login": self.ts(u.last_login, u.id),
                "is_qbnewb": u.is_qbnewb, "is_superuser": u.is_superuser, "id": u.id,
                "last_name": u.last_name, "date_joined": self.ts(u.date_joined, u.id),
                "common_name": u.common_name}
        return c

    def last_edit(self, uid, us, row_id):
        if uid is None:
            return None
        u = self.m.users[uid]
        return {"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
                "timestamp": self.ts(us, row_id)}

    # -- collections --
    def root(self, viewer: Viewer, namespace=None) -> dict:
        r = {"authority_level": None, "can_write": self.m.can_write(viewer, None), "name": "Our analytics",
             "effective_ancestors": [], "effective_location": None, "parent_id": None, "id": "root",
             "is_personal": False}
        if self.p.trash:
            r.update(namespace=namespace, can_restore=False, can_delete=False)
        if self.p.remote_sync:
            r["is_remote_synced"] = False
        return r

    def collection_row(self, c: Collection) -> dict:
        """The bare row, as hydrated into a card's `collection`."""
        row = self._coll_rows.get(c.id)
        if row is None:
            row = {"authority_level": c.authority_level if not self.p.legacy_rows else None,
                   "description": c.description, "archived": c.archived, "slug": c.slug,
                   "name": c.name, "personal_owner_id": c.personal_owner_id, "id": c.id,
                   "entity_id": self.eid(c.entity_id, c.id), "location": c.location, "namespace": c.namespace}
            if self.p.legacy_rows:
                row["color"] = ("#509EE3", "#88BF4D", "#A989C5", "#EF8C8C", "#F9D45C")[c.id % 5]
            else:
                row["created_at"] = self.ts(c.created_at, c.id)
            if self.p.trash:
                row.update(type=c.type, is_sample=c.is_sample, archived_directly=c.archived_directly,
                           archive_operation_id=("%032x" % (c.id * 7919))[:32] if c.archived_directly else None)
            if self.p.remote_sync:
                row["is_remote_synced"] = False
            self._coll_rows[c.id] = row
        return row

    def collection(self, c: Collection, viewer: Viewer) -> dict:
        d = dict(self.collection_row(c))
        d["can_write"] = self.m.can_write(viewer, c.id) and c.type != "trash"
        d["is_personal"] = self.m._personal_root(c) is not None
        if self.p.trash:
            d["can_restore"] = bool(c.archived_directly) and d["can_write"]
            d["can_delete"] = bool(c.archived) and viewer.superuser
        return d

    def collection_detail(self, c: Collection, viewer: Viewer) -> dict:
        d = self.collection(c, viewer)
        ids = [int(p) for p in c.location.split("/") if p]
        root = {"id": "root", "name": "Our analytics", "can_write": self.m.can_write(viewer, None)}
        d["effective_ancestors"] = [root] + [
            {"id": i, "name": self.m.collections[i].name, "can_write": self.m.can_write(viewer, i)}
            for i in ids if i in viewer.readable]
        d["effective_location"] = "/" + "".join("%d/" % i for i in ids if i in viewer.readable)
        d["parent_id"] = c.parent_id
        return d

    # -- cards --
    def col_mbql(self, fid: int) -> dict:
        col = self._cols_mbql.get(fid)
        if col is None:
            f = self.m.fields[fid]
            col = self._cols_mbql[fid] = {
                "description": f.description, "semantic_type": f.semantic_type, "coercion_strategy": None,
                "name": f.name, "settings": None, "fk_target_field_id": f.fk_target_field_id,
                "field_ref": ["field", f.id, None], "effective_type": f.base_type, "id": f.id,
                "visibility_type": "normal", "display_name": f.display_name, "fingerprint": f.fingerprint,
                "base_type": f.base_type, "table_id": f.table_id}
            if self.p.card_type:  # newer versions save more of the field in result_metadata
                col.update(database_type=f.database_type, nfc_path=None, parent_id=None, position=f.position,
                           active=True, has_field_values="list" if f.semantic_type == "type/Category" else "none",
                           source="fields")
        return col

    def col_native(self, fid: int) -> dict:
        col = self._cols_native.get(fid)
        if col is None:
            f = self.m.fields[fid]
            col = self._cols_native[fid] = {
                "display_name": f.name, "field_ref": ["field", f.name, {"base-type": f.base_type}],
                "name": f.name, "base_type": f.base_type, "effective_type": f.base_type,
                "semantic_type": f.semantic_type, "fingerprint": f.fingerprint}
            if self.p.card_type:
                col.update(database_type=f.database_type, source="native")
        return col

    def result_metadata(self, card: Card):
        q = card.query
        if q["native"]:
            return [self.col_native(f) for f in q["columns"]]
        if not q["aggregation"]:
            return [self.col_mbql(f) for f in q["columns"]]
        out = []
        if q["breakout"]:
            fid, unit = q["breakout"]
            col = dict(self.col_mbql(fid))
            if unit:
                col.update(unit=unit, field_ref=["field", fid, {"temporal-unit": unit}],
                           display_name="%s: %s" % (col["display_name"], unit.capitalize()))
            out.append(col)
        agg = q["aggregation"][0]
        base = "type/Float" if agg == "avg" else "type/BigInteger"
        numbers = {"min": 1.0, "q1": 10.5, "q3": 240.25, "max": 1000.0 + card.id, "sd": 211.4, "avg": 130.7}
        out.append({"display_name": {"count": "Count", "sum": "Sum", "avg": "Average", "distinct": "Distinct values"}[agg],
                    "semantic_type": "type/Quantity" if agg in ("count", "distinct") else None, "settings": None,
                    "field_ref": ["aggregation", 0], "name": agg, "base_type": base, "effective_type": base,
                    "fingerprint": {"global": {"distinct-count": 1 + card.id % 997, "nil%": 0.0},
                                    "type": {"type/Number": numbers}}})
        return out

    def card(self, c: Card) -> dict:
        """A GET /api/card list item (viewer independent, so its bytes can be shared)."""
        p = self.p
        d = {"cache_invalidated_at": None, "description": c.description, "archived": c.archived,
             "collection_position": c.collection_position, "table_id": c.table_id,
             "result_metadata": self.result_metadata(c), "creator": self.creator(c.creator_id),
             "database_id": c.database_id, "enable_embedding": False, "collection_id": c.collection_id,
             "query_type": c.query_type, "name": c.name, "last_query_start": self.ts(c.last_query_start, c.id),
             "dashboard_count": c.dashboard_count, "last_used_at": self.ts(self.last_used(c), c.id),
             "average_query_time": c.average_query_time, "creator_id": c.creator_id,
             "updated_at": self.uts("cards", c.updated_at, c.id), "made_public_by_id": None, "embedding_params": None,
             "cache_ttl": c.cache_ttl, "dataset_query": queries.mbql5(self.m, c) if p.mbql5 else queries.mbql4(self.m, c), "id": c.id,
             "parameter_mappings": [], "display": c.display, "entity_id": self.eid(c.entity_id, c.id),
             "collection_preview": True, "visualization_settings": c.visualization_settings,
             "collection": self.collection_row(self.m.collections[c.collection_id]) if c.collection_id else None,
             "parameters": c.parameters, "created_at": self.ts(c.created_at, c.id), "public_uuid": None,
             "initially_published_at": None}
        le = self.last_edit(c.editor_id, c.updated_at, c.id)
        if le:
            d["last-edit-info"] = le
        if p.card_type:
            d.update(type=c.type, source_card_id=c.source_card_id, view_count=c.view_count,
                     parameter_usage_count=0, metabase_version="%s (%s)" % (p.tag, p.hash)
                     if c.updated_at > 1_700_000_000 * 10**6 else None)
        else:
            d.update(dataset=c.type == "model", favorite=False)
        if p.trash:
            d["archived_directly"] = c.archived_directly
        if p.mbql5:
            d.update(legacy_query=orjson.dumps(queries.mbql4(self.m, c)).decode(), card_schema=22, is_remote_synced=False,
                     document_id=None, dependency_analysis_version=1)
            d["dataset_query"]["lib.convert/converted?"] = True  # stored as MBQL 4, converted on read
        if p.dashboard_questions:
            dash = self.m.dashboards.get(c.dashboard_id) if c.dashboard_id else None
            d["dashboard_id"] = c.dashboard_id
            d["dashboard"] = {"id": dash.id, "name": dash.name, "moderation_status": None} if dash else None
        return d

    def card_detail(self, d: dict, c: Card, viewer: Viewer, legacy_mbql=False) -> dict:
        """Detail = list item + hydrated permissions; root items get the root placeholder."""
        can_write = self.m.can_write(viewer, c.collection_id)
        if d["collection"] is None:
            d["collection"] = self.root(viewer)
        d.update(can_write=can_write, moderation_reviews=[])
        if self.p.card_type:
            d.update(can_manage_db=viewer.superuser, can_run_adhoc_query=c.database_id in viewer.database_ids)
        if self.p.trash:
            d.update(can_restore=c.archived_directly and can_write, can_delete=c.archived and viewer.superuser)
            if c.archived_directly:
                d["collection_id"] = self.m.trash_id
        if legacy_mbql and self.p.mbql5:
            d["dataset_query"] = orjson.loads(d["legacy_query"])
        return d

    def collection_item(self, kind: str, row, viewer: Viewer) -> dict:
        """An item of GET /api/collection/:id/items."""
        p = self.p
        common = {"id": row.id, "name": row.name, "description": row.description,
                  "entity_id": self.eid(row.entity_id, row.id), "archived": row.archived}
        if kind == "collection":
            d = dict(common, model="collection", location=row.location, authority_level=row.authority_level,
                     personal_owner_id=row.personal_owner_id, can_write=self.m.can_write(viewer, row.id),
                     namespace=row.namespace)
            if p.trash:
                d.update(type=row.type, can_restore=bool(row.archived_directly),
                         can_delete=row.archived and viewer.superuser)
            return d
        if kind == "snippet":
            return dict(common, model="snippet", can_write=self.m.can_write(viewer, row.collection_id))
        d = dict(common, collection_position=row.collection_position, moderated_status=None,
                 can_write=self.m.can_write(viewer, row.collection_id))
        d["last-edit-info"] = self.last_edit(row.editor_id, row.updated_at, row.id)
        if kind == "card":
            d.update(model=self.card_model(row), display=row.display, database_id=row.database_id,
                     collection_preview=True, fully_parameterized=not row.parameters)
            if p.trash:
                d.update(dashboard_count=row.dashboard_count,
                         last_used_at=self.ts(self.last_used(row), row.id))
            if p.dashboard_questions:
                dash = self.m.dashboards.get(row.dashboard_id) if row.dashboard_id else None
                d.update(dashboard_id=row.dashboard_id,
                         dashboard={"id": dash.id, "name": dash.name, "moderation_status": None} if dash else None)
        else:
            d["model"] = "dashboard"
        if p.trash:
            d.update(can_restore=row.archived_directly and d["can_write"],
                     can_delete=row.archived and viewer.superuser)
        if p.remote_sync:
            d["is_remote_synced"] = False
        return d

    def card_model(self, c: Card) -> str:
        if c.type == "model":
            return "dataset"
        return "metric" if c.type == "metric" and self.p.card_type else "card"

    # -- dashboards --
    def dashboard(self, d) -> dict:
        """A GET /api/dashboard list item: no dashcards."""
        p = self.p
        out = {"description": d.description, "archived": d.archived, "collection_position": d.collection_position,
               "creator": self.creator(d.creator_id), "enable_embedding": False, "collection_id": d.collection_id,
               "show_in_getting_started": False, "name": d.name, "caveats": None, "creator_id": d.creator_id,
               "updated_at": self.uts("dashboards", d.updated_at, d.id), "made_public_by_id": None, "embedding_params": None,
               "cache_ttl": None, "id": d.id, "position": None, "entity_id": self.eid(d.entity_id, d.id),
               "parameters": d.parameters, "created_at": self.ts(d.created_at, d.id), "public_uuid": None,
               "points_of_interest": None}
        le = self.last_edit(d.editor_id, d.revised_at or d.updated_at, d.id)
        if le:
            out["last-edit-info"] = le
        if p.tabs:
            out.update(width=d.width, auto_apply_filters=d.auto_apply_filters)
        if p.trash:
            out.update(archived_directly=d.archived_directly, view_count=d.view_count,
                       last_viewed_at=self.ts(d.updated_at + 10**9 if d.last_viewed_at is None else d.last_viewed_at, d.id), initially_published_at=None)
        if p.remote_sync:
            out["is_remote_synced"] = False
        if p.since(57):
            out["dependency_analysis_version"] = 0
        return out

    def dashboard_detail(self, d, viewer: Viewer, card_json) -> dict:
        """Full detail; `card_json(card_id, extra)` gives the card's JSON, as embedded in dashcards."""
        p = self.p
        out = self.dashboard(d)
        can_write = self.m.can_write(viewer, d.collection_id)
        coll = self.m.collections.get(d.collection_id) if d.collection_id else None
        out.update(collection=self.collection_row(coll) if coll else self.root(viewer),
                   collection_authority_level=coll.authority_level if coll else None,
                   can_write=can_write, param_fields=None, moderation_reviews=[])
        if p.trash:
            out.update(last_used_param_values={}, can_restore=d.archived_directly and can_write,
                       can_delete=d.archived and viewer.superuser)
            if d.archived_directly:  # shown in the Trash, as present-in-trash-if-archived-directly does
                out["collection_id"] = self.m.trash_id

        def embedded(cid):
            c = self.m.cards[cid]
            if not self.m.can_read(viewer, c.collection_id):
                return {"id": cid}  # what Metabase hands back for a card you may not read
            return card_json(cid, b',"query_average_duration":' + orjson.dumps(c.average_query_time))

        dashcards = []
        for dc in d.dashcards:
            card = self.m.cards.get(dc.card_id) if dc.card_id else None
            if card is not None and card.archived and not (
                    self.p.dashboard_questions and card.dashboard_id == d.id and not card.archived_directly):
                continue  # Metabase's join keeps only unarchived cards (and its own dashboard's questions)
            x = {"id": dc.id, "dashboard_id": d.id, "card_id": dc.card_id, "row": dc.row, "col": dc.col,
                 "created_at": self.ts(dc.created_at, dc.id), "updated_at": self.uts("dashboard_cards", dc.updated_at, dc.id),
                 "card": embedded(dc.card_id) if dc.card_id else {"query_average_duration": None},
                 "series": [embedded(s) for s in dc.series if not self.m.cards[s].archived
                            and self.m.can_read(viewer, self.m.cards[s].collection_id)],
                 "parameter_mappings": [{"parameter_id": pid, "card_id": dc.card_id, "target": [
                     "dimension", ["field", fid, None]]} for pid, fid in dc.mappings],
                 "visualization_settings": dc.virtual or {}}
            if p.snake_sizes:
                x.update(size_x=dc.size_x, size_y=dc.size_y)
            else:
                x.update(sizeX=dc.size_x, sizeY=dc.size_y)
            if p.tabs:
                x.update(dashboard_tab_id=d.tabs[dc.tab_index][0] if d.tabs and dc.tab_index is not None else None,
                         entity_id=dc.entity_id, action_id=None, collection_authority_level=None)
            if p.remote_sync:
                x["inline_parameters"] = [pp["id"] for pp in d.parameters] if dc.virtual and \
                    dc.virtual["virtual_card"]["display"] == "heading" and d.parameters else None
            dashcards.append(x)
        out[p.dashcards_key] = dashcards
        if p.tabs:
            out["tabs"] = [{"id": tid, "dashboard_id": d.id, "entity_id": eid, "name": name, "position": i,
                            "created_at": self.ts(d.created_at), "updated_at": self.ts(d.created_at)}
                           for i, (tid, name, eid) in enumerate(d.tabs)]
        return out

    # -- users --
    def user(self, u, admin_view: bool = True) -> dict:
        if not admin_view:  # what a non-admin saw in GET /api/user before v0.47
            return {"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
                    "common_name": u.common_name}
        d = {"email": u.email, "first_name": u.first_name, "locale": u.locale,
             "last_login": self.ts(u.last_login, u.id), "is_active": u.is_active, "is_qbnewb": u.is_qbnewb,
             "updated_at": self.uts("users", u.updated_at, u.id), "group_ids": list(u.group_ids),
             "is_superuser": u.is_superuser, "login_attributes": None, "id": u.id, "last_name": u.last_name,
             "date_joined": self.ts(u.date_joined, u.id), "personal_collection_id": u.personal_collection_id,
             "common_name": u.common_name}
        if self.p.sso_source:
            d["sso_source"] = u.sso_source
        else:
            d.update(google_auth=u.sso_source == "google", ldap_auth=u.sso_source == "ldap")
        return d

    def current_user(self, u) -> dict:
        if self._authors is None:  # who made what, computed once rather than per request
            self._authors = {}
            for c in self.m.cards.values():
                self._authors.setdefault(c.creator_id, []).append(c)
        d = self.user(u)
        mine = self._authors.get(u.id, [])
        d.update(is_installer=u.id == 1, has_invited_second_user=u.id == 1 and len(self.m.users) > 1,
                 has_question_and_dashboard=bool(mine) and bool(self.m.dashboards),
                 has_model=any(c.type == "model" for c in mine), first_login=self.ts(u.date_joined, u.id))
        if self.p.trash:
            d["custom_homepage"] = None
        return d

    # -- databases, tables, snippets, groups --
    def database(self, db, admin: bool) -> dict:
        p = self.p
        features = ["basic-aggregations", "standard-deviation-aggregations", "expression-aggregations",
                    "foreign-keys", "right-join", "left-join", "native-parameters", "nested-queries",
                    "expressions", "case-sensitivity-string-filter-options", "binning", "inner-join",
                    "advanced-math-expressions"] + (["regex", "percentile-aggregations", "full-join"] if db.engine != "h2" else [])
        d = {"description": None if not db.is_sample else "Some example data for you to play around with.",
             "features": features, "cache_field_values_schedule": "0 0 0 * * ? *", "timezone": db.timezone,
             "auto_run_queries": True, "metadata_sync_schedule": "0 %d * * * ? *" % (db.id * 7 % 60), "name": db.name,
             "settings": None, "caveats": None, "creator_id": db.creator_id, "is_full_sync": True,
             "updated_at": self.uts("databases", db.updated_at, db.id), "native_permissions": "write", "cache_ttl": None,
             "is_sample": db.is_sample, "id": db.id, "is_on_demand": False, "engine": db.engine,
             "initial_sync_status": "complete", "refingerprint": None, "created_at": self.ts(db.created_at, db.id),
             "points_of_interest": None}
        if admin:
            d["details"] = db.details
        if p.trash:
            d.update(is_audit=False, can_upload=False, uploads_enabled=False, uploads_schema_name=None,
                     uploads_table_prefix=None, is_attached_dwh=False,
                     dbms_version={"flavor": db.engine, "version": "15.4", "semantic-version": [15, 4]})
        if p.remote_sync:
            d.update(router_database_id=None, provider_name=None)
        return d

    def table(self, t, admin: bool = False) -> dict:
        # The nested database carries `details` for those who may edit it, as GET /api/database.
        d = {"description": t.description, "entity_type": t.entity_type, "schema": t.schema,
             "db": self.database(self.m.databases[t.db_id], admin=admin), "show_in_getting_started": False,
             "name": t.name, "caveats": None, "updated_at": self.uts("tables", t.updated_at, t.id), "active": True, "id": t.id,
             "db_id": t.db_id, "visibility_type": t.visibility_type, "field_order": "database", "initial_sync_status": "complete",
             "display_name": t.display_name, "created_at": self.ts(t.created_at, t.id), "points_of_interest": None}
        if self.p.trash:
            d.update(entity_id=t.entity_id, estimated_row_count=t.estimated_row_count, view_count=0, is_upload=False)
        if self.p.since(57):
            d.update(is_writable=not self.m.databases[t.db_id].restricted, data_authority="unconfigured")
        return d

    def snippet(self, s) -> dict:
        d = {"description": s.description, "archived": s.archived, "creator_id": s.creator_id,
             "collection_id": s.collection_id, "name": s.name, "creator": self.creator(s.creator_id),
             "updated_at": self.uts("native_query_snippets", s.updated_at, s.id), "id": s.id, "entity_id": self.eid(s.entity_id, s.id),
             "content": s.content, "created_at": self.ts(s.created_at, s.id)}
        if self.p.remote_sync:
            d.update(template_tags={}, is_remote_synced=False)
        return d

    def groups(self) -> list:
        out = []
        for gid, name in GROUP_NAMES.items():
            g = {"id": gid, "name": name, "member_count": len(self.m.group_members(gid))}
            if self.p.remote_sync:
                g["magic_group_type"] = {ALL_USERS: "all-internal-users", ADMINISTRATORS: "admin"}.get(gid)
            out.append(g)
        return sorted(out, key=lambda g: g["name"].lower())

    def activity(self) -> list:
        """The v0.40 activity feed: the most recent card and dashboard creations."""
        events = [(c.created_at, "card", c) for c in self.m.cards.values()] + \
                 [(d.created_at, "dashboard", d) for d in self.m.dashboards.values()]
        events.sort(key=lambda e: (-e[0], e[1], e[2].id))
        out = []
        for n, (t, model, row) in enumerate(events[:40]):
            out.append({"id": 10_000 - n, "table_id": getattr(row, "table_id", None), "table": None,
                        "database_id": getattr(row, "database_id", None), "model_exists": not row.archived,
                        "topic": model + "-create", "custom_id": None,
                        "details": {"name": row.name, "description": row.description},
                        "model_id": row.id, "database": None, "user_id": row.creator_id,
                        "timestamp": self.ts(t, row.id), "user": self.creator(row.creator_id), "model": model})
        return out

    def session_properties(self, password_login: bool) -> dict:
        p = self.p
        return {"version": {"date": p.date, "tag": p.tag, "branch": "release-x.%s.x" % p.tag.split(".")[1],
                            "hash": p.hash},
                "site-name": "Emulated Metabase", "site-url": None, "site-locale": "en", "application-name": "Metabase",
                "has-user-setup": True, "setup-token": None, "enable-password-login": password_login,
                "google-auth-enabled": False, "ldap-enabled": False, "anon-tracking-enabled": False,
                "available-locales": [["de", "German"], ["en", "English"], ["fr", "French"], ["ja", "Japanese"]],
                "token-features": {"sso_saml": False, "sso_jwt": False, "embedding": False, "official_collections": False},
                "version-info-last-checked": None, "startup-time-millis": 21373.0}

    # -- relationship endpoints (metabase-api.md section 9) --
    def segment(self, s) -> dict:
        p, t = self.p, self.m.tables[s.table_id]
        fid, value = s.filter
        f = self.m.fields[fid]
        if p.since(58):  # MBQL 5 segments (metabase#65566); v0.57 still sends the MBQL 4 fragment
            definition = {"lib/type": "mbql/query", "database": t.db_id, "stages": [{
                "lib/type": "mbql.stage/mbql", "source-table": t.id, "filters": [
                    ["=", {"lib/uuid": "%08x-0000-4000-8000-%012x" % (s.id, fid)},
                     ["field", {"lib/uuid": "%08x-0000-4000-8000-%012x" % (fid, s.id), "base-type": f.base_type}, fid],
                     value]]}]}
        else:
            definition = {"source-table": t.id, "filter": ["=", ["field", fid, None], value]}
        d = {"id": s.id, "name": s.name, "description": s.description, "table_id": t.id, "definition": definition,
             "creator_id": s.creator_id, "creator": self.creator(s.creator_id), "archived": s.archived,
             "caveats": s.caveats, "points_of_interest": None, "show_in_getting_started": False,
             "created_at": self.ts(s.created_at, s.id), "updated_at": self.ts(s.updated_at, s.id)}
        if p.since(44):
            d["entity_id"] = s.entity_id
        if p.since(47):
            d["definition_description"] = "Filtered by %s is %s" % (f.display_name, value)
        else:
            # api/query_description.clj: one {field} (or {segment}) per clause the filter uses
            d["query_description"] = {"table": t.display_name, "filter": [{"field": f.display_name}]}
        return d

    def timeline_event(self, e) -> dict:
        return {"id": e.id, "timeline_id": e.timeline_id, "name": e.name, "description": e.description,
                "timestamp": self.ts(e.timestamp), "time_matters": e.time_matters, "timezone": e.timezone,
                "icon": e.icon, "archived": e.archived, "creator_id": e.creator_id,
                "creator": self.creator(e.creator_id),
                "created_at": self.ts(e.created_at, e.id), "updated_at": self.ts(e.updated_at, e.id)}

    def timeline(self, t, viewer: Viewer, include_events: bool, archived: bool) -> dict:
        """`archived` lists: all their events; live lists: only live events."""
        coll = self.m.collections.get(t.collection_id) if t.collection_id else None
        d = {"id": t.id, "name": t.name, "description": t.description, "icon": t.icon,
             "collection_id": t.collection_id, "default": t.default, "archived": t.archived,
             "creator_id": t.creator_id, "creator": self.creator(t.creator_id),
             "created_at": self.ts(t.created_at, t.id), "updated_at": self.ts(t.updated_at, t.id),
             "collection": self.collection(coll, viewer) if coll else self.root(viewer)}
        if self.p.since(44):
            d["entity_id"] = t.entity_id
        if self.p.remote_sync:
            d["is_remote_synced"] = False
        if include_events:
            d["events"] = [self.timeline_event(e) for e in t.events if archived or not e.archived]
        return d

    def pulse(self, pulse, viewer: Viewer) -> dict:
        p, m = self.p, self.m
        d = {"id": pulse.id, "name": pulse.name, "creator_id": pulse.creator_id,
             "creator": self.creator(pulse.creator_id),
             "created_at": self.ts(pulse.created_at, pulse.id), "updated_at": self.ts(pulse.updated_at, pulse.id),
             "skip_if_empty": pulse.skip_if_empty, "collection_id": pulse.collection_id, "collection_position": None,
             "archived": pulse.archived, "dashboard_id": pulse.dashboard_id, "parameters": pulse.parameters,
             "can_write": m.can_write(viewer, pulse.collection_id)}
        if p.since(44):
            d["entity_id"] = pulse.entity_id
        if not p.since(46):  # hydrated until metabase#27743
            dash = m.dashboards.get(pulse.dashboard_id) if pulse.dashboard_id else None
            d["dashboard"] = {"id": dash.id, "name": dash.name, "description": dash.description,
                              "collection_id": dash.collection_id} if dash else None
        cards = []
        for cid, dcid in pulse.cards:
            c = m.cards.get(cid)
            if c is None or c.archived:  # a deleted card's pulse_card rows go with it
                continue
            card = {"id": c.id, "name": c.name, "description": c.description, "collection_id": c.collection_id,
                    "display": c.display, "include_csv": False, "include_xls": c.id % 5 == 0,
                    "format_rows": True, "dashboard_card_id": dcid, "dashboard_id": pulse.dashboard_id,
                    "parameter_mappings": None}
            if p.trash:
                card["pivot_results"] = False
            cards.append(card)
        d["cards"] = cards
        channels = []
        for ch in pulse.channels:
            people = [m.users[u] for u in ch.user_ids if m.users[u].is_active]  # deactivated: not listed
            x = {"id": ch.id, "pulse_id": pulse.id, "channel_type": ch.channel_type, "details": ch.details,
                 "schedule_type": ch.schedule_type, "schedule_hour": ch.schedule_hour,
                 "schedule_day": ch.schedule_day, "schedule_frame": ch.schedule_frame,
                 "enabled": not pulse.archived, "created_at": self.ts(ch.created_at, ch.id),
                 "updated_at": self.ts(ch.updated_at, ch.id),
                 "recipients": [{"email": e} for e in ch.emails] + [
                     {"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
                      "common_name": u.common_name} for u in people]}
            if p.since(44):
                x["entity_id"] = ch.entity_id
            if p.trash:
                x["channel_id"] = None
            channels.append(x)
        d["channels"] = channels
        return d

    def memberships(self) -> dict:
        out: dict = {}
        for mid, uid, gid in self.m.memberships:
            row = {"membership_id": mid, "group_id": gid, "user_id": uid}
            if self.p.since(43):
                row["is_group_manager"] = False  # needs Enterprise's group managers
            out.setdefault(str(uid), []).append(row)
        return out

    def metadata_field(self, f, with_target: bool = True) -> dict:
        p, t = self.p, self.m.tables[f.table_id]
        pk = f.semantic_type == "type/PK"
        target = self.m.fields.get(f.fk_target_field_id) if f.fk_target_field_id else None
        d = {"id": f.id, "table_id": f.table_id, "name": f.name, "display_name": f.display_name,
             "description": f.description, "database_type": f.database_type, "base_type": f.base_type,
             "effective_type": f.base_type, "semantic_type": f.semantic_type, "coercion_strategy": None,
             "fk_target_field_id": f.fk_target_field_id, "visibility_type": field_visibility(f),
             "has_field_values": "list" if f.semantic_type == "type/Category" else
             "search" if f.base_type == "type/Text" else "none",
             "fingerprint": f.fingerprint, "fingerprint_version": 5, "last_analyzed": self.ts(t.updated_at, t.id),
             "position": f.position, "database_position": f.position, "custom_position": 0, "active": True,
             "parent_id": None, "settings": None, "caveats": None, "points_of_interest": None,
             "preview_display": True, "created_at": self.ts(t.created_at + f.position * 10**6, f.id),
             "updated_at": self.ts(t.updated_at, f.id)}
        if with_target:
            d["target"] = self.metadata_field(target, with_target=False) if target else None
        if p.since(43):
            d["nfc_path"] = None
        if p.since(44):
            d["database_required"] = False
        if p.since(47):
            d.update(json_unfolding=False, database_is_auto_increment=pk)
        if p.since(49):
            d["database_indexed"] = True if pk else None
        if p.since(50):
            d["database_partitioned"] = None
        if p.since(57):
            d.update(database_is_pk=pk, database_is_nullable=not pk, database_is_generated=False, database_default=None)
        return d

    def metadata(self, db, viewer: Viewer, include_hidden: bool) -> dict:
        """GET /api/database/:id/metadata: the database with its tables, their fields and segments."""
        d = self.database(db, viewer.superuser)
        tables = []
        for t in sorted(db.tables, key=lambda t: (t.display_name.lower(), t.id)):
            if t.visibility_type and not include_hidden:
                continue
            x = self.table(t)
            del x["db"]
            fields = [f for f in t.fields if f.active and (include_hidden or field_visibility(f) != "sensitive")]
            x["fields"] = [self.metadata_field(f) for f in sorted(fields, key=lambda f: (f.position, f.name.lower()))]
            x["segments"] = [self.segment(s) for s in sorted(
                (s for s in self.m.segments.values() if s.table_id == t.id and not s.archived), key=lambda s: s.name)]
            x["metrics"] = []
            tables.append(x)
        d["tables"] = tables
        return d


def field_visibility(f) -> str:
    """Password columns are "sensitive" (only listed with include_hidden), long texts "details-only"."""
    if "password" in f.name.lower():
        return "sensitive"
    return "details-only" if f.semantic_type == "type/Description" else "normal"
