"""Render's part for collections: the root, collection rows and details, collection items."""

from __future__ import annotations

from .rows import Collection
from .visibility import Viewer, can_write


class CollectionsRender:
    """Collections as one profile sends them (a part of render.Render)."""

    def root(self, viewer: Viewer, namespace=None) -> dict:
        r = {"authority_level": None, "can_write": can_write(viewer, None), "name": "Our analytics",
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
        d["can_write"] = can_write(viewer, c.id) and c.type != "trash"
        d["is_personal"] = self.m._personal_root(c) is not None
        if self.p.trash:
            d["can_restore"] = bool(c.archived_directly) and d["can_write"]
            d["can_delete"] = bool(c.archived) and viewer.superuser
        return d

    def collection_detail(self, c: Collection, viewer: Viewer) -> dict:
        d = self.collection(c, viewer)
        ids = [int(p) for p in c.location.split("/") if p]
        root = {"id": "root", "name": "Our analytics", "can_write": can_write(viewer, None)}
        d["effective_ancestors"] = [root] + [
            {"id": i, "name": self.m.collections[i].name, "can_write": can_write(viewer, i)}
            for i in ids if i in viewer.readable]
        d["effective_location"] = "/" + "".join("%d/" % i for i in ids if i in viewer.readable)
        d["parent_id"] = c.parent_id
        return d

    def collection_item(self, kind: str, row, viewer: Viewer) -> dict:
        """An item of GET /api/collection/:id/items."""
        p = self.p
        common = {"id": row.id, "name": row.name, "description": row.description,
                  "entity_id": self.eid(row.entity_id, row.id), "archived": row.archived}
        if kind == "collection":
            d = dict(common, model="collection", location=row.location, authority_level=row.authority_level,
                     personal_owner_id=row.personal_owner_id, can_write=can_write(viewer, row.id),
                     namespace=row.namespace)
            if p.trash:
                d.update(type=row.type, can_restore=bool(row.archived_directly),
                         can_delete=row.archived and viewer.superuser)
            return d
        if kind == "snippet":
            return dict(common, model="snippet", can_write=can_write(viewer, row.collection_id))
        d = dict(common, collection_position=row.collection_position, moderated_status=None,
                 can_write=can_write(viewer, row.collection_id))
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
