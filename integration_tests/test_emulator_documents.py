"""The emulator's documents (documents.py) on v0.64: GET /api/document and /api/document/:id
(metabase-api.md 11.3), their ProseMirror bodies and `documents.dependencies`."""

import pytest

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.metabase_emulator import documents
from integration_tests.test_emulator import as_user

KEYS = {"id", "name", "content_type", "document", "collection_id", "collection_position", "creator_id", "creator",
        "archived", "archived_directly", "entity_id", "created_at", "updated_at", "view_count", "last_viewed_at",
        "public_uuid", "made_public_by_id", "is_placeholder", "exploration_id", "can_write", "is_remote_synced"}


@pytest.fixture(scope="module")
def emu():
    with Emulator(profile="v0.64", seed=1, scale=Scale(cards=60)) as emulator:
        yield emulator


def nodes(tree, depth=0):
    """Every node of a ProseMirror AST with its depth (the reader a client needs: a tree walk)."""
    yield tree, depth
    for child in tree.get("content") or ():
        yield from nodes(child, depth + 1)


def read(body) -> set:
    """What a body names, read from the JSON as Metabase's dependency code reads it."""
    out = set()
    for node, _ in nodes(body):
        attrs = node.get("attrs") or {}
        if node["type"] == "cardEmbed" and isinstance(attrs.get("id"), int) and attrs["id"] > 0:
            out.add(("card", attrs["id"], "embed"))
        elif node["type"] == "smartLink" and attrs.get("model", "card") in ("card", "dataset"):
            out.add(("card", attrs["entityId"], "link"))
        elif node["type"] == "smartLink" and attrs["model"] in ("table", "dashboard"):
            out.add((attrs["model"], attrs["entityId"], "link"))
    return out


def test_the_list_is_an_items_object_of_readable_live_documents_with_their_bodies(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model = emu.model
    body = admin.get("/api/document").json()
    assert set(body) == {"items"}
    items = body["items"]
    assert [d["id"] for d in items] == emu.expected_ids("documents") and items
    assert all(set(d) == KEYS and d["content_type"] == "application/json+vnd.prose-mirror" for d in items)
    assert all(d["document"]["type"] == "doc" and not d["archived"] and d["exploration_id"] is None for d in items)
    hidden = {d.id for d in model.documents.values() if d.archived or d.exploration_id}
    assert len(hidden) >= 3 and not hidden & {d["id"] for d in items}
    mine = analyst.get("/api/document").json()["items"]
    assert [d["id"] for d in mine] == emu.expected_ids("documents", "analyst") and len(mine) < len(items)
    v = model.viewer(model.users[2])
    unreadable = [d for d in items if not model.can_read(v, d["collection_id"])]
    restricted = {c.id for c in model.collections.values() if c.restricted}
    assert {d["collection_id"] in restricted for d in unreadable} == {True, False}  # restricted and personal
    for d in items:
        u = model.users[d["creator_id"]]
        assert d["creator"] == {"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name}


def test_bodies_name_what_the_truth_says_at_every_depth(emu):
    model = emu.model
    items = as_user(emu).get("/api/document").json()["items"]
    for d in items:
        assert read(d["document"]) == documents.dependencies(model.documents[d["id"]])
    every = [(n, depth, d["id"]) for d in items for n, depth in nodes(d["document"])]
    links = [(n["attrs"], depth) for n, depth, _ in every if n["type"] == "smartLink"]
    assert {a.get("model") for a, _ in links} >= {"card", "dataset", "table", "dashboard", None, "collection"}
    assert {depth for _, depth in links} >= {2, 3, 4, 6}
    embeds = [(n["attrs"], doc) for n, _, doc in every if n["type"] == "cardEmbed"]
    assert any(a["id"] is None and a["stored_result_id"] for a, _ in embeds), "a static embed"
    own = [a["id"] for a, doc in embeds if a["id"] and model.cards[a["id"]].document_id == doc]
    elsewhere = [a["id"] for a, doc in embeds if a["id"] and model.cards[a["id"]].document_id != doc]
    assert own and elsewhere
    datasets = [a["entityId"] for a, _ in links if a.get("model") == "dataset"]
    assert all(model.cards[i].type == "model" for i in datasets)
    truth = set().union(*(documents.dependencies(doc) for doc in model.documents.values()))
    assert {kind for kind, _, _ in truth} == {"card", "table", "dashboard"}
    assert {via for *_, via in truth} == {"embed", "link"}


def test_cards_of_a_document_carry_its_id_on_064_only(emu):
    model = emu.model
    cards = {c["id"]: c for c in as_user(emu).get("/api/card").json()}
    owned = {c.id: c.document_id for c in model.cards.values() if c.document_id}
    assert owned and {i: cards[i]["document_id"] for i in owned} == owned
    assert all(cards[i]["collection_id"] == model.documents[d].collection_id for i, d in owned.items())
    assert all(c["document_id"] is None for i, c in cards.items() if i not in owned)
    with Emulator(profile="v0.57", seed=1, scale=Scale(cards=60)) as older:
        assert not older.model.documents and all(c.document_id is None for c in older.model.cards.values())
        assert as_user(older).get("/api/document").text == "API endpoint does not exist."


def test_a_detail_read_is_a_view_and_checks_read_permission(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model = emu.model
    doc = next(d for d in sorted(model.documents.values(), key=lambda d: d.id) if not d.archived)
    before = next(d for d in admin.get("/api/document").json()["items"] if d["id"] == doc.id)
    emu.clear_requests()
    detail = admin.get("/api/document/%d" % doc.id).json()
    assert detail["can_delete"] is False and detail["can_restore"] is False
    assert {k: v for k, v in detail.items() if k not in ("can_delete", "can_restore")} == before
    admin.get("/api/document")  # a list is no view
    assert emu.views() == {"documents": {doc.id: 1}}
    emu.land_views()
    after = next(d for d in admin.get("/api/document").json()["items"] if d["id"] == doc.id)
    assert after["view_count"] == before["view_count"] + 1 and after["last_viewed_at"] > before["last_viewed_at"]
    assert after["updated_at"] == before["updated_at"]
    archived = next(d for d in model.documents.values() if d.archived)
    assert admin.get("/api/document/%d" % archived.id).json()["archived"] is True
    v = model.viewer(model.users[2])
    hidden = next(d for d in model.documents.values() if not model.can_read(v, d.collection_id))
    denied = analyst.get("/api/document/%d" % hidden.id)
    assert (denied.status_code, denied.text) == (403, "You don't have permissions to do that.")
    assert admin.get("/api/document/9999").status_code == 404
    assert emu.views()["documents"] == {doc.id: 1, archived.id: 1}
