"""Generation of the content users make: snippets, cards (with their queries, see queries.py),
dashboards with tabs and dashcards, and dashboard questions. Called in generate.py's order."""

from __future__ import annotations

from . import queries
from .draw import nano, seeded, ts_around
from .rows import Card, DashCard, Dashboard, Snippet
from .words import AREAS, DIMS, DISPLAYS, METRICS, QUALS, SENTENCES


def make_snippets(m):
    rng = seeded(m.seed, "snippets")
    folders = [c for c in m.collections.values() if c.namespace == "snippets"]
    people = m.people()
    for i in range(m.scale.snippets):
        sid = i + 1
        col = rng.choice(["created_at", "status", "country", "amount", "plan"])
        content = rng.choice([
            "WHERE %s IS NOT NULL AND is_test = false" % col,
            "AND %s >= current_date - interval '30 days'" % col,
            "CASE WHEN amount > 1000 THEN 'large' WHEN amount > 100 THEN 'medium' ELSE 'small' END",
            "LEFT JOIN analytics.customers c ON c.id = o.customer_id",
            "date_trunc('month', %s)" % col,
            "-- standard exclusions\nAND email NOT LIKE '%%@example.com'\nAND country <> 'XX'"])
        created = ts_around(rng, sid / max(1, m.scale.snippets) * 0.95)
        m.snippets[sid] = Snippet(
            sid, "%s_%s_%d" % (rng.choice(["filter", "join", "bucket", "exclude"]), col, sid),
            rng.choice([None, rng.choice(SENTENCES)]), content,
            rng.choice(folders).id if folders and rng.random() < 0.6 else None,
            rng.choice(people).id, created, created + rng.randint(0, 10**13), nano(rng),
            archived=rng.random() < 0.1 or sid == 2)


class Places:
    """Where new cards and dashboards go. The collections are grouped once per step: scanning
    every collection per card is quadratic."""
    __slots__ = ("pools",)

    def __init__(self, m):
        colls = m.content_collections()
        personal: dict = {}
        for c in colls:
            personal.setdefault(m._personal_root(c), []).append(c)
        self.pools = (colls, [c for c in colls if c.restricted], personal,
                      [c for c in personal.get(None, []) if not c.restricted])

    def pick(self, rng, owner_id: int, force: float | None = None) -> tuple[int | None, bool]:
        """Choose a collection for a new card/dashboard: root, public, restricted or personal.
        `force` replaces the random draw, so that even tiny instances have one of each kind."""
        colls, restricted, personal, public = self.pools
        r = rng.random() if force is None else force
        if not colls or r < 0.15:
            return None, False
        pool = restricted if r < 0.25 else personal.get(owner_id, []) if r < 0.35 else public
        c = rng.choice(pool or public or colls)
        return c.id, c.archived


def make_cards(m):
    rng = seeded(m.seed, "cards")
    n = m.scale.cards
    people = m.people()
    inactive = [u for u in people if not u.is_active]
    dbs = list(m.databases.values())
    maker = queries.QueryMaker(m)
    places = Places(m)
    if n and not dbs:
        raise ValueError("cards need at least one database (Scale(databases=0) with cards > 0)")
    for i in range(n):
        cid = i + 1
        frac = i / max(1, n)
        creator = rng.choice(inactive) if inactive and frac < 0.35 and rng.random() < 0.5 \
            else rng.choice(people)
        # the first cards are one of each: restricted, root, the analyst's own, archived, by a former employee
        creator = {2: m.users[2], 3: m.users[3]}.get(i, creator)
        collection_id, in_archived = places.pick(rng, creator.id, {0: 0.2, 1: 0.0, 2: 0.3}.get(i))
        # a fixed share on the (small) sample database, whatever the number of databases,
        # so that the average card size does not depend on the scale
        db = dbs[0] if len(dbs) == 1 or rng.random() < 0.42 else rng.choice(dbs[1:])
        table = rng.choice(db.tables) if db.tables else None
        kind = rng.choices(["question", "model", "metric"], [80, 12, 8])[0]
        native = kind != "metric" and rng.random() < 0.35
        source_card = None
        if kind == "question" and not native and cid > 10 and rng.random() < 0.1:
            base = m.cards.get(rng.randint(1, cid - 1))
            if base and base.type == "model" and base.query_type == "query":
                source_card, table, db = base.id, m.tables.get(base.table_id), m.databases[base.database_id]
        query = maker.query(rng, cid, kind, native, db, table, source_card)
        created = ts_around(rng, frac * 0.97)
        updated = created + rng.randint(0, 10**13)
        archived_directly = not in_archived and (rng.random() < 0.05 or i == 3)
        display = "table" if kind == "model" else rng.choice(["line", "scalar", "smartscalar"]) \
            if kind == "metric" else rng.choice(DISPLAYS)
        m.cards[cid] = Card(
            cid, "%s %s%s" % (rng.choice(METRICS), rng.choice(DIMS), rng.choice(QUALS)),
            rng.choice([None, None, rng.choice(SENTENCES)]), collection_id, kind,
            "native" if native else "query", query, db.id, table.id if table else None, display,
            creator.id, created, updated, rng.choice(people).id if rng.random() < 0.9 else None,
            nano(rng), archived=in_archived or archived_directly,
            archived_directly=archived_directly,
            collection_position=rng.choice([None] * 12 + [1, 2, 3]),
            source_card_id=query.get("source_card"), view_count=rng.randint(0, 5000),
            average_query_time=rng.choice([None, round(rng.uniform(5, 30000), 4)]),
            last_query_start=rng.choice([None, updated + rng.randint(1, 10**12)]),
            visualization_settings=_viz(m, rng, display, query),
            parameters=query.pop("parameters", []),
            cache_ttl=rng.choice([None] * 9 + [3600]))
        maker.added(m.cards[cid])


def _viz(m, rng, display, query):
    if display in ("line", "bar", "area", "combo", "row"):
        return {"graph.dimensions": ["CREATED_AT"], "graph.metrics": ["count"],
                "graph.show_values": rng.random() < 0.5, "graph.x_axis.title_text": "Month",
                "series_settings": {"count": {"color": rng.choice(["#509EE3", "#88BF4D", "#A989C5"])}}}
    if display == "pie":
        return {"pie.dimension": "CATEGORY", "pie.metric": "count", "pie.show_legend": True}
    if display in ("scalar", "smartscalar", "progress"):
        return {"scalar.field": "count", "scalar.compact_primary_number": True, "progress.goal": 1000}
    if display == "table":
        cols = query.get("columns", [])
        return {"table.pivot": False, "table.columns": [
            {"name": m.fields[f].name, "fieldRef": ["field", f, None], "enabled": rng.random() < 0.9}
            for f in cols],
            "column_settings": {'["name","%s"]' % m.fields[f].name:
                                {"column_title": m.fields[f].display_name} for f in cols[:2]}}
    return {}


class _Ids:
    """The last dashcard and tab ids: both numbered across all dashboards."""
    __slots__ = ("dashcard", "tab")

    def __init__(self):
        self.dashcard = self.tab = 0


def make_dashboards(m):
    rng = seeded(m.seed, "dashboards")
    people = m.people()
    live_cards = [c for c in m.cards.values() if not c.archived]
    places = Places(m)
    ids = _Ids()
    titles = ["Overview", "KPIs", "Weekly Review", "Health", "Deep Dive", "Scorecard", "Pulse", "Funnel"]
    for i in range(m.scale.dashboards):
        did = i + 1
        # the first dashboards are one of each: restricted, root (with tabs, text and series), the analyst's, archived
        owner = m.users[2] if i == 2 else rng.choice(people)
        collection_id, in_archived = places.pick(rng, owner.id, {0: 0.2, 1: 0.0, 2: 0.3}.get(i))
        created = ts_around(rng, i / max(1, m.scale.dashboards) * 0.97)
        archived_directly = not in_archived and (rng.random() < 0.05 or i == 3)
        params = []
        for p in range(rng.choice([0, 0, 1, 2, 3])):
            ptype = rng.choice(["date/all-options", "category", "string/=", "number/between"])
            params.append({"name": ["Date", "Category", "Region", "Amount"][p],
                           "slug": ["date", "category", "region", "amount"][p],
                           "id": "%08x" % rng.getrandbits(32), "type": ptype,
                           "sectionId": ptype.split("/")[0] if "/" in ptype else "string"})
        d = Dashboard(did, "%s %s" % (rng.choice(AREAS), rng.choice(titles)),
                      rng.choice([None, rng.choice(SENTENCES)]), collection_id, owner.id, created,
                      created + rng.randint(0, 10**13), rng.choice(people).id if rng.random() < 0.9 else None,
                      nano(rng), archived=in_archived or archived_directly,
                      archived_directly=archived_directly, collection_position=rng.choice([None] * 9 + [1]),
                      parameters=params, view_count=rng.randint(0, 20000),
                      width=rng.choice(["fixed", "full"]), auto_apply_filters=rng.random() < 0.9)
        if rng.random() < 0.3 or i == 1:
            for t in range(rng.randint(2, 3)):
                ids.tab += 1
                d.tabs.append((ids.tab, ["Overview", "Details", "Trends"][t], nano(rng)))
        _add_dashcards(m, rng, d, live_cards, ids, first=i == 1)
        m.dashboards[did] = d
    # "dashboard questions" (v0.53+): a card that lives in its dashboard, moved to its collection
    live_dash = [d for d in m.dashboards.values() if not d.archived and d.dashcards]
    for n, card in enumerate(live_cards):
        if live_dash and (rng.random() < 0.05 or n == len(live_cards) // 2):
            d = rng.choice(live_dash)
            card.dashboard_id, card.collection_id = d.id, d.collection_id
            if card.id not in [dc.card_id for dc in d.dashcards]:
                ids.dashcard += 1
                d.dashcards.append(DashCard(ids.dashcard, card.id, 0 if d.tabs else None,
                                            sum(dc.size_y for dc in d.dashcards), 0, 12, 6, nano(rng),
                                            d.created_at + 1, d.updated_at))
                card.dashboard_count += 1


def _add_dashcards(m, rng, d: Dashboard, live_cards: list, ids: _Ids, first: bool):
    """About `dashcards_per_dashboard` cards: mostly questions, some text/heading/link cards."""
    per = m.scale.dashcards_per_dashboard
    row = 0
    for k in range(rng.randint(per - per // 2, per + per // 2) if per else 0):
        ids.dashcard += 1
        w, h = rng.choice([(6, 4), (12, 6), (24, 2), (8, 5), (4, 3)])
        dc = DashCard(ids.dashcard, None, (k % len(d.tabs)) if d.tabs else None, row,
                      0 if w == 24 else rng.choice([0, 6, 12]), w, h, nano(rng),
                      d.created_at + rng.randint(0, 10**9), d.created_at + rng.randint(10**9, 10**12))
        row += h
        if not live_cards or rng.random() < 0.15 or (first and k == 0):
            kind = rng.choice(["text", "heading", "link"])
            virtual = {"name": None, "display": kind, "visualization_settings": {}, "dataset_query": {},
                       "archived": False}
            dc.virtual = {"virtual_card": virtual, "link": {"url": "https://example.com"}} if kind == "link" else \
                {"virtual_card": virtual, "text": rng.choice(["## %s" % d.name, "Numbers are in **USD**.",
                                                              "See the [runbook](https://wiki.example.com/kpi)."])}
        else:
            card = rng.choice(live_cards)
            dc.card_id = card.id
            card.dashboard_count += 1
            if rng.random() < 0.1 or (first and k == 1):
                dc.series = [rng.choice(live_cards).id for _ in range(rng.randint(1, 2))]
            fields = m.tables[card.table_id].fields if card.query_type == "query" and card.table_id else []
            for p in d.parameters:
                if fields:
                    dc.mappings.append((p["id"], rng.choice(fields).id))
        d.dashcards.append(dc)
