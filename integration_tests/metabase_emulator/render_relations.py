"""Render's part for the relationship endpoints (metabase-api.md section 9): segments, timelines
and their events, pulses, group memberships, database metadata."""

from __future__ import annotations

from .visibility import Viewer, can_write


class RelationsRender:
    """Relationship rows as one profile sends them (a part of render.Render)."""

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
             "can_write": can_write(viewer, pulse.collection_id)}
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
