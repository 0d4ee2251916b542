"""Render: turns model rows into the JSON-ready dicts one profile sends (profiles.py's flags).

One class, written in parts: the pieces every kind uses (timestamps, entity ids, creators,
last-edit-info), users, databases, tables, snippets, groups and the instance's properties here;
collections in render_collections.py, cards and dashboards in render_cards.py, the relationship
endpoints (metabase-api.md section 9) in render_relations.py. A new kind of object renders in
its own module, with a function taking this renderer (as alerts.render_alert does).
"""

from __future__ import annotations

from .render_cards import CardsRender
from .render_collections import CollectionsRender
from .render_relations import RelationsRender, field_visibility  # noqa: F401 (re-exported)
from .rows import ADMINISTRATORS, ALL_USERS, GROUP_NAMES, iso

GARBAGE_UPDATED_AT = "0000-00-00T00:00:00"  # a MySQL zero date: no parser takes it


class Render(CollectionsRender, CardsRender, RelationsRender):
    """Turns model rows into the JSON-ready dicts one profile sends (a profiles.Profile, a
    model.Model); memoizes what many answers share."""

    def __init__(self, profile, model):
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
