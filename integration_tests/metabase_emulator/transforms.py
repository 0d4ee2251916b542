"""Transforms (Metabase 0.59+): `GET /api/transform` and `GET /api/transform/:id` (metabase-api.md 11.4).

A transform runs a source into a target table. Sources: "query" with an MBQL 5 query (tables, a
join, fields, a segment: source_type "mbql") or a native stage (SQL with a card tag, a snippet tag
and a field filter: "native"), and "python" with `source-tables` in the spec's map form (alias ->
table id, or {database_id, schema, table, table_id}) or the newer array form ({alias,
database_id, schema, table, table_id}), naming a table that does not exist yet with a null
table_id. Target: {"type": "table", "database"?, "schema", "name"}. A target that exists is a real
table of the model (GET /api/table, its fields); one transform never ran, so its target does not.

Answers (src/metabase/transforms_rest/api/transform.clj and transforms/core get-transforms /
get-transform): a bare array by id, each hydrated with last_run, tag_ids, creator, owner and
source_readable; the detail adds `table` (the target table row, null when missing). Every item is
the spec's CLOSED object (paths/api_transform.json): exactly its keys, no others. Readers: admins
only on OSS (others 403). GET /api/table hydrates each table's `transform` (the transform's row,
or null) while transforms are enabled (warehouse_schema_rest/api/table.clj, models/table.clj).

The `transforms_enabled` setting (default True) stands for 0.64's self-hosted switch (Data Studio
or MB_TRANSFORMS_ENABLED); while it is off the emulator answers 403 "You don't have permissions to
do that." (get-transforms' check-403 on no enabled source type). Assumed: what 0.64 answers while
transforms are off was not checked (404, 403 or an empty list are all possible).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone

from . import queries
from .draw import nano, seeded, ts_around
from .rows import Collection, Field, Table, display_name
from .web import FORBIDDEN, HttpError, json_response

STATUSES = ("started", "succeeded", "failed", "timeout")  # the list's last-run-statuses enum
PYTHON = "import pandas as pd\n\ndef transform(%s):\n    return %s.merge(%s, how='left')\n"


@dataclass(slots=True)
class Transform:
    id: int
    name: str
    description: str | None
    source_type: str  # mbql | native | python
    database_id: int  # the source database
    target: dict  # {"type": "table", "database"?, "schema", "name"}
    creator_id: int
    created_at: int
    updated_at: int
    entity_id: str
    query: dict | None = None  # an abstract query as cards' (queries.py)
    # {"body", "form": "map" | "array", "tables": [(alias, table id | None, db, schema, name, bare)]}: bare,
    # in the map form, an entry sent as the table id alone
    python: dict | None = None
    target_table_id: int | None = None  # None: never ran, the table does not exist yet
    collection_id: int | None = None
    tag_ids: list = dc_field(default_factory=list)
    owner_user_id: int | None = None
    owner_email: str | None = None
    run_trigger: str = "none"
    last_run: tuple | None = None  # (run id, method, status, start, end | None, message | None, user id | None)


class _Source:
    """What queries.mbql5 reads of a card: an id (for its lib/uuids), a database, the query."""
    __slots__ = ("id", "database_id", "query")

    def __init__(self, t):
        self.id, self.database_id, self.query = 1_000_000 + t.id, t.database_id, t.query


# --- generation ----------------------------------------------------------------------------

class _Maker:
    def __init__(self, model, rng, db):
        self.m, self.rng, self.db = model, rng, db
        self.table_id = max(model.tables, default=0)
        self.field_id = max(model.fields, default=0)

    def table(self, name: str, columns: list, created: int) -> Table:
        """A target table, as a sync after the transform's run finds it."""
        self.table_id += 1
        t = Table(self.table_id, self.db.id, name, "transforms", display_name(name), None, "entity/GenericTable",
                  created, created + self.rng.randint(10**9, 10**10), nano(self.rng), self.rng.randint(10, 10**6))
        names = set()
        for pos, f in enumerate(columns):
            self.field_id += 1
            name = f.name if f.name not in names else "%s_%d" % (f.name, pos)  # a joined column of the same name
            names.add(name)
            t.fields.append(Field(self.field_id, t.id, name, display_name(name), f.base_type, f.semantic_type,
                                  f.database_type, pos, None, f.fingerprint))
        self.db.tables.append(t)
        self.m.tables[t.id] = t
        for f in t.fields:
            self.m.fields[f.id] = f
        return t


def make_transforms(model) -> None:
    """The cases first: a query transform (join, fields, segment), a native one (card, snippet and
    field-filter tags, target without `database`), a python one (map form: an id, a ref with an id,
    a ref to a table not yet made), a python one (array form) whose target does not exist, a query
    on the first one's target; then more query transforms. Their targets go into the first readable
    warehouse (the sample database if there is none)."""
    if not model.has("transforms"):
        return
    rng = seeded(model.seed, "transforms")
    def usable(d):
        return [t for t in d.tables if t.fields and not t.visibility_type]

    dbs = [d for d in model.databases.values() if not d.restricted and usable(d)]
    if not dbs:
        return
    segmented = {model.tables[s.table_id].db_id for s in model.segments.values()
                 if not s.archived and s.table_id in model.tables and not model.tables[s.table_id].visibility_type}
    # a warehouse with a segment to filter on, else any warehouse, else the sample database
    db = next((d for d in dbs if d.id in segmented), None) or next((d for d in dbs if not d.is_sample), dbs[0])
    sources = usable(db)
    folder = Collection(max(model.collections) + 1, "Transforms", "transforms", None, "/", nano(rng),
                        ts_around(rng, 0.9), namespace="transforms")
    model.collections[folder.id] = folder
    model._viewers = {}  # a new collection: every viewer's readable set is stale
    mk = _Maker(model, rng, db)
    with_segment = [t for t in sources if any(s.table_id == t.id and not s.archived for s in model.segments.values())]
    a = with_segment[0] if with_segment else sources[0]
    b = next((t for t in sources if t.id != a.id), a)
    people = model.people()
    admin = model.users[1]
    out = []

    def add(name, kind, created, target, table, **kw):
        tid = len(out) + 1
        t = Transform(tid, name, rng.choice([None, "Rebuilt nightly from %s." % db.name]), kind, db.id, target,
                      kw.pop("creator", rng.choice(people)).id, created, created + rng.randint(0, 10**11), nano(rng),
                      target_table_id=table.id if table else None, **kw)
        if t.owner_email is None:
            t.owner_user_id = t.creator_id
        out.append(t)
        model.transforms[tid] = t
        return t

    def target(name, with_db=True):
        return {"type": "table", **({"database": db.id} if with_db else {}), "schema": "transforms", "name": name}

    def run(n, status, method, start):
        end = None if status == "started" else start + rng.randint(10**6, 10**9)
        return (n, method, status, start, end, "Query timed out." if status in ("failed", "timeout") else None,
                admin.id if method == "manual" else None)

    # 1. MBQL 5: a table joined to another, three fields, a segment filter
    picked = a.fields[:3]
    seg = next((s.id for s in model.segments.values() if s.table_id == a.id and not s.archived), None)
    q1 = {"native": False, "source_table": a.id, "source_card": None, "columns": [f.id for f in a.fields],
          "aggregation": None, "breakout": None, "filter": None, "uuids": [queries.uuid(rng) for _ in range(6)],
          "joins": [{"alias": b.display_name, "source_table": b.id, "source_card": None, "filter": None,
                     "lhs": a.fields[-1].id, "rhs": b.fields[0].id, "rhs_name": None}],
          "fields": [f.id for f in picked], "segment": seg}
    created = ts_around(rng, 0.9)
    t1_table = mk.table("%s_enriched" % a.name.lower(), picked + b.fields[:1], created)
    t1 = add("%s enriched" % a.display_name, "mbql", created, target("%s_enriched" % a.name.lower()), t1_table,
             query=q1, collection_id=folder.id, tag_ids=[1], run_trigger="global-schedule",
             last_run=run(1, "succeeded", "cron", created + 10**9))
    # 2. native: a card tag, a snippet tag, a field filter; its target names no database
    live = [c for c in sorted(model.cards.values(), key=lambda c: c.id) if not c.archived]
    card = next((c for c in live if c.database_id == db.id), live[0] if live else None)  # a tag reads its own database
    snippet = next((s for s in sorted(model.snippets.values(), key=lambda s: s.id) if not s.archived), None)
    f = a.fields[0]
    tags, sql = {}, "SELECT %s FROM %s.%s WHERE 1 = 1" % (", ".join(x.name for x in picked), a.schema, a.name)
    if card:
        name = "#%d-%s" % (card.id, "-".join(card.name.lower().split()[:2]))
        tags[name] = {"type": "card", "name": name, "id": queries.uuid(rng), "display-name": name, "card-id": card.id}
        sql = "WITH base AS (SELECT * FROM {{%s}})\n%s" % (name, sql)
    if snippet:
        name = "snippet: " + snippet.name
        tags[name] = {"type": "snippet", "name": name, "id": queries.uuid(rng), "display-name": "Snippet: " + snippet.name,
                      "snippet-name": snippet.name, "snippet-id": snippet.id}
        sql += "\n{{snippet: %s}}" % snippet.name
    name = "filter_" + f.name.lower()
    tags[name] = {"type": "dimension", "name": name, "id": queries.uuid(rng), "display-name": f.display_name,
                  "dimension": ["field", f.id, None], "widget-type": "category"}
    sql += "\n[[AND {{filter_%s}}]]" % f.name.lower()
    q2 = {"native": True, "columns": [x.id for x in picked], "template_tags": tags, "parameters": [], "sql": sql}
    created = ts_around(rng, 0.92)
    t2_name = "%s_daily" % a.name.lower()
    add("%s daily" % a.display_name, "native", created, target(t2_name, with_db=False),
        mk.table(t2_name, picked, created), query=q2, tag_ids=[1, 2], creator=admin,
        last_run=run(2, "failed", "manual", created + 10**9))
    # 3. python, map form: a table id, a ref with its id, a ref to a table no run has made yet
    pending = "revenue_forecast"
    created = ts_around(rng, 0.93)
    tables3 = [("orders", a.id, db.id, a.schema, a.name, True),
               ("enriched", t1_table.id, db.id, "transforms", t1_table.name, False),
               ("forecast", None, db.id, "transforms", pending, False)]
    body = PYTHON % ("orders, enriched, forecast", "orders", "enriched")
    add("Customer scores", "python", created, target("customer_scores"), mk.table("customer_scores", b.fields[:4], created),
        python={"body": body, "form": "map", "tables": tables3}, collection_id=folder.id,
        owner_email="data-eng@example.com", last_run=run(3, "succeeded", "manual", created + 10**9))
    # 4. python, array form; it never ran: its target table does not exist
    created = ts_around(rng, 0.95)
    tables4 = [("customers", b.id, db.id, b.schema, b.name, False),
               ("scores", None, db.id, "transforms", "customer_scores_v2", False)]
    add("Revenue forecast", "python", created, target(pending), None, python={
        "body": PYTHON % ("customers, scores", "customers", "scores"), "form": "array", "tables": tables4})
    # 5. MBQL 5 on the first transform's output
    q5 = {"native": False, "source_table": t1_table.id, "source_card": None, "columns": [x.id for x in t1_table.fields],
          "aggregation": None, "breakout": None, "filter": (t1_table.fields[0].id, 1),
          "uuids": [queries.uuid(rng) for _ in range(6)]}
    created = ts_around(rng, 0.96)
    add("%s summary" % t1.name, "mbql", created, target("%s_summary" % a.name.lower()),
        mk.table("%s_summary" % a.name.lower(), t1_table.fields, created), query=q5, tag_ids=[3],
        last_run=run(5, "started", "cron", created + 10**9))
    for i in range(len(out), max(len(out), model.scale.cards // 20)):
        src = rng.choice(sources)
        cols = rng.sample(src.fields, min(3, len(src.fields)))
        q = {"native": False, "source_table": src.id, "source_card": None, "columns": [x.id for x in src.fields],
             "aggregation": None, "breakout": None, "filter": None, "uuids": [queries.uuid(rng) for _ in range(6)],
             "fields": [x.id for x in cols]}
        created = ts_around(rng, rng.uniform(0.85, 0.97))
        name = "%s_copy_%d" % (src.name.lower(), i + 1)
        add("%s copy %d" % (src.display_name, i + 1), "mbql", created, target(name), mk.table(name, cols, created),
            query=q, tag_ids=rng.sample([1, 2, 3], rng.randint(0, 2)),
            last_run=run(i + 1, rng.choice(["succeeded", "succeeded", "failed", "timeout"]), "cron", created + 10**9))


# --- the truth -----------------------------------------------------------------------------

def dependencies(t) -> set:
    """What the transform reads: a query source exactly as a card's query (queries.query_dependencies:
    (type, id, via), snippets (type, id, via, name)); a python source's tables ("table", id,
    "source_table"), and those named without an id ("table", None, "source_table", "schema.table")."""
    if t.query is not None:
        return set(queries.query_dependencies(t.query))
    out = set()
    for _, table_id, _, schema, name, _ in t.python["tables"]:
        out.add(("table", table_id, "source_table") if table_id is not None else
                ("table", None, "source_table", "%s.%s" % (schema, name) if schema else name))
    return out


def target_table_id(m, t) -> int | None:
    """The id of the table the transform writes, or None while it does not exist (never ran, or
    the table was deleted since)."""
    return t.target_table_id if t.target_table_id in m.tables else None


def enabled(api) -> bool:
    return api.p.transforms and api.settings().get("transforms_enabled", True)


def expected_ids(m, p, viewer, transforms_enabled: bool = True) -> list:
    return sorted(m.transforms) if p.transforms and transforms_enabled and viewer.superuser else []


# --- rendering -----------------------------------------------------------------------------

def source(m, t) -> dict:
    if t.query is not None:
        return {"type": "query", "query": queries.mbql5(m, _Source(t))}
    py = t.python
    if py["form"] == "map":  # the spec's form: an id, or a ref when the table may not exist
        tables = {alias: table_id if bare else
                  {"database_id": db, "schema": schema, "table": name, "table_id": table_id}
                  for alias, table_id, db, schema, name, bare in py["tables"]}
    else:
        tables = [{"alias": alias, "database_id": db, "schema": schema, "table": name, "table_id": table_id}
                  for alias, table_id, db, schema, name, _ in py["tables"]]
    return {"type": "python", "body": py["body"], "source-database": t.database_id, "source-tables": tables}


def row(r, t) -> dict:
    """The transform table's row: what GET /api/table hydrates as a table's `transform`."""
    return {"id": t.id, "name": t.name, "description": t.description, "entity_id": t.entity_id,
            "source": source(r.m, t), "target": t.target, "source_type": t.source_type,
            "collection_id": t.collection_id, "creator_id": t.creator_id, "owner_user_id": t.owner_user_id,
            "owner_email": t.owner_email, "run_trigger": t.run_trigger, "dependency_analysis_version": 1,
            "created_at": r.ts(t.created_at, t.id), "updated_at": r.ts(t.updated_at, t.id)}


def render(r, t, detail: bool) -> dict:
    """The closed TransformResponse; `table` on the detail only (get-transform assoc's it)."""
    m = r.m
    u = m.users[t.creator_id]
    d = row(r, t)
    d.update(creator={"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
                      "common_name": u.common_name, "last_login": r.ts(u.last_login, u.id), "is_qbnewb": u.is_qbnewb,
                      "is_superuser": u.is_superuser, "is_data_analyst": False, "tenant_id": None,
                      "date_joined": r.ts(u.date_joined, u.id)},
             tag_ids=list(t.tag_ids), source_database_id=t.database_id,
             target_db_id=t.target.get("database", t.database_id), source_readable=True)
    owner = m.users.get(t.owner_user_id) if t.owner_user_id else None
    d["owner"] = {"id": owner.id, "email": owner.email, "first_name": owner.first_name, "last_name": owner.last_name,
                  "common_name": owner.common_name} if owner else {"email": t.owner_email} if t.owner_email else None
    d["last_run"] = None
    if t.last_run:
        rid, method, status, start, end, message, user_id = t.last_run
        d["last_run"] = {"id": rid, "transform_id": t.id, "run_method": method, "status": status,
                         "is_active": True if status == "started" else None, "start_time": r.ts(start, rid),
                         "end_time": r.ts(end, rid), "message": message, "user_id": user_id,
                         "transform_name": t.name, "transform_entity_id": t.entity_id}
    if detail:
        table = m.tables.get(target_table_id(m, t))
        d["table"] = {k: v for k, v in r.table(table).items() if k != "db"} if table else None
    return d


def hydrate_table(api, table, d: dict) -> dict:
    """GET /api/table's `transform` hydration (only while transforms are on)."""
    if enabled(api):
        t = next((t for t in api.m.transforms.values() if t.target_table_id == table.id), None)
        d["transform"] = row(api.r, t) if t else None
    return d


# --- handlers ------------------------------------------------------------------------------

def _at(text: str, end: bool) -> int:
    """A date or datetime of a date filter string, in µs (a bare date: its first or last instant)."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise HttpError(400, {"errors": {"last-run-start-time": "unsupported date filter: %s" % text}}) from None
    bare = len(text) == 10
    us = int(dt.replace(tzinfo=dt.tzinfo or timezone.utc).timestamp()) * 1_000_000 + dt.microsecond
    return us + (86_400 * 1_000_000 - 1 if bare and end else 0)


def _filters(req) -> list:
    """The list's params as predicates on a transform (last_run status / start, tags, database).
    Date filters: "A~B", "A~", "~B" or one day (Metabase's relative forms are not emulated)."""
    out = []
    when = req.get("last-run-start-time")
    if when:
        lo, _, hi = when.partition("~") if "~" in when else (when, "", when)
        lo_us, hi_us = _at(lo, False) if lo else None, _at(hi, True) if hi else None
        out.append(lambda t: t.last_run is not None and (lo_us is None or t.last_run[3] >= lo_us)
                   and (hi_us is None or t.last_run[3] <= hi_us))
    statuses = req.params.get("last-run-statuses")
    if statuses:
        wrong = [s for s in statuses if s not in STATUSES]
        if wrong:
            message = "nullable sequence of enum of %s" % ", ".join(STATUSES)
            raise HttpError(400, {"errors": {"last-run-statuses": message}})
        out.append(lambda t: t.last_run is not None and t.last_run[2] in statuses)
    tags = req.params.get("tag-ids")
    if tags:
        if not all(x.isdigit() for x in tags):
            raise HttpError(400, {"errors": {"tag-ids": "nullable sequence of integer greater than or equal to zero"}})
        wanted = {int(x) for x in tags}
        out.append(lambda t: bool(wanted & set(t.tag_ids)))
    database = req.get("database-id")
    if database is not None:
        if not database.isdigit() or int(database) < 1:
            raise HttpError(400, {"errors": {"database-id": "nullable value must be an integer greater than zero."}})
        out.append(lambda t: t.database_id == int(database))  # assumed: the source database
    return out


def transform_list(api, req):
    if not enabled(api) or not req.viewer.superuser:
        raise HttpError(403, FORBIDDEN)
    keep = _filters(req)
    rows = sorted(api.m.transforms.values(), key=lambda t: t.id)
    return api.cached(req, lambda: [render(api.r, t, False) for t in rows if all(f(t) for f in keep)])


def transform_detail(api, req, tid):
    if not enabled(api):
        raise HttpError(403, FORBIDDEN)
    t = api.m.transforms.get(int(tid))
    if t is None:  # read-check: a missing row is 404 before any permission
        raise HttpError(404, "Not found.")
    if not req.viewer.superuser:
        raise HttpError(403, FORBIDDEN)
    return json_response(render(api.r, t, True))


def routes(api) -> list:
    if not api.p.transforms:
        return []
    return [("GET", r"/api/transform", lambda req: transform_list(api, req), True),
            ("GET", r"/api/transform/(\d+)", lambda req, tid: transform_detail(api, req, tid), True)]
