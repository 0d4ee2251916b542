"""The emulator's measures (measures.py) on v0.64: GET /api/measure(/:id) (metabase-api.md 11.5),
`measures.dependencies`, and MBQL 5 cards that aggregate a measure."""

import json

import pytest

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.metabase_emulator import measures, queries
from integration_tests.test_emulator import as_user

DISALLOWED = {"source-card", "joins", "expressions", "breakout", "filters", "fields", "order-by", "page", "limit"}


@pytest.fixture(scope="module")
def emu():
    with Emulator(profile="v0.64", seed=1, scale=Scale(cards=60)) as emulator:
        yield emulator


def read(measure) -> set:
    """What a measure's definition names, read from the JSON (a client's reader, for this test)."""
    (stage,) = measure["definition"]["stages"]
    (clause,) = stage["aggregation"]
    out = {("table", stage["source-table"], "source")}
    for arg in clause[2:]:
        if arg[0] == "field":
            out.add(("field", arg[2], "aggregation"))
        elif arg[0] == "segment":
            out.add(("segment", arg[2], "filter"))
        else:  # a condition: [op, opts, field ref, value]
            out.add(("field", arg[2][2], "filter"))
    return out


def test_the_list_holds_live_readable_measures_by_name(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model = emu.model
    listed = admin.get("/api/measure").json()
    assert sorted(m["id"] for m in listed) == emu.expected_ids("measures")
    assert [m["name"].lower() for m in listed] == sorted(m["name"].lower() for m in listed)
    archived = [ms for ms in model.measures.values() if ms.archived]
    assert len(archived) == 2 and not {ms.id for ms in archived} & {m["id"] for m in listed}
    mine = analyst.get("/api/measure").json()
    assert sorted(m["id"] for m in mine) == emu.expected_ids("measures", "analyst") and len(mine) < len(listed)
    for m in listed:
        assert m["creator"]["id"] == m["creator_id"] and m["definition_description"]
        d = m["definition"]
        assert d["lib/type"] == "mbql/query" and d["database"] == model.tables[m["table_id"]].db_id
        (stage,) = d["stages"]
        assert stage["source-table"] == m["table_id"] and len(stage["aggregation"]) == 1
        assert not DISALLOWED & set(stage)  # lib/schema/measure.cljc: one aggregation, nothing else
        assert read(m) == measures.dependencies(model.measures[m["id"]])
    truth = set().union(*(measures.dependencies(ms) for ms in model.measures.values()))
    assert {(kind, via) for kind, _, via in truth} == {("table", "source"), ("field", "aggregation"),
                                                       ("field", "filter"), ("segment", "filter")}


def test_the_detail_answers_archived_ones_and_checks_the_table(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model = emu.model
    archived = next(ms for ms in model.measures.values() if ms.archived)
    detail = admin.get("/api/measure/%d" % archived.id).json()
    assert detail["archived"] is True and "definition_description" not in detail
    listed = {m["id"]: m for m in admin.get("/api/measure").json()}
    one = next(iter(listed.values()))
    listing_only = {"definition_description"}
    assert admin.get("/api/measure/%d" % one["id"]).json() == {k: v for k, v in one.items() if k not in listing_only}
    v = model.viewer(model.users[2])
    hidden = next(ms for ms in model.measures.values() if model.tables[ms.table_id].db_id not in v.database_ids)
    assert analyst.get("/api/measure/%d" % hidden.id).status_code == 403
    assert admin.get("/api/measure/999").status_code == 404


def test_cards_aggregate_measures_on_064_only(emu):
    model = emu.model
    admin = as_user(emu)
    cards = {c["id"]: c for f in ("all", "archived") for c in admin.get("/api/card", params={"f": f}).json()}
    using = {c.id: c.query["measure"] for c in model.cards.values() if c.query.get("measure")}
    assert using
    for cid, mid in using.items():
        aggregation = cards[cid]["dataset_query"]["stages"][0]["aggregation"]
        ref = [a for a in aggregation if a[0] == "measure"]
        assert len(ref) == 1 and ref[0][2] == mid and ref[0][1]["lib/uuid"]
        assert '["measure", %d]' % mid in json.dumps(json.loads(cards[cid]["legacy_query"]))
        deps = queries.dependencies(model.cards[cid])
        via = "nested_query" if model.cards[cid].query.get("nest") else "aggregation"
        assert [d for d in deps if d[0] == "measure"] == [("measure", mid, via)]
        assert model.measures[mid].table_id == model.cards[cid].query["source_table"]
    unused = [c for c in cards.values() if c["id"] not in using]
    assert '"measure"' not in json.dumps([c["dataset_query"] for c in unused])
    with Emulator(profile="v0.57", seed=1, scale=Scale(cards=60)) as older:
        assert not older.model.measures
        assert not any(c.query.get("measure") for c in older.model.cards.values())
        assert '"measure"' not in json.dumps([c["dataset_query"] for c in as_user(older).get("/api/card").json()])
        assert as_user(older).get("/api/measure").status_code == 404
