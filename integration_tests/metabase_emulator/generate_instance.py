"""Generation of the instance's frame: users (and the hidden users of API keys), databases with
their tables and fields, and collections (personal ones, restricted trees, archived subtrees,
snippet folders, the Trash; the Library on 0.59+). Called in generate.py's order."""

from __future__ import annotations

from .draw import nano, seeded, ts, ts_around
from .rows import ADMINISTRATORS, ALL_USERS, ANALYSTS, CREDENTIALS, FINANCE, MARKETING, T0, T1, Collection, \
    Database, Field, Table, User, display_name, iso, slugify
from .words import AREAS, ENGINES, FIELD_KINDS, FIRST, LAST, SAMPLE_TABLES, SENTENCES, SUBAREAS, WAREHOUSE_COLUMNS, \
    WAREHOUSE_TABLES


def make_users(m):
    rng = seeded(m.seed, "users")
    c = CREDENTIALS
    fixed = [
        (c["admin_email"], "Admin", "User", True, True, [ALL_USERS, ADMINISTRATORS], c["admin_password"]),
        (c["analyst_email"], "Ana", "Lyst", False, True, [ALL_USERS, ANALYSTS], c["analyst_password"]),
        (c["deactivated_email"], "Former", "Employee", False, False, [ALL_USERS, ANALYSTS],
         c["deactivated_password"]),
    ]
    for i, (email, first, last, su, active, groups, pw) in enumerate(fixed, start=1):
        joined = ts(rng, T0, T0 + 86400 * 30 * i)
        m.users[i] = User(i, email, first, last, su, active, groups, joined,
                          ts(rng, T1 - 86400 * 20, T1) if active else joined + 10**12,
                          joined + 10**12, password=pw)
    seen = set()
    for n in range(m.scale.users):
        uid = len(m.users) + 1
        first, last = rng.choice(FIRST), rng.choice(LAST)
        base = "%s.%s" % (slugify(first).replace("_", ""), slugify(last).replace("_", ""))
        email = "%s@example.com" % base if base not in seen else "%s%d@example.com" % (base, uid)
        seen.add(base)
        active = rng.random() > 0.2
        su = rng.random() < 0.1
        groups = [ALL_USERS] + ([ADMINISTRATORS] if su else []) + sorted(
            rng.sample([ANALYSTS, FINANCE, MARKETING], rng.randint(0, 2)))
        joined = ts_around(rng, n / max(1, m.scale.users) * 0.9, 0.1)
        last_login = None if rng.random() < 0.1 else min(T1 * 10**6, joined + rng.randint(1, 400) * 86400 * 10**6)
        m.users[uid] = User(uid, email, None if rng.random() < 0.03 else first,
                            None if rng.random() < 0.05 else last, su, active, groups, joined,
                            last_login, (last_login or joined) + rng.randint(1, 10**9),
                            locale=rng.choice([None, None, None, "de", "fr", "pt_BR", "ja"]),
                            sso_source=rng.choice([None, None, None, "google", "saml", "ldap"]),
                            is_qbnewb=rng.random() < 0.3)
    # The hidden users behind API keys (Metabase creates one per key).
    for name, key, groups in (("Admin key", c["admin_api_key"], [ALL_USERS, ADMINISTRATORS]),
                              ("Analyst key", c["analyst_api_key"], [ALL_USERS, ANALYSTS])):
        uid = len(m.users) + 1
        t = ts(rng, T1 - 86400 * 200, T1 - 86400 * 100)
        m.users[uid] = User(uid, "api-key-user-%08x-0000-4000-8000-%012x@api-key.invalid"
                            % (uid, uid), name, None, ADMINISTRATORS in groups, True, groups,
                            t, None, t, kind="api-key", password=key)


def make_databases(m):
    rng = seeded(m.seed, "databases")
    fid = 0
    tid = 0

    def add_field(table, name, kind, pos):
        nonlocal fid
        fid += 1
        base, sem, dbt = FIELD_KINDS[kind]
        table.fields.append(Field(fid, table.id, name, display_name(name), base, sem, dbt, pos,
                                  None, _fingerprint(rng, base, sem, kind),
                                  rng.choice([None, None, None, "The %s of the %s." % (
                                      display_name(name).lower(), table.display_name.lower())])))

    for i in range(m.scale.databases):
        dbid = i + 1
        if i == 0:
            engine, name, sample = "h2", "Sample Database", True
        else:
            engine, name = ENGINES[(i - 1) % len(ENGINES)]
            name += "" if i <= len(ENGINES) else " %d" % ((i - 1) // len(ENGINES) + 1)
            sample = False
        created = ts_around(rng, i / max(1, m.scale.databases) * 0.5)
        details = ({"db": "file:/plugins/sample-database.db;USER=GUEST;PASSWORD=guest"} if sample
                   else {"host": "%s.db.internal.example.com" % slugify(name).replace("_", "-"),
                         "port": {"postgres": 5432, "mysql": 3306, "redshift": 5439}.get(engine, 443),
                         "dbname": slugify(name), "user": "metabase_ro",
                         "password": "**MetabasePass**", "ssl": True, "tunnel-enabled": False,
                         "advanced-options": False})
        db = Database(dbid, name, engine, sample, name.startswith("Finance"), created,
                      created + rng.randint(1, 10**13), details,
                      None if sample else rng.choice(["UTC", "Europe/Berlin", "America/New_York"]),
                      None if sample else 1)
        m.databases[dbid] = db
        if sample:
            specs = [("PUBLIC", t, cols) for t, cols in SAMPLE_TABLES.items()]
        else:
            names = rng.sample(WAREHOUSE_TABLES, min(len(WAREHOUSE_TABLES), rng.randint(6, 18)))
            specs = []
            for t in names:
                cols = ["id:pk"] + ["%s_id:fk" % rng.choice(["customer", "account", "order", "user"])]
                cols += rng.sample(WAREHOUSE_COLUMNS, rng.randint(26, 56))
                specs.append((rng.choice(["public", "analytics", "raw", "staging"]), t, cols))
        for schema, tname, cols in specs:
            tid += 1
            t = Table(tid, dbid, tname, schema, display_name(tname),
                      rng.choice([None, "One row per %s." % display_name(tname).lower().rstrip("s")]),
                      rng.choice(["entity/GenericTable", "entity/TransactionTable", "entity/UserTable"]),
                      created + rng.randint(1, 10**9), created + rng.randint(10**9, 10**13),
                      nano(rng), rng.choice([None, rng.randint(10, 10**7)]))
            for pos, spec in enumerate(cols):
                cname, kind = spec.split(":")
                add_field(t, cname, kind, pos)
            db.tables.append(t)
            m.tables[tid] = t
            for f in t.fields:
                m.fields[f.id] = f
    # FKs point at the first table's primary key of the same database
    for db in m.databases.values():
        if db.tables:
            pk = db.tables[0].fields[0].id
            for t in db.tables:
                for f in t.fields:
                    if f.semantic_type == "type/FK":
                        f.fk_target_field_id = pk
    # A column dropped from every third warehouse table: Metabase marks its field inactive and
    # lists it nowhere, but the questions saved before still name it.
    for db in m.databases.values():
        if not db.is_sample:
            for t in db.tables[1::3]:
                t.fields[-1].active = False


def _fingerprint(rng, base, sem, kind):
    if sem == "type/PK":
        return None
    g = {"distinct-count": rng.randint(2, 20000), "nil%": rng.choice([0.0, 0.0, 0.0012, 0.25])}
    if base in ("type/Integer", "type/Float", "type/BigInteger"):
        lo = round(rng.uniform(-100, 100), 2)
        hi = round(lo + rng.uniform(1, 10000), 6)
        q1 = round(lo + (hi - lo) * 0.25, 6)
        return {"global": g, "type": {"type/Number": {
            "min": lo, "q1": q1, "q3": round(lo + (hi - lo) * 0.75, 6), "max": hi,
            "sd": round((hi - lo) / 5.1, 6), "avg": round((hi + lo) / 2.3, 6)}}}
    if base in ("type/DateTime", "type/Date"):
        lo, hi = ts(rng), ts(rng)
        return {"global": g, "type": {"type/DateTime": {
            "earliest": iso(min(lo, hi)), "latest": iso(max(lo, hi))}}}
    if base == "type/Text":
        return {"global": g, "type": {"type/Text": {
            "percent-json": 0.0, "percent-url": 1.0 if kind == "url" else 0.0,
            "percent-email": 1.0 if kind == "email" else 0.0,
            "percent-state": 1.0 if kind == "state" else 0.0,
            "average-length": round(rng.uniform(2, 180), 4)}}}
    return {"global": g}


def make_collections(m):
    rng = seeded(m.seed, "collections")
    n = m.scale.collections
    if n == 0:
        return

    def add(name, location, **kw):
        cid = len(m.collections) + 1
        m.collections[cid] = c = Collection(
            cid, name, slugify(name), kw.pop("description", rng.choice([None, None, rng.choice(SENTENCES)])),
            location, nano(rng), kw.pop("created_at", ts_around(rng, cid / (n + 20) * 0.9)), **kw)
        return c

    # a personal collection for every real user, including deactivated ones
    for u in m.people():
        c = add("%s's Personal Collection" % u.common_name, "/", personal_owner_id=u.id,
                description=None, created_at=u.date_joined + 1_000_000)
        u.personal_collection_id = c.id
    people = m.people()
    public, restricted = [], []
    restricted_root = None
    for i in range(n):
        if i == 0 and n >= 3:
            restricted_root = add("Finance (restricted)", "/", restricted=True,
                                  description="Board and payroll numbers. Admins and Finance only.")
            restricted.append(restricted_root)
            continue
        if restricted_root and rng.random() < 0.1:
            parent = rng.choice(restricted)
        elif rng.random() < 0.06 and people:
            parent = m.collections[rng.choice(people).personal_collection_id]
        elif public and rng.random() < 0.6:
            parent = rng.choice(public)
        else:
            parent = None
        if parent is not None and parent.location.count("/") > 4:
            parent = None  # keep trees a handful of levels deep
        name = rng.choice(AREAS) if parent is None else "%s %s" % (rng.choice(AREAS), rng.choice(SUBAREAS))
        location = "/" if parent is None else "%s%d/" % (parent.location, parent.id)
        c = add(name, location, restricted=bool(parent and parent.restricted),
                authority_level="official" if parent is None and rng.random() < 0.1 else None)
        if c.restricted:
            restricted.append(c)
        elif m._personal_root(c) is None:
            public.append(c)
    # archive a few subtrees, content included
    for c in list(m.collections.values()):
        if c.personal_owner_id is None and not c.archived and c.id != getattr(restricted_root, "id", 0) \
                and rng.random() < 0.07:
            c.archived, c.archived_directly = True, True
            prefix = "%s%d/" % (c.location, c.id)
            for d in m.collections.values():
                if d.location.startswith(prefix) and not d.archived:
                    d.archived, d.archived_directly = True, False
    if public and not any(c.archived for c in m.collections.values()):
        public[-1].archived, public[-1].archived_directly = True, True  # a leaf: the newest one
    # snippet folders (namespace "snippets"), one of them restricted
    if m.scale.snippets:
        for i in range(max(1, m.scale.snippets // 12)):
            add("%s Snippets" % rng.choice(AREAS) if i else "Finance Snippets", "/",
                namespace="snippets", restricted=(i == 0 and m.scale.snippets >= 3))
    # the v0.50+ Trash; only rendered by profiles that have it
    m.trash_id = len(m.collections) + 1
    m.collections[m.trash_id] = Collection(
        m.trash_id, "Trash", "trash", None, "/", nano(rng), T1 * 1_000_000 - 1, type="trash")


def make_library(m):
    """The Library (0.59+, metabase-api.md 11.6): a "library" collection with its "library-data"
    (published tables) and "library-metrics" children, readable by everyone. Made after all other
    content, with ids after the Trash's, so no other id moves; empty."""
    if not m.has("library") or not m.collections:
        return
    rng = seeded(m.seed, "library")
    root_id = max(m.collections) + 1
    for offset, (name, ctype, location) in enumerate((("Library", "library", "/"), ("Data", "library-data", None),
                                                      ("Metrics", "library-metrics", None))):
        cid = root_id + offset
        m.collections[cid] = Collection(cid, name, slugify(name), None, location or "/%d/" % root_id, nano(rng),
                                        ts_around(rng, 0.95), type=ctype)
    m._viewers = {}  # new collections: every viewer's readable set is stale
