"""Measures (Metabase 0.60+): `GET /api/measure` and `GET /api/measure/:id` (metabase-api.md 11.5),
and cards whose MBQL 5 aggregation names one.

A measure is a saved aggregation on one table: its `definition` is an MBQL 5 query of exactly one
stage with a source table and exactly one aggregation, and no filters, joins, breakouts or fields
(src/metabase/lib/schema/measure.cljc). So a measure "filters" inside its aggregation: a
`count-where` / `sum-where` whose condition compares a field or names a segment. The list is a
bare array of the non-archived measures whose table the caller may read, by lower(name), with
`creator` and `definition_description`; the detail has `creator` only, archived ones included
(src/metabase/measures/api.clj; the spec's open schema components/schemas/metabase.measures.api.measure.json).

On 0.60+ instances some MBQL cards aggregate a measure too, `["measure", {"lib/uuid": ...}, id]`
(queries.py renders the card's `measure`; lib/schema/ref.cljc defines the clause).
"""

from __future__ import annotations

from dataclasses import dataclass

from .draw import nano, seeded, ts_around
from .rows import display_name
from .visibility import visible_databases
from .web import FORBIDDEN, HttpError, json_response
from .words import SENTENCES

NUMERIC = ("type/Float", "type/Integer", "type/BigInteger")
NAMES = {"count": "Count", "sum": "Sum of %s", "avg": "Average of %s", "max": "Max of %s", "min": "Min of %s",
         "distinct": "Distinct values of %s", "count-where": "Count", "sum-where": "Sum of %s"}


@dataclass(slots=True)
class Measure:
    id: int
    name: str
    description: str | None
    table_id: int
    aggregation: tuple  # (op, field id | None, condition): condition None | ("field", id, value) | ("segment", id)
    creator_id: int
    created_at: int
    updated_at: int
    entity_id: str
    archived: bool = False


# --- generation ----------------------------------------------------------------------------

def make_measures(model) -> None:
    """One of each case first (the table a card aggregates, a table the analyst cannot read, a segment
    condition, a field condition, two archived), then more on random tables."""
    if not model.has("measures"):
        return
    rng = seeded(model.seed, "measures")
    tables = [t for t in model.tables.values() if any(f.active and f.base_type in NUMERIC for f in t.fields)]
    if not tables:
        return
    carded = [model.tables[c.query["source_table"]] for c in sorted(model.cards.values(), key=lambda c: c.id)
              if c.query_type == "query" and not c.archived and c.query.get("source_table") in model.tables
              and not c.query.get("source_card") and c.query.get("aggregation")]
    restricted = [t for t in tables if model.databases[t.db_id].restricted]
    live_segments = [s for s in model.segments.values() if not s.archived and s.table_id in model.tables]
    people = model.people()
    for i in range(max(6, model.scale.cards // 10)):
        table = carded[0] if i == 0 and carded else restricted[0] if i == 1 and restricted else rng.choice(tables)
        segment = rng.choice(live_segments) if i == 2 and live_segments else None
        if segment is not None:
            table = model.tables[segment.table_id]
        numeric = [f for f in table.fields if f.active and f.base_type in NUMERIC] or [table.fields[0]]
        op = "sum" if i == 0 else "count" if i == 1 else rng.choice(["count", "sum", "avg", "max", "distinct"])
        field = None if op == "count" else rng.choice(numeric).id
        condition = None
        if segment is not None:
            op, field, condition = "count-where", None, ("segment", segment.id)
        elif i == 3:
            other = rng.choice([f for f in table.fields if f.active])
            op, field = "sum-where", rng.choice(numeric).id
            condition = ("field", other.id, "2024-01-01" if "Date" in other.base_type else
                         True if other.base_type == "type/Boolean" else 1 if other.base_type in NUMERIC else "Paid")
        created = ts_around(rng, rng.uniform(0.8, 0.97))
        mid = i + 1
        model.measures[mid] = Measure(
            mid, "%s %s" % (NAMES[op].split(" ")[0], display_name(table.name)) + ("" if i < 6 else " %d" % mid),
            rng.choice([None, rng.choice(SENTENCES)]), table.id, (op, field, condition), rng.choice(people).id,
            created, created + rng.randint(0, 10**12), nano(rng), archived=i in (4, 5))


def link_cards(model) -> None:
    """Some MBQL questions aggregate a live measure of their own source table (the first one that can
    always does); their own random stream, so no other content moves."""
    if not model.has("measures"):
        return
    rng = seeded(model.seed, "measure refs")
    by_table: dict = {}
    for ms in sorted(model.measures.values(), key=lambda ms: ms.id):
        if not ms.archived:
            by_table.setdefault(ms.table_id, []).append(ms.id)
    first = True
    for c in sorted(model.cards.values(), key=lambda c: c.id):
        q = c.query
        if c.type != "question" or q["native"] or q.get("source_card") or q.get("source_table") not in by_table:
            continue
        if first or rng.random() < 0.3:
            q["measure"] = rng.choice(by_table[q["source_table"]])
            first = False


# --- the truth -----------------------------------------------------------------------------

def dependencies(measure) -> set:
    """What the measure's definition names: {(type, id, via)}: its table ("source"), the aggregated
    field ("aggregation"), the condition's field or segment ("filter")."""
    op, field, condition = measure.aggregation
    out = {("table", measure.table_id, "source")}
    if field is not None:
        out.add(("field", field, "aggregation"))
    if condition is not None:
        out.add((condition[0], condition[1], "filter"))
    return out


def listed(m, viewer) -> list:
    """GET /api/measure: the live measures on tables the viewer may read, by lower(name)."""
    dbs = {d.id for d in visible_databases(m, viewer)}
    return sorted((ms for ms in m.measures.values() if not ms.archived and ms.table_id in m.tables  # gone with it
                   and m.tables[ms.table_id].db_id in dbs),
                  key=lambda ms: (ms.name.lower(), ms.id))


def expected_ids(m, p, viewer) -> list:
    return sorted(ms.id for ms in listed(m, viewer)) if p.measures else []


# --- rendering -----------------------------------------------------------------------------

def definition(m, ms) -> dict:
    """The MBQL 5 query of one stage and one aggregation (lib/schema/measure.cljc)."""
    t = m.tables[ms.table_id]
    n = iter(range(1, 100))

    def opts(**kw):
        return {"lib/uuid": "%08x-%04x-4000-9000-%012x" % (ms.id, next(n), ms.table_id), **kw}

    def field(fid):
        return ["field", opts(**{"base-type": m.fields[fid].base_type}), fid]

    op, fid, condition = ms.aggregation
    clause = [op, opts()] + ([field(fid)] if fid is not None else [])
    if condition and condition[0] == "segment":
        clause.append(["segment", opts(), condition[1]])
    elif condition:
        clause.append(["=", opts(), field(condition[1]), condition[2]])
    return {"lib/type": "mbql/query", "database": t.db_id,
            "stages": [{"lib/type": "mbql.stage/mbql", "source-table": t.id, "aggregation": [clause]}]}


def describe(m, ms) -> str:
    """definition_description, as lib/describe-top-level-key :aggregation words it."""
    op, fid, condition = ms.aggregation
    text = NAMES[op] % m.fields[fid].display_name if fid is not None else NAMES[op]
    if condition and condition[0] == "segment":
        return "%s where %s" % (text, m.segments[condition[1]].name)
    if condition:
        return "%s where %s is %s" % (text, m.fields[condition[1]].display_name, condition[2])
    return text


def render(r, ms, listing: bool) -> dict:
    d = {"id": ms.id, "name": ms.name, "description": ms.description, "table_id": ms.table_id,
         "definition": definition(r.m, ms), "archived": ms.archived, "creator_id": ms.creator_id,
         "creator": r.creator(ms.creator_id), "created_at": r.ts(ms.created_at, ms.id),
         "updated_at": r.ts(ms.updated_at, ms.id), "entity_id": ms.entity_id}
    if listing:
        d["definition_description"] = describe(r.m, ms)
    return d


# --- handlers ------------------------------------------------------------------------------

def measure_list(api, req):
    return api.cached(req, lambda: [render(api.r, ms, True) for ms in listed(api.m, req.viewer)])


def measure_detail(api, req, mid):
    ms = api.m.measures.get(int(mid))
    if ms is None or ms.table_id not in api.m.tables:
        raise HttpError(404, "Not found.")
    if api.m.tables[ms.table_id].db_id not in req.viewer.database_ids:
        raise HttpError(403, FORBIDDEN)
    return json_response(render(api.r, ms, False))


def routes(api) -> list:
    if not api.p.measures:
        return []
    return [("GET", r"/api/measure", lambda req: measure_list(api, req), True),
            ("GET", r"/api/measure/(\d+)", lambda req, mid: measure_detail(api, req, mid), True)]
