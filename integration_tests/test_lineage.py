"""Lineage: each card's `dependencies`, synced by the real CLI from every profile, equal what its
query names in the emulator's model (queries.dependencies reads the model's abstract query, not
the JSON the connector read); and the emulator writes each kind of query the connector must
read, in each version's own form."""

import json

import pytest

from integration_tests.conftest import PROFILES
from integration_tests.metabase_emulator import queries
from integration_tests.metabase_emulator.model import Model, Scale
from integration_tests.metabase_emulator.profiles import PROFILES as ALL_PROFILES, Render
from integration_tests.test_relationship_streams import synced


def as_tuples(items) -> list:
    return sorted(tuple(item[key] for key in ("type", "id", "via", "name") if key in item) for item in items)


# v0.52 renders cards as v0.50 does: one admin sync is enough there.
@pytest.mark.parametrize("profile, viewer", [(p, v) for p in PROFILES for v in ("admin", "analyst")]
                         + [("v0.52", "admin")])
def test_each_cards_dependencies_are_what_its_query_names(emulators, profile, viewer):
    run, _, emulator = synced(emulators, profile, viewer=viewer)
    model = emulator.model
    cards = run.records("cards")
    assert cards
    mismatches = {card["id"]: (as_tuples(card["dependencies"]), sorted(queries.dependencies(model.cards[card["id"]])))
                  for card in cards}
    assert {k: v for k, v in mismatches.items() if v[0] != v[1]} == {}
    kinds = {item["type"] for card in cards for item in card["dependencies"]}
    assert {"table", "card", "field", "snippet"} | ({"segment", "metric"} if viewer == "admin" else set()) <= kinds


def kinds_of_query(card: dict) -> set:
    """The shapes a rendered dataset_query shows (read from the JSON, for this test only)."""
    text = json.dumps(card["dataset_query"])
    q = card["dataset_query"]
    found = set()
    if "stages" in q:
        found |= {"mbql5"} | ({"multi-stage"} if len(q["stages"]) > 1 else set())
        found |= {"source-card"} if '"source-card"' in text else set()
        found |= {"join stages"} if '"mbql/join"' in text else set()
    else:
        found |= {"card__"} if '"card__' in text else set()
        found |= {"nested 3 deep"} if '"source-query": {"source-query": {"source-query"' in text else set()
        found |= {"join source-query"} if '"joins": [{"alias"' in text and '"source-query": {"source-table"' in text else set()
    for word, kind in (('"segment"', "segment"), ('"metric"', "metric"), ('"type": "card"', "card tag"),
                       ('"type": "dimension"', "field filter"), ('"expression', "expression"),
                       ('"order-by"', "order-by"), ('"joins"', "join")):
        if word in text:
            found.add(kind)
    tags = [t for stage in q.get("stages", [q.get("native") or {}]) for t in (stage.get("template-tags") or {}).values()]
    found |= {"snippet without id"} if any(t["type"] == "snippet" and "snippet-id" not in t for t in tags) else set()
    return found


@pytest.mark.parametrize("profile", sorted(ALL_PROFILES))
def test_the_emulator_writes_every_kind_of_query(profile):
    model = Model(seed=7, scale=Scale(cards=60))
    render = Render(ALL_PROFILES[profile], model)
    found = set().union(*(kinds_of_query(render.card(card)) for card in model.cards.values()))
    common = {"segment", "metric", "card tag", "field filter", "expression", "order-by", "join", "snippet without id"}
    own = {"mbql5", "multi-stage", "source-card", "join stages"} if ALL_PROFILES[profile].mbql5 else \
        {"card__", "nested 3 deep", "join source-query"}
    assert common | own <= found
    retired = {f.id for f in model.fields.values() if not f.active}
    truths = [d for card in model.cards.values() for d in queries.dependencies(card)]
    assert any(d[0] == "field" and d[1] in retired for d in truths)  # a dropped column
    assert any(d[0] == "card" and model.cards[d[1]].archived for d in truths)  # an archived card
