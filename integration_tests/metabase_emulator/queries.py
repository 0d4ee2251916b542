"""The cards' queries: an abstract query per card (built here from the model's content), rendered
as MBQL 4 or MBQL 5 by the profile, and the card's true dependencies read from the abstract query
(never from the rendered JSON), so tests can compare the connector's `dependencies` to them.

The abstract query (a dict) of an MBQL card: `source_table` or `source_card`, `columns`,
`aggregation` (agg, field id | None), `breakout` (field id, unit | None), `filter` (field id,
value), `uuids` (for MBQL 5's lib/uuid), and the optional lineage clauses: `joins` (dicts:
alias, source_table | source_card, filter (a source query of the join's own), lhs, rhs (field id)
| rhs_name), `expression` (name, field id, field id), `segment` (id), `metric` (card id),
`order_by` (field id), `fields` ([field id]), `nest` ([(column name, base type)]: outer stages
that read the inner query's columns by name), `measure` (a measure id: measures.py sets it on
0.60+ instances only). A native card: `sql`, `columns`, `template_tags` (as Metabase stores
them), `parameters`. transforms.py's query sources are abstract queries of the same form.

The base of each query draws from the cards' random stream exactly as before the lineage
clauses existed; those draw from their own stream, so adding them moved no other content.
"""

from __future__ import annotations

import random

# Where the connector says it found a dependency (components.py CLAUSES): a clause of the
# question's own last stage, nested_query for anything in an inner query, join for a join.
VIA_ORDER = ("source", "nested_query", "join", "expression", "filter", "aggregation", "breakout",
             "order_by", "fields", "template_tag")


def uuid(rng) -> str:
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])


def table_question(table, rng) -> dict:
    """The plainest question: every column of one table (cards added by changes.py)."""
    return {"native": False, "source_table": table.id if table else None, "source_card": None,
            "columns": [f.id for f in table.fields] if table else [], "aggregation": None,
            "breakout": None, "filter": None, "uuids": [uuid(rng) for _ in range(6)]}


class QueryMaker:
    """Builds the cards' queries in id order; remembers the cards made so far by table, so that a
    question can be built on an earlier question or model, join one, or use its metric."""

    def __init__(self, model):
        self.m = model
        self.rng = random.Random("%s/lineage" % model.seed)
        self.by_table: dict = {}  # table id -> [(card id, type)] of earlier MBQL cards
        self.segments: dict = {}
        self.shown: set = set()  # the kinds of lineage clause some card already has
        for s in model.segments.values():
            self.segments.setdefault(s.table_id, []).append(s.id)

    def added(self, card) -> None:
        if card.query_type == "query" and card.table_id is not None:
            self.by_table.setdefault(card.table_id, []).append((card.id, card.type))

    def query(self, rng, cid, kind, native, db, table, source_card) -> dict:
        q = self._base(rng, kind, native, table, source_card)
        if native:
            self._native_extras(q, cid, table)
        elif table is not None and table.fields:
            self._mbql_extras(q, kind, db, table)
        return q

    # the base query: the cards' own random stream, unchanged
    def _base(self, rng, kind, native, table, source_card):
        m = self.m
        fields = table.fields if table else []
        if native:
            cols = fields[: max(1, rng.randint(len(fields) // 2, len(fields)))] if fields else []
            tname = "%s.%s" % (table.schema, table.name) if table else "dual"
            sql = "SELECT %s\nFROM %s" % (",\n       ".join(f.name for f in cols) or "1", tname)
            q = {"native": True, "columns": [f.id for f in cols], "template_tags": {}, "parameters": []}
            if rng.random() < 0.2 and m.snippets:
                sn = m.snippets[rng.randint(1, len(m.snippets))]
                sql += "\n{{snippet: %s}}" % sn.name
                q["template_tags"]["snippet: " + sn.name] = {
                    "type": "snippet", "name": "snippet: " + sn.name, "id": uuid(rng),
                    "display-name": "Snippet: " + sn.name, "snippet-name": sn.name, "snippet-id": sn.id}
            if rng.random() < 0.25 and fields:
                tag = uuid(rng)
                sql += "\nWHERE {{created_after}} IS NULL OR %s >= {{created_after}}" % cols[0].name
                q["template_tags"]["created_after"] = {
                    "type": "date", "name": "created_after", "id": tag, "display-name": "Created After"}
                q["parameters"] = [{"id": tag, "type": "date/single", "target": [
                    "variable", ["template-tag", "created_after"]], "name": "Created After",
                    "slug": "created_after"}]
            q["sql"] = sql + "\nLIMIT %d" % rng.choice([100, 1000, 2000, 10000])
            return q
        q = {"native": False, "source_table": table.id if table else None, "source_card": source_card,
             "columns": [f.id for f in fields], "aggregation": None, "breakout": None, "filter": None}
        numeric = [f for f in fields if f.base_type in ("type/Float", "type/Integer")
                   and f.semantic_type not in ("type/PK", "type/FK")]
        temporal = [f for f in fields if f.base_type in ("type/DateTime", "type/Date")]
        if kind == "metric" or (kind == "question" and rng.random() < 0.2):
            agg = rng.choice(["count", "sum", "avg", "distinct"]) if numeric else "count"
            q["aggregation"] = (agg, rng.choice(numeric).id if agg != "count" else None)
            if temporal and rng.random() < 0.7:
                q["breakout"] = (rng.choice(temporal).id, rng.choice(["day", "week", "month", "quarter", "year"]))
            elif fields and rng.random() < 0.5:
                q["breakout"] = (rng.choice(fields).id, None)
        if fields and rng.random() < 0.4:
            f = rng.choice(fields)
            value = {"type/Boolean": True, "type/Text": rng.choice(["Widget", "Gizmo", "Doohickey"])}.get(
                f.base_type, "2024-01-01" if "Date" in f.base_type else rng.randint(1, 500))
            q["filter"] = (f.id, value)
        q["uuids"] = [uuid(rng) for _ in range(6)]  # lib/uuid option values for MBQL 5
        return q

    # the lineage clauses: their own random stream
    def _chance(self, kind: str, p: float) -> bool:
        """The first card that can have `kind` has it (so a small instance shows each), then p."""
        if kind not in self.shown:
            self.shown.add(kind)
            return True
        return self.rng.random() < p

    def _native_extras(self, q, cid, table):
        rng, m = self.rng, self.m
        sql, limit = q["sql"].rsplit("\nLIMIT ", 1)
        tags = q["template_tags"]
        if cid > 1 and self._chance("card tag", 0.15):  # a question on another card
            archived = [c for c in m.cards.values() if c.archived]
            ref = archived[0] if archived and self._chance("archived card tag", 0.0) else m.cards[rng.randint(1, cid - 1)]
            name = "#%d-%s" % (ref.id, "-".join(ref.name.lower().split()[:3]))
            sql = "WITH base AS (SELECT * FROM {{%s}})\n%s" % (name, sql)
            tags[name] = {"type": "card", "name": name, "id": uuid(rng), "display-name": name.replace("-", " "),
                          "card-id": ref.id}
        if table is not None and table.fields and self._chance("field filter", 0.2):
            f = rng.choice(table.fields)
            name = "filter_%s" % f.name.lower()
            sql += "\n[[AND {{%s}}]]" % name
            tags[name] = {"type": "dimension", "name": name, "id": uuid(rng), "display-name": f.display_name,
                          "dimension": ["field", f.id, None], "widget-type": "category"}
        for tag in tags.values():  # saved before Metabase recorded snippet ids
            if tag["type"] == "snippet" and self._chance("snippet without id", 0.3):
                del tag["snippet-id"]
        q["sql"] = "%s\nLIMIT %s" % (sql, limit)

    def _mbql_extras(self, q, kind, db, table):
        rng, m = self.rng, self.m
        earlier = self.by_table.get(table.id, [])
        fields = table.fields
        sources = [c for c, t in earlier if t != "metric"]
        if kind == "question" and not q["source_card"] and sources and self._chance("on a card", 0.08):
            q["source_card"] = rng.choice(sources)
        others = [t for t in m.databases[db.id].tables if t.id != table.id and t.fields]
        if others and self._chance("join", 0.2):
            joined = rng.choice(others)
            fk = [f for f in fields if f.semantic_type == "type/FK"]
            join = {"alias": joined.display_name, "source_table": joined.id, "source_card": None, "filter": None,
                    "lhs": (fk or fields)[0].id, "rhs": joined.fields[0].id, "rhs_name": None}
            cards = [c for c, t in self.by_table.get(joined.id, []) if t != "metric"]
            r = rng.random()
            if cards and (r < 0.25 or "card in a join" not in self.shown):
                self.shown.add("card in a join")
                join.update(source_table=None, source_card=rng.choice(cards))
            elif r < 0.5 or "join on a query" not in self.shown:  # a source query of the join's own
                self.shown.add("join on a query")
                f = rng.choice(joined.fields)
                join.update(filter=(f.id, "2024-01-01" if "Date" in f.base_type else 1),
                            rhs=None, rhs_name=joined.fields[0].name)
            q["joins"] = [join]
        numeric = [f for f in fields if f.base_type in ("type/Float", "type/Integer")]
        if len(numeric) >= 2 and self._chance("expression", 0.1):
            a, b = rng.sample(numeric, 2)
            q["expression"] = ("%s minus %s" % (a.display_name, b.display_name), a.id, b.id)
        segments = self.segments.get(table.id)
        if segments and self._chance("segment", 0.15):
            gone = [s for s in segments if m.segments[s].archived]
            q["segment"] = gone[0] if gone and self._chance("archived segment", 0.0) else rng.choice(segments)
        metrics = [c for c, t in earlier if t == "metric"]
        if kind == "question" and metrics and (q["aggregation"] or "metric" not in self.shown) \
                and self._chance("metric", 0.5):
            q["aggregation"] = q["aggregation"] or ("count", None)
            q["metric"] = rng.choice(metrics)
        retired = [f for f in fields if not f.active]  # a column since dropped
        if retired and self._chance("retired field", 0.05):
            q["order_by"] = retired[0].id
        elif self._chance("order by", 0.15):
            q["order_by"] = rng.choice(fields).id
        if not q["aggregation"] and self._chance("fields", 0.1):
            q["fields"] = [f.id for f in rng.sample(fields, min(len(fields), 3))]
        if kind == "question" and self._chance("nested", 0.1):
            depth = 3 if "nested 3 deep" not in self.shown else rng.choice([1, 1, 1, 2, 2, 3])
            self.shown.add("nested 3 deep")
            if q["aggregation"]:
                column = (q["aggregation"][0], "type/BigInteger")
            else:
                f = m.fields[q["columns"][0]]
                column = (f.name, f.base_type)
            q["nest"] = [column] * depth


# --- rendering ------------------------------------------------------------------------------

def _uid(card_id: int, n: int) -> str:
    """A lib/uuid for the lineage clauses, fixed per card (the base clauses keep their own)."""
    return "%08x-%04x-4000-8000-%012x" % (card_id, n, card_id * 31 + n)


def mbql4(model, card) -> dict:
    q = card.query
    if q["native"]:
        return {"database": card.database_id, "type": "native",
                "native": {"query": q["sql"], "template-tags": q["template_tags"]}}
    inner = {"source-table": "card__%d" % q["source_card"] if q["source_card"] else q["source_table"]}
    joins = q.get("joins")
    if joins:
        inner["joins"] = [_join4(j) for j in joins]
    if q.get("expression"):
        name, a, b = q["expression"]
        inner["expressions"] = {name: ["-", ["field", a, None], ["field", b, None]]}
    filters = []
    if q["filter"]:
        fid, value = q["filter"]
        filters.append(["=", ["field", fid, None], value])
    if q.get("segment"):
        filters.append(["segment", q["segment"]])
    if filters:
        inner["filter"] = filters[0] if len(filters) == 1 else ["and", *filters]
    if q["aggregation"]:
        agg, fid = q["aggregation"]
        inner["aggregation"] = [[agg] if fid is None else [agg, ["field", fid, None]]]
        if q.get("metric"):
            inner["aggregation"].append(["metric", q["metric"]])
    if q["breakout"]:
        fid, unit = q["breakout"]
        inner["breakout"] = [["field", fid, {"temporal-unit": unit} if unit else None]]
    if q.get("measure"):  # legacy MBQL still reads [:measure id] (lib/schema/mbql_clause legacy defclause)
        inner.setdefault("aggregation", []).append(["measure", q["measure"]])
    if q.get("order_by"):
        inner["order-by"] = [["asc", ["field", q["order_by"], None]]]
    if q.get("fields"):
        inner["fields"] = [["field", fid, None] for fid in q["fields"]]
    for name, base_type in q.get("nest") or ():
        inner = {"source-query": inner, "filter": ["not-null", ["field", name, {"base-type": base_type}]]}
    return {"database": card.database_id, "type": "query", "query": inner}


def _join4(j) -> dict:
    out = {"alias": j["alias"]}
    if j["filter"]:
        fid, value = j["filter"]
        out["source-query"] = {"source-table": j["source_table"], "filter": [">=", ["field", fid, None], value]}
    else:
        out["source-table"] = "card__%d" % j["source_card"] if j["source_card"] else j["source_table"]
    rhs = ["field", j["rhs"], {"join-alias": j["alias"]}] if j["rhs"] else \
        ["field", j["rhs_name"], {"join-alias": j["alias"], "base-type": "type/BigInteger"}]
    out.update(condition=["=", ["field", j["lhs"], None], rhs], fields="all", strategy="left-join")
    return out


def mbql5(model, card) -> dict:
    q = card.query
    if q["native"]:
        tags = {name: _tag5(model, card, tag) for name, tag in q["template_tags"].items()}
        stage = {"lib/type": "mbql.stage/native", "native": q["sql"], "template-tags": tags}
        return {"lib/type": "mbql/query", "database": card.database_id, "stages": [stage]}
    u = q["uuids"]
    n = iter(range(1, 1000))
    stage = {"lib/type": "mbql.stage/mbql"}
    if q["source_card"]:
        stage["source-card"] = q["source_card"]
    else:
        stage["source-table"] = q["source_table"]

    def field(fid, **opts):
        return ["field", {"lib/uuid": _uid(card.id, next(n)), "base-type": model.fields[fid].base_type, **opts}, fid]

    if q.get("joins"):
        stage["joins"] = [_join5(j, card, field, n) for j in q["joins"]]
    if q.get("expression"):
        name, a, b = q["expression"]
        stage["expressions"] = [["-", {"lib/uuid": _uid(card.id, next(n)), "lib/expression-name": name},
                                 field(a), field(b)]]
    base = lambda fid: model.fields[fid].base_type  # noqa: E731
    if q["aggregation"]:
        agg, fid = q["aggregation"]
        clause = [agg, {"lib/uuid": u[0]}]
        if fid is not None:
            clause.append(["field", {"lib/uuid": u[1], "base-type": base(fid)}, fid])
        stage["aggregation"] = [clause]
        if q.get("metric"):
            stage["aggregation"].append(["metric", {"lib/uuid": _uid(card.id, next(n))}, q["metric"]])
    if q.get("measure"):  # a measure (0.60+, lib/schema/ref.cljc); a lib/uuid of its own moves no other clause's
        stage.setdefault("aggregation", []).append(["measure", {"lib/uuid": _uid(card.id, 900)}, q["measure"]])
    if q["breakout"]:
        fid, unit = q["breakout"]
        opts = {"lib/uuid": u[2], "base-type": base(fid)}
        if unit:
            opts["temporal-unit"] = unit
        stage["breakout"] = [["field", opts, fid]]
    if q["filter"]:
        fid, value = q["filter"]
        stage["filters"] = [["=", {"lib/uuid": u[3]}, ["field", {"lib/uuid": u[4], "base-type": base(fid)}, fid], value]]
    if q.get("segment"):
        stage.setdefault("filters", []).append(["segment", {"lib/uuid": _uid(card.id, next(n))}, q["segment"]])
    if q.get("order_by"):
        stage["order-by"] = [["asc", {"lib/uuid": _uid(card.id, next(n))}, field(q["order_by"])]]
    if q.get("fields"):
        stage["fields"] = [field(fid) for fid in q["fields"]]
    stages = [stage]
    for name, base_type in q.get("nest") or ():
        stages.append({"lib/type": "mbql.stage/mbql", "filters": [
            ["not-null", {"lib/uuid": _uid(card.id, next(n))},
             ["field", {"lib/uuid": _uid(card.id, next(n)), "base-type": base_type}, name]]]})
    return {"lib/type": "mbql/query", "database": card.database_id, "stages": stages}


def _join5(j, card, field, n) -> dict:
    first = {"lib/type": "mbql.stage/mbql"}
    if j["source_card"]:
        first["source-card"] = j["source_card"]
    else:
        first["source-table"] = j["source_table"]
    stages = [first]
    if j["filter"]:  # MBQL 4's join source-query: a stage of the join's own
        fid, value = j["filter"]
        first["filters"] = [[">=", {"lib/uuid": _uid(card.id, next(n))}, field(fid), value]]
        stages.append({"lib/type": "mbql.stage/mbql"})
    rhs = field(j["rhs"], **{"join-alias": j["alias"]}) if j["rhs"] else \
        ["field", {"lib/uuid": _uid(card.id, next(n)), "join-alias": j["alias"], "base-type": "type/BigInteger"},
         j["rhs_name"]]
    return {"lib/type": "mbql/join", "alias": j["alias"], "stages": stages, "fields": "all",
            "strategy": "left-join", "conditions": [["=", {"lib/uuid": _uid(card.id, next(n))}, field(j["lhs"]), rhs]]}


def _tag5(model, card, tag) -> dict:
    """A template tag as MBQL 5 stores it: a field filter's dimension is an MBQL 5 field ref."""
    if tag["type"] != "dimension":
        return tag
    fid = tag["dimension"][1]
    return dict(tag, dimension=["field", {"lib/uuid": _uid(card.id, 999), "base-type": model.fields[fid].base_type}, fid])


# --- the truth --------------------------------------------------------------------------------

def dependencies(card) -> list:
    """What the card's query names, as the connector must report it: [(type, id, via)] (snippets:
    (type, id, via, name), id None where the card was saved without it), each (type, id) once, at
    its first clause in VIA_ORDER."""
    return query_dependencies(card.query)


def query_dependencies(q: dict) -> list:
    """dependencies() of an abstract query, whoever holds it (a card, a transform's source)."""
    found: dict = {}

    def add(kind, ident, via, name=None):
        key = (kind, ident if ident is not None else name)
        if key not in found:
            found[key] = (kind, ident, via) if kind != "snippet" else (kind, ident, via, name)

    if q["native"]:
        for tag in q["template_tags"].values():
            if tag["type"] == "card":
                add("card", tag["card-id"], "template_tag")
            elif tag["type"] == "snippet":
                add("snippet", tag.get("snippet-id"), "template_tag", tag["snippet-name"])
            elif tag["type"] == "dimension":
                add("field", tag["dimension"][1], "template_tag")
        return list(found.values())
    nested = bool(q.get("nest"))
    via = lambda clause: "nested_query" if nested else clause  # noqa: E731
    if q["source_card"]:
        add("card", q["source_card"], via("source"))
    elif q["source_table"] is not None:
        add("table", q["source_table"], via("source"))
    for j in q.get("joins") or ():
        add("card", j["source_card"], via("join")) if j["source_card"] else add("table", j["source_table"], via("join"))
        if j["filter"]:
            add("field", j["filter"][0], via("join"))
        add("field", j["lhs"], via("join"))
        if j["rhs"]:
            add("field", j["rhs"], via("join"))
    if q.get("expression"):
        add("field", q["expression"][1], via("expression"))
        add("field", q["expression"][2], via("expression"))
    if q["filter"]:
        add("field", q["filter"][0], via("filter"))
    if q.get("segment"):
        add("segment", q["segment"], via("filter"))
    if q["aggregation"] and q["aggregation"][1] is not None:
        add("field", q["aggregation"][1], via("aggregation"))
    if q.get("metric"):
        add("metric", q["metric"], via("aggregation"))
    if q.get("measure"):
        add("measure", q["measure"], via("aggregation"))
    if q["breakout"]:
        add("field", q["breakout"][0], via("breakout"))
    if q.get("order_by"):
        add("field", q["order_by"], via("order_by"))
    for fid in q.get("fields") or ():
        add("field", fid, via("fields"))
    return list(found.values())
