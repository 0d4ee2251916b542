"""Who may do what: the permission model that explains visibility.py, and Metabase's two permission
graphs built from it (metabase-api.md 11.7; GET /api/collection/graph, GET /api/permissions/graph).

The model is the pair of tables Metabase keeps, as a function of the instance's objects (so that a
table or database added later gets its rows as Metabase gives them on creation):
- collection permissions: per group, per collection (and per namespace's root), "read", "write" or
  nothing (`collection_access`, `root_access`). Administrators hold everything implicitly; a personal
  collection and what is under it belong to its owner alone; the Trash follows the root.
  Restricted trees: Finance writes, nobody else. Other collections: All Users read, Analysts write,
  Marketing holds a redundant "read" on some.
- data permissions: per group, per database, per permission type (Metabase's data_permissions table:
  view-data, create-queries, download-results, manage-table-metadata, manage-database, transforms),
  either one value for the database or one per table (`data_grants`), plus one EE sandbox
  (Marketing on one table of the first warehouse). A group sees a database when create-queries is
  not "no" somewhere in it. Restricted databases: only Finance queries them.
`model_access` derives, from these tables alone, what each user reads and writes and which databases
it sees; the tests check that it equals visibility.viewer_of for every user.

The graphs follow Metabase's builders:
- collection graph: permissions/models/collection/graph.clj (`graph`; `non-personal-collection-ids`
  @ 0.40-0.55: every group, root + every non-personal collection of the namespace, Trash excluded
  from 0.50, "none" where no access); archived collections left out from ≈0.56 (PR #59065); from
  0.56.13 sparse (PR #65098): only read/write entries, groups without any left out.
- data graph v1 (up to 0.49): models/permissions.clj `data-perms-graph` + permissions/parse.clj
  (paths -> graph): `{native, schemas}` per database up to 0.41 (@ v0.40.5, v0.41.1), under `data`
  with `download`, `data-model`, `details` from 0.42 (@ 12829e15); only what is granted appears.
- data graph v2 (0.50+): permissions_rest/data_permissions/graph.clj `api-graph` (least permissive
  values left out, table values coalesced per schema, download/data-model under `schemas`, admin perms
  added for every database), EE `add-sandboxes-to-permissions-graph` (sandbox/models/...: the table's
  view-data "sandboxed", the database's or schema's value spread over its tables first), and the
  `transforms` key from 0.59.
The truth the tests compare a connector with (`expected_collection_permissions`,
`expected_data_permissions`) is computed from these tables (`*_entries`), not from rendered JSON.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .draw import seeded
from .edition import edition_of, has_feature
from .rows import ADMINISTRATORS, ALL_USERS, ANALYSTS, FINANCE, GROUP_NAMES, MARKETING
from .web import FORBIDDEN, HttpError, json_response

READ, WRITE = "read", "write"
STORED_GROUPS = (ALL_USERS, ANALYSTS, FINANCE, MARKETING)  # Administrators' perms are never stored
# Each data permission type's values, most permissive first (permissions/schema.clj; the last one is
# the "least permissive" value the v2 graph leaves out).
PERM_VALUES = {
    "view-data": ("unrestricted", "legacy-no-self-service", "blocked"),
    "create-queries": ("query-builder-and-native", "query-builder", "no"),
    "download-results": ("one-million-rows", "ten-thousand-rows", "no"),
    "manage-table-metadata": ("yes", "no"),
    "manage-database": ("yes", "no"),
    "transforms": ("yes", "no"),
}
QBN, QB, NO = PERM_VALUES["create-queries"]
# v2 graph keys and values (graph.clj ->api-keys, ->api-vals); None: left out
API_KEY = {"view-data": "view-data", "create-queries": "create-queries", "download-results": "download",
           "manage-table-metadata": "data-model", "manage-database": "details", "transforms": "transforms"}
API_VALUE = {"download-results": {"one-million-rows": "full", "ten-thousand-rows": "limited", "no": None},
             "manage-table-metadata": {"yes": "all", "no": None}}
UNDER_SCHEMAS = ("download-results", "manage-table-metadata")  # nested as {"download": {"schemas": ...}}


@dataclass(slots=True)
class PermissionState:
    """What generation fixes once: the sandbox and the two revision counters."""
    sandbox: tuple | None  # (group_id, table_id): the one row of EE's `sandboxes` table
    data_revision: int  # permissions_revision's latest id
    collection_revision: int  # collection_permission_graph_revision's latest id


def make_permissions(m) -> None:
    """A step of generate.py: the sandbox (Marketing, on a table it queries with the query builder in the
    first unrestricted warehouse) and the revisions. The tables themselves follow the objects."""
    rng = seeded(m.seed, "permissions")
    m.permissions = PermissionState(None, rng.randint(20, 400), rng.randint(5, 120))
    dbs = sorted((d for d in m.databases.values() if not d.restricted and d.tables), key=lambda d: d.id)
    db = next((d for d in dbs if not d.is_sample), dbs[0] if dbs else None)
    if db is not None:
        grants = data_grants(m, MARKETING, db)
        ok = [t for t in sorted(db.tables, key=lambda t: t.id)
              if _value(grants["create-queries"], t.id) != NO and _value(grants["view-data"], t.id) == "unrestricted"]
        if ok:
            m.permissions.sandbox = (MARKETING, rng.choice(ok).id)


# --- the tables ---------------------------------------------------------------------------------

def _draw(m, *key) -> float:
    """A stable draw in [0, 1) per object (not per position), so later objects leave earlier ones alone."""
    digest = hashlib.blake2b(("%s/perms/%s" % (m.seed, "/".join(map(str, key)))).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


def collection_access(m, gid: int, c) -> str | None:
    """The group's stored access to a collection: "read", "write" or None (personal trees and the
    Trash are not in the table: their owner, respectively the root's permissions, decide)."""
    if c.type == "trash" or m._personal_root(c) is not None:
        return None
    if c.restricted:
        return WRITE if gid == FINANCE else None
    if gid == MARKETING:
        return READ if _draw(m, "collection", c.id) < 0.35 else None
    return {ALL_USERS: READ, ANALYSTS: WRITE}.get(gid)


def root_access(gid: int, namespace=None) -> str | None:
    """The group's access to a namespace's root collection (the same in every namespace)."""
    return {ALL_USERS: READ, ANALYSTS: WRITE}.get(gid)


def _mixed(m, tables, p: float, yes: str, no: str, tag: str) -> dict:
    """Per-table values, `yes` with probability p; both present whenever there are two tables."""
    out = {t.id: yes if _draw(m, tag, t.id) < p else no for t in tables}
    if len(set(out.values())) == 1:  # never all the same (a lone table: granted)
        out[tables[0].id] = yes
        if len(tables) > 1:
            out[tables[-1].id] = no
    return out


def data_grants(m, gid: int, db) -> dict:
    """The group's data permissions on the database: {type: value, or {table_id: value}}."""
    g = {"view-data": "unrestricted", "create-queries": NO, "download-results": "no",
         "manage-table-metadata": "no", "manage-database": "no", "transforms": "no"}
    tables = sorted(db.tables, key=lambda t: t.id)
    schemas = sorted({t.schema for t in tables})
    if db.restricted:
        if gid == FINANCE:
            g.update({"create-queries": QBN, "download-results": "one-million-rows", "manage-table-metadata": "yes",
                      "manage-database": "yes", "transforms": "yes"})
        elif gid == ALL_USERS:
            g["view-data"] = "blocked"
        elif gid == MARKETING:
            g["view-data"] = "legacy-no-self-service"
        return g  # Analysts: unrestricted view, no queries
    if gid == FINANCE:
        g.update({"create-queries": QB, "download-results": "ten-thousand-rows"})
    elif gid == ANALYSTS:
        g.update({"create-queries": QBN, "download-results": "one-million-rows"})
        if db.is_sample and tables:
            g["manage-table-metadata"] = _mixed(m, tables, 0.4, "yes", "no", "data-model")
        elif tables:
            g.update({"manage-table-metadata": "yes", "transforms": "yes"})
    elif db.is_sample or not tables:
        g.update({"create-queries": QBN if gid == ALL_USERS else QB,
                  "download-results": "one-million-rows" if gid == ALL_USERS else "no"})
    elif gid == ALL_USERS:  # first schema queried, second in part, the rest not at all
        first = [t for t in tables if t.schema == schemas[0]]
        second = [t for t in tables if len(schemas) > 1 and t.schema == schemas[1]]
        cq = {t.id: NO for t in tables}
        cq.update(_mixed(m, first, 0.5, QB, NO, "all-users") if len(schemas) == 1 else {t.id: QB for t in first})
        cq.update(_mixed(m, second, 0.5, QB, NO, "all-users"))
        cq[tables[0].id] = QB
        g.update({"create-queries": cq, "download-results": "ten-thousand-rows"})
    elif gid == MARKETING:  # the last schema blocked, the others queried in part, downloads per table
        blocked = schemas[-1] if len(schemas) > 1 else None
        if blocked:
            g["view-data"] = {t.id: "blocked" if t.schema == blocked else "unrestricted" for t in tables}
        open_ = [t for t in tables if t.schema != blocked]
        cq = {t.id: NO for t in tables}
        cq.update(_mixed(m, open_, 0.7, QB, NO, "marketing"))
        g["create-queries"] = cq
        g["download-results"] = {t.id: ("one-million-rows" if _draw(m, "download", t.id) < 0.5 else
                                        "ten-thousand-rows") if cq[t.id] == QB else "no" for t in tables}
    sandbox = getattr(m, "permissions", None) and m.permissions.sandbox
    if sandbox and sandbox[0] == gid and any(t.id == sandbox[1] for t in tables):
        # saving a sandbox sets the database's native queries back to the query builder (sandbox before-insert)
        cq = g["create-queries"]
        g["create-queries"] = QB if cq == QBN else {**cq, sandbox[1]: QB} if isinstance(cq, dict) else cq
    return g


def _value(v, table_id):
    return v if isinstance(v, str) else v[table_id]


def sees_database(m, gid: int, db) -> bool:
    """A group sees a database when it may query something in it."""
    cq = data_grants(m, gid, db)["create-queries"]
    return any(v != NO for v in ([cq] if isinstance(cq, str) else cq.values()))


def model_access(m, user) -> tuple:
    """(readable collection ids, writable collection ids, visible database ids) for the user, from the
    permission tables alone: what visibility.viewer_of must agree with."""
    su, groups = user.is_superuser, set(user.group_ids)
    readable, writable = set(), set()
    for c in m.collections.values():
        owner = m._personal_root(c)
        if su or owner is not None:
            r = w = su or owner == user.id
        else:
            acc = {root_access(g, c.namespace) if c.type == "trash" else collection_access(m, g, c) for g in groups}
            r, w = bool(acc - {None}), WRITE in acc
        if r:
            readable.add(c.id)
        if w:
            writable.add(c.id)
    dbs = {d.id for d in m.databases.values() if su or any(sees_database(m, g, d) for g in groups)}
    return frozenset(readable), frozenset(writable), frozenset(dbs)


# --- the collection graph ------------------------------------------------------------------------

def _version(profile) -> tuple:
    _, minor, patch = profile.tag.split(".")[:3]
    return int(minor), int(patch)


def graph_collections(m, profile, namespace=None) -> list:
    """The collections the graph covers: the namespace's, not personal nor under a personal one, not the
    Trash; archived ones too until ≈0.56 (PR #59065)."""
    return sorted((c for c in m.collections.values()
                   if c.namespace == namespace and c.type != "trash" and m._personal_root(c) is None
                   and not (c.archived and profile.since(56))), key=lambda c: c.id)


def collection_entries(m, profile, namespace=None) -> list:
    """(group_id, collection id or "root", "read"|"write") for every group and covered collection with
    access, Administrators' implicit write included; sorted."""
    out = [(ADMINISTRATORS, "root", WRITE)] + [(ADMINISTRATORS, c.id, WRITE) for c in graph_collections(m, profile,
                                                                                                       namespace)]
    for gid in STORED_GROUPS:
        root = root_access(gid, namespace)
        if root:
            out.append((gid, "root", root))
        out += [(gid, c.id, a) for c in graph_collections(m, profile, namespace)
                for a in [collection_access(m, gid, c)] if a]
    return sorted(out, key=lambda e: (e[0], isinstance(e[1], int), e[1] if isinstance(e[1], int) else 0))


def collection_graph(m, profile, namespace=None) -> dict:
    """GET /api/collection/graph: every group with root and every covered collection ("none" where no
    access) up to 0.56.12; from 0.56.13 only the entries with access."""
    entries = collection_entries(m, profile, namespace)
    groups: dict = {}
    if _version(profile) < (56, 13):
        keys = ["root"] + [c.id for c in graph_collections(m, profile, namespace)]
        for gid in sorted(GROUP_NAMES):
            groups[str(gid)] = {str(k): "none" for k in keys}
    for gid, key, access in entries:
        groups.setdefault(str(gid), {})[str(key)] = access
    return {"revision": m.permissions.collection_revision, "groups": groups}


def expected_collection_permissions(m, profile, namespace=None) -> list:
    """Truth (a): [(group_id, collection_id or "root", "read"|"write")] that GET /api/collection/graph
    grants on this profile (no "none"), sorted by group, then root, then collection id."""
    return collection_entries(m, profile, namespace)


# --- the data permissions graph ------------------------------------------------------------------

def _by_schema(db) -> dict:
    out: dict = {}
    for t in sorted(db.tables, key=lambda t: t.id):
        out.setdefault(t.schema or "", []).append(t.id)
    return out


def _sandboxed(m, db):
    """(group_id, table) of the sandbox when it is on this database (a deleted table takes it along)."""
    sandbox = m.permissions.sandbox
    table = sandbox and next((t for t in db.tables if t.id == sandbox[1]), None)
    return (sandbox[0], table) if table else None


def _v2_entries(m, profile, edition) -> list:
    """(group_id, db_id, path under groups[g][db], value) of the 0.50+ graph."""
    types = [t for t in PERM_VALUES if t != "transforms" or profile.since(59)]
    admin = [(("view-data",), "unrestricted"), (("create-queries",), QBN), (("download", "schemas"), "full"),
             (("data-model", "schemas"), "all"), (("details",), "yes")] + [(("transforms",), "yes")] * profile.since(59)
    out = []
    for db in sorted(m.databases.values(), key=lambda d: d.id):
        schemas = _by_schema(db)
        entries = []
        for gid in STORED_GROUPS:
            grants = data_grants(m, gid, db)
            for perm in types:
                v, least, api = grants[perm], PERM_VALUES[perm][-1], API_VALUE.get(perm, {})
                head = (API_KEY[perm],) + (("schemas",) if perm in UNDER_SCHEMAS else ())
                if isinstance(v, str):
                    if v != least:  # the least permissive value is left out
                        entries.append((gid, db.id, head, api.get(v, v)))
                    continue
                for schema, tids in schemas.items():
                    values = {v[t] for t in tids}
                    if len(values) == 1:  # one value for the whole schema: coalesced (None: left out)
                        value = api.get(*values, *values)
                        if value is not None:
                            entries.append((gid, db.id, head + (schema,), value))
                    else:
                        entries += [(gid, db.id, head + (schema, t), api.get(v[t], v[t]))
                                    for t in tids if v[t] != least]
        sandbox = _sandboxed(m, db)
        if sandbox and has_feature(profile, edition, "sandboxes"):  # the OSS graph ignores sandboxes
            entries = _merge_sandbox(entries, sandbox[0], sandbox[1], schemas)
        out += entries + [(ADMINISTRATORS, db.id, path, v) for path, v in admin]
    return out


def _merge_sandbox(entries, gid, table, schemas) -> list:
    """The sandboxed table's view-data becomes "sandboxed"; a value the whole database or the table's
    schema holds is first spread over its tables (merge-sandbox-into-graph)."""
    db_id = table.db_id
    mine = [e for e in entries if e[:2] == (gid, db_id) and e[2][0] == "view-data"]
    whole = [e for e in mine if len(e[2]) == 1]
    spread = whole or [e for e in mine if len(e[2]) == 2 and e[2][1] == table.schema]
    target = (gid, db_id, ("view-data", table.schema, table.id))
    out = [e for e in entries if e not in spread and e[:3] != target]
    if spread:
        out += [(gid, db_id, ("view-data", schema, t), spread[0][3]) for schema, tids in schemas.items()
                if whole or schema == table.schema for t in tids if t != table.id]
    return out + [target + ("sandboxed",)]


def _v1_entries(m, profile) -> list:
    """The same for the v1 graph (up to 0.49): the paths a v1 instance holds for these grants, parsed
    as permissions/parse.clj does; `data`/`download`/`data-model`/`details` from 0.42."""
    wrapped = profile.since(42)
    data = ("data",) if wrapped else ()
    admin = [(data + ("native",), "write"), (data + ("schemas",), "all")]
    if wrapped:
        admin += [(("download", "native"), "full"), (("download", "schemas"), "full"),
                  (("data-model", "schemas"), "all"), (("details",), "yes")]
    out = []
    for db in sorted(m.databases.values(), key=lambda d: d.id):
        schemas = _by_schema(db)
        sandbox = _sandboxed(m, db)
        for gid in STORED_GROUPS:
            g = data_grants(m, gid, db)
            segmented = sandbox[1].id if sandbox and sandbox[0] == gid else None  # its paths: read/ + query/segmented/
            cq = g["create-queries"]
            if segmented and isinstance(cq, str):  # a sandbox needs table paths beside it
                cq = {t: cq for tids in schemas.values() for t in tids}
            if cq == QBN:  # /db/1/
                out += [(gid, db.id, data + ("native",), "write"), (gid, db.id, data + ("schemas",), "all")]
            elif cq == QB:  # /db/1/schema/
                out.append((gid, db.id, data + ("schemas",), "all"))
            elif isinstance(cq, dict):
                for schema, tids in schemas.items():
                    granted = [t for t in tids if cq[t] != NO]
                    if granted == tids and segmented not in tids:  # /db/1/schema/PUBLIC/
                        out.append((gid, db.id, data + ("schemas", schema), "all"))
                        continue
                    for t in granted:
                        if t == segmented:
                            out += [(gid, db.id, data + ("schemas", schema, t, "read"), "all"),
                                    (gid, db.id, data + ("schemas", schema, t, "query"), "segmented")]
                        else:  # /db/1/schema/PUBLIC/table/2/
                            out.append((gid, db.id, data + ("schemas", schema, t), "all"))
            if wrapped:
                out += _v1_extra(gid, db, g, schemas)
        out += [(ADMINISTRATORS, db.id, path, v) for path, v in admin]
    return out


def _v1_extra(gid, db, g, schemas) -> list:
    """0.42-0.49: /block/db/1/, /download[/limited]/db/1/..., /data-model/db/1/..., /details/db/1/."""
    out = [(gid, db.id, ("data", "schemas"), "block")] if g["view-data"] == "blocked" else []
    dl = {"one-million-rows": "full", "ten-thousand-rows": "limited"}
    for perm, key, values in (("download-results", "download", dl), ("manage-table-metadata", "data-model",
                                                                    {"yes": "all"})):
        v = g[perm]
        if isinstance(v, str):
            if v in values:
                native = [(gid, db.id, (key, "native"), values[v])] if perm == "download-results" else []
                out += native + [(gid, db.id, (key, "schemas"), values[v])]
            continue
        for schema, tids in schemas.items():
            if len({v[t] for t in tids}) == 1:
                if v[tids[0]] in values:
                    out.append((gid, db.id, (key, "schemas", schema), values[v[tids[0]]]))
            else:
                out += [(gid, db.id, (key, "schemas", schema, t), values[v[t]]) for t in tids if v[t] in values]
    if g["manage-database"] == "yes":
        out.append((gid, db.id, ("details",), "yes"))
    return out


def data_entries(m, profile, edition: str = "oss") -> list:
    """(group_id, db_id, path, value) of GET /api/permissions/graph on this profile and edition."""
    entries = _v2_entries(m, profile, edition) if profile.since(50) else _v1_entries(m, profile)
    return sorted(entries, key=lambda e: (e[0], e[1], tuple(map(str, e[2]))))


def data_graph(m, profile, edition: str = "oss") -> dict:
    """GET /api/permissions/graph: {"revision", "groups": {group: {db: perms}}}."""
    groups: dict = {}
    for gid, db_id, path, value in data_entries(m, profile, edition):
        node = groups.setdefault(str(gid), {}).setdefault(str(db_id), {})
        for key in path[:-1]:
            node = node.setdefault(str(key), {})
        node[str(path[-1])] = value
    return {"revision": m.permissions.data_revision, "groups": groups}


def flat_row(gid, db_id, path, value) -> tuple:
    """The issue's flattening of one path: the database-level key names the permission; below it
    `schemas` is skipped, `native`/`read`/`query` extend the name, anything else is the schema, then
    the table id."""
    name, place = path[0], []
    for key in path[1:]:
        if key == "schemas":
            continue
        if key in ("native", "read", "query"):
            name += "." + key
        else:
            place.append(key)
    schema, table = (place + [None, None])[:2]
    return gid, db_id, name, schema, None if table is None else int(table), value


def expected_data_permissions(m, profile, edition: str = "oss") -> set:
    """Truth (b): {(group_id, database_id, permission, schema_name or None, table_id or None, value)}
    that GET /api/permissions/graph carries on this profile and edition, computed from the grants."""
    return {flat_row(*e) for e in data_entries(m, profile, edition)}


# --- handlers (routes.py's table) -----------------------------------------------------------------

def collection_graph_route(api, req):
    """GET /api/collection/graph?namespace=: superusers only."""
    if not req.viewer.superuser:
        raise HttpError(403, FORBIDDEN)
    return json_response(collection_graph(api.m, api.p, req.get("namespace") or None))


def data_graph_route(api, req):
    """GET /api/permissions/graph: superusers only."""
    if not req.viewer.superuser:
        raise HttpError(403, FORBIDDEN)
    return json_response(data_graph(api.m, api.p, edition_of(api.settings())))
