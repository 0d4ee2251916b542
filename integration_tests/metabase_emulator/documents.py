"""Documents (Metabase 0.58+): `GET /api/document` and `GET /api/document/:id` (metabase-api.md 11.3).

A document's body is a ProseMirror AST (`document`, content_type
"application/json+vnd.prose-mirror"). What it names is a list of references kept in the model
(`refs`), from which the AST is built once: `cardEmbed` nodes (attrs.id a card id, or a static
embed: stored_result_id with a null id) inside resizeNodes, and `smartLink` mentions (attrs
entityId, model card | dataset | table | dashboard, the model missing, or another model Metabase's
dependency code skips), inside paragraphs, lists and quotes at several depths
(src/metabase/documents/prose_mirror.clj). A chart of a document is a card with `document_id` set,
in the document's collection; a document also embeds a card from elsewhere.

The list is `{"items": [...]}`: the non-archived documents in collections the caller may read,
without those internal to an exploration, each with its body, `creator`, `can_write` and
`is_remote_synced`; the detail adds `can_delete`, `can_restore` and records a view (`document-read`:
view_count, last_viewed_at), archived ones included (src/metabase/documents/api/document.clj).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

from .draw import nano, seeded, ts_around
from .visibility import can_read, can_write, viewer_of
from .web import FORBIDDEN, HttpError, json_response
from .words import AREAS

CONTENT_TYPE = "application/json+vnd.prose-mirror"
TITLES = ["Quarterly Review", "Launch Notes", "Metrics Glossary", "Incident Write-up", "Board Memo", "Playbook"]


@dataclass(slots=True)
class Document:
    id: int
    name: str
    collection_id: int | None
    creator_id: int
    created_at: int
    updated_at: int
    entity_id: str
    # [("embed", card id) | ("static", stored result id) | ("link", model | None, entity id)], in body order
    refs: list = dc_field(default_factory=list)
    body: dict = dc_field(default_factory=dict)
    archived: bool = False
    archived_directly: bool = False
    view_count: int = 0
    last_viewed_at: int | None = None
    exploration_id: int | None = None  # internal to an exploration: listed nowhere

    def viewed(self, t: int) -> None:
        """A detail read landed (changes.py's view batch)."""
        self.view_count += 1
        self.last_viewed_at = max(self.last_viewed_at or 0, t)


# --- generation ----------------------------------------------------------------------------

def _text(s):
    return {"type": "text", "text": s}


def _para(*nodes):
    return {"type": "paragraph", "content": list(nodes)}


def build_body(model, name: str, refs: list) -> dict:
    """The AST: embeds in resizeNodes (the second one of a document side by side in a
    flexContainer), mentions at depth 2 to 6."""
    content = [{"type": "heading", "attrs": {"level": 1}, "content": [_text(name)]}]
    embeds = 0
    for i, ref in enumerate(refs):
        if ref[0] in ("embed", "static"):
            attrs = {"id": ref[1], "name": None} if ref[0] == "embed" else {"id": None, "stored_result_id": ref[1]}
            node = {"type": "resizeNode", "attrs": {"height": 442, "minHeight": 280},
                    "content": [{"type": "cardEmbed", "attrs": attrs}]}
            embeds += 1
            content.append({"type": "flexContainer", "content": [node]} if embeds == 2 else node)
            continue
        _, kind, ident = ref
        attrs = {"entityId": ident, "label": _label(model, kind, ident)}
        if kind is not None:
            attrs["model"] = kind
        link = {"type": "smartLink", "attrs": attrs}
        wrap = i % 4
        if wrap == 0:
            content.append(_para(_text("See "), link, _text(" for the numbers.")))
        elif wrap == 1:
            content.append({"type": "bulletList", "content": [{"type": "listItem", "content": [_para(link)]}]})
        elif wrap == 2:
            item = {"type": "listItem", "content": [_para(_text("Source: "), link)]}
            inner = {"type": "bulletList", "content": [item]}
            content.append({"type": "orderedList", "attrs": {"start": 1}, "content": [
                {"type": "listItem", "content": [_para(_text("Background")), inner]}]})
        else:
            content.append({"type": "blockquote", "content": [_para(link)]})
    return {"type": "doc", "content": content}


def _label(model, kind, ident):
    rows = {"table": model.tables, "dashboard": model.dashboards,
            "collection": model.collections}.get(kind, model.cards)
    row = rows.get(ident)
    return getattr(row, "display_name", None) or getattr(row, "name", None)


def make_documents(model) -> None:
    """One of each case first: a readable document naming every kind of node; one in a restricted
    collection and one in another user's personal collection (both unreadable by the analyst);
    two archived; one internal to an exploration. Then random ones, half with a chart of their own."""
    if not model.has("documents"):
        return
    rng = seeded(model.seed, "documents")
    live = sorted((c for c in model.cards.values() if not c.archived), key=lambda c: c.id)
    if not live:
        return
    analyst = viewer_of(model, model.users[2])
    colls = [c for c in model.content_collections() if not c.archived]
    public = [None] + [c.id for c in colls if can_read(analyst, c.id)]
    pools = {"public": public, "restricted": [c.id for c in colls if c.restricted] or public,
             "personal": [c.id for c in colls if model._personal_root(c) not in (None, 2)] or public}
    models_ = [c for c in live if c.type == "model"] or live
    tables = sorted(model.tables)
    dashboards = sorted(d.id for d in model.dashboards.values() if not d.archived) or sorted(model.dashboards)
    people = model.people()
    cases = ["public", "restricted", "personal", "archived", "archived", "exploration"]
    for i in range(max(len(cases), model.scale.cards // 10)):
        did = i + 1
        case = cases[i] if i < len(cases) else rng.choice(["public", "public", "restricted", "personal"])
        pool = pools.get(case, public)
        own = [c for c in live if c.collection_id in pool and c.dashboard_id is None and c.document_id is None]
        mine = rng.choice(own) if own and case != "archived" and (i < 3 or rng.random() < 0.5) else None
        collection_id = mine.collection_id if mine else rng.choice(pool)
        other = rng.choice([c for c in live if c is not mine and c.document_id is None] or live)
        refs = ([("embed", mine.id)] if mine else []) + [("embed", other.id)]
        if i == 0:
            refs += [("static", 1), ("link", "card", rng.choice(live).id), ("link", "dataset", rng.choice(models_).id),
                     ("link", "table", rng.choice(tables)), ("link", "dashboard", rng.choice(dashboards)
                                                                 if dashboards else rng.choice(live).id),
                     ("link", None, rng.choice(live).id), ("link", "collection", rng.choice(public[1:] or [1]))]
        else:
            refs += rng.sample([("static", 1 + i), ("link", "card", rng.choice(live).id),
                                ("link", "table", rng.choice(tables)), ("link", "dataset", rng.choice(models_).id)],
                               rng.randint(1, 3))
        name = "%s %s" % (rng.choice(AREAS), rng.choice(TITLES))
        created = ts_around(rng, rng.uniform(0.85, 0.97))
        doc = Document(did, name, collection_id, rng.choice(people).id, created, created + rng.randint(0, 10**11),
                       nano(rng), refs, archived=case == "archived", archived_directly=case == "archived",
                       view_count=rng.randint(0, 400), exploration_id=1 if case == "exploration" else None)
        doc.last_viewed_at = doc.updated_at + rng.randint(1, 10**10)
        doc.body = build_body(model, name, refs)
        if mine is not None:
            mine.document_id = did
        model.documents[did] = doc


# --- the truth -----------------------------------------------------------------------------

def dependencies(doc) -> set:
    """What the document names, as Metabase's dependency code reads its AST: {(type, id, via)}.
    cardEmbed with a positive id: ("card", id, "embed"); smartLink card / dataset / no model:
    ("card", id, "link"), table: ("table", id, "link"), dashboard: ("dashboard", id, "link");
    static embeds and other models name nothing."""
    out = set()
    for ref in doc.refs:
        if ref[0] == "embed" and isinstance(ref[1], int) and ref[1] > 0:
            out.add(("card", ref[1], "embed"))
        elif ref[0] == "link" and ref[1] in ("card", "dataset", None):
            out.add(("card", ref[2], "link"))
        elif ref[0] == "link" and ref[1] in ("table", "dashboard"):
            out.add((ref[1], ref[2], "link"))
    return out


def listed(m, viewer) -> list:
    """GET /api/document's documents for `viewer`, in id order."""
    return [d for d in sorted(m.documents.values(), key=lambda d: d.id)
            if not d.archived and d.exploration_id is None and can_read(viewer, d.collection_id)]


def expected_ids(m, p, viewer) -> list:
    return [d.id for d in listed(m, viewer)] if p.documents else []


# --- rendering and handlers ----------------------------------------------------------------

def render(r, doc, viewer, detail: bool = False) -> dict:
    u = r.m.users[doc.creator_id]
    writable = can_write(viewer, doc.collection_id)
    d = {"id": doc.id, "name": doc.name, "content_type": CONTENT_TYPE, "document": doc.body,
         "collection_id": doc.collection_id, "collection_position": None, "creator_id": doc.creator_id,
         "creator": {"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name},
         "archived": doc.archived, "archived_directly": doc.archived_directly, "entity_id": doc.entity_id,
         "created_at": r.ts(doc.created_at, doc.id), "updated_at": r.ts(doc.updated_at, doc.id),
         "view_count": doc.view_count, "last_viewed_at": r.ts(doc.last_viewed_at, doc.id), "public_uuid": None,
         "made_public_by_id": None, "is_placeholder": False, "exploration_id": doc.exploration_id,
         "can_write": writable, "is_remote_synced": False}
    if detail:
        d.update(can_delete=doc.archived and viewer.superuser, can_restore=doc.archived_directly and writable)
    return d


def document_list(api, req):
    return api.cached(req, lambda: {"items": [render(api.r, d, req.viewer) for d in listed(api.m, req.viewer)]})


def document_detail(api, req, did):
    doc = api.m.documents.get(int(did))
    if doc is None:
        raise HttpError(404, "Not found.")
    if not can_read(req.viewer, doc.collection_id):
        raise HttpError(403, FORBIDDEN)
    resp = json_response(render(api.r, doc, req.viewer, detail=True))
    if api.on_view:
        api.on_view("documents", doc.id)  # document-read, after the answer is built
    return resp


def routes(api) -> list:
    if not api.p.documents:
        return []
    return [("GET", r"/api/document", lambda req: document_list(api, req), True),
            ("GET", r"/api/document/(\d+)", lambda req, did: document_detail(api, req, did), True)]
