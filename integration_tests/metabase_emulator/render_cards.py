"""Render's part for cards (with their queries and result metadata) and dashboards (with their
dashcards, which embed the cards' JSON)."""

from __future__ import annotations

import orjson

from . import queries, visibility
from .rows import Card
from .visibility import Viewer


class CardsRender:
    """Cards and dashboards as one profile sends them (a part of render.Render)."""

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
                     document_id=c.document_id, dependency_analysis_version=1)
            d["dataset_query"]["lib.convert/converted?"] = True  # stored as MBQL 4, converted on read
        if p.dashboard_questions:
            dash = self.m.dashboards.get(c.dashboard_id) if c.dashboard_id else None
            d["dashboard_id"] = c.dashboard_id
            d["dashboard"] = {"id": dash.id, "name": dash.name, "moderation_status": None} if dash else None
        return d

    def card_detail(self, d: dict, c: Card, viewer: Viewer, legacy_mbql=False) -> dict:
        """Detail = list item + hydrated permissions; root items get the root placeholder."""
        can_write = visibility.can_write(viewer, c.collection_id)
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
        can_write = visibility.can_write(viewer, d.collection_id)
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
            if not visibility.can_read(viewer, c.collection_id):
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
                            and visibility.can_read(viewer, self.m.cards[s].collection_id)],
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
