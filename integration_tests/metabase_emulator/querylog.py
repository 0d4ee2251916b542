"""The Enterprise query log: GET /api/ee/logs/query_execution/:yyyy-mm (metabase-api.md 11.8).

Metabase's handler (enterprise/backend/src/metabase_enterprise/advanced_config/api/logs.clj) parses
`yyyy-mm`, checks for a superuser, and answers every `query_execution` row whose `started_at` falls in
that month, newest first: a bare array, no paging. The route sits behind the `audit-app` premium
feature (api_routes/routes.clj): 404 on open source, 402 on an Enterprise build without it
(edition.py). It came with PR #28560 (≈0.46).

Rows are the table's columns as `select` returns them: id, hash, started_at, running_time (ms),
result_rows, native, context, error, executor_id, card_id, dashboard_id, pulse_id, database_id,
cache_hit (resources/migrations: table 0.23, database_id 0.28, cache_hit 0.40), action_id,
is_sandboxed, cache_hash (0.48: v48.00-045, v48.00-061), embedding_client, embedding_version
(≈0.51, metabase#45952, not backported) and parameterized (assumed ≈0.51 too). `hash` and
`cache_hash` are byte arrays, which Metabase's JSON encoder writes as "0x" and their first four
bytes in hex (server/middleware/json.clj). No foreign keys: a deleted card keeps its id here.

The emulator's log: `query_log_months` months (setting, default 3) ending with the month of "now",
each with `query_log_rows_per_month` rows (setting, default 40; 200,000 is fine). "Now" is the
`query_log_now` setting, or else the machine's clock when the model was built (the month a connector
asks for last is the real current one); the current month's rows lie between its start and now.
Rows are drawn per (seed, month, block of 500), so a month reads the same whatever else is asked,
and the body is made block by block while it is sent (flat memory); its length is found by a first
pass and remembered. Rows refer to the cards, dashboards, subscriptions, users (people and API-key
users), and databases the model had when it was built, to two questions deleted since they ran, and to
nobody for public and embedded runs; some failed, some were served from the cache.
"""

from __future__ import annotations

import bisect
import calendar
import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson

from .draw import seeded
from .edition import edition_of, has_feature, premium_refusal
from .rows import iso
from .web import FORBIDDEN, JSON, Body, HttpError, Response, json_response, text_response

BLOCK = 500  # rows drawn (and rendered) together
EPOCH = (2019, 3)  # the instance's first month (rows.T0): ids count months from here
CONTEXTS = (("question", 30), ("dashboard", 32), ("ad-hoc", 14), ("pulse", 6), ("csv-download", 4),
            ("xlsx-download", 2), ("public-dashboard", 3), ("public-question", 2), ("embedded-dashboard", 4),
            ("embedded-question", 3))
_CUMULATIVE = [sum(w for _, w in CONTEXTS[:i + 1]) for i in range(len(CONTEXTS))]
ERRORS = {True: ('ERROR: relation "public.orders_2019" does not exist\n  Position: 15',
                 "ERROR: canceling statement due to statement timeout",
                 'ERROR: column "revenue_usd" does not exist\n  Position: 42'),
          False: ("Timed out after 20.0 min.", "ERROR: permission denied for table events",
                  "Invalid query: Field 412 is not active")}


@dataclass(slots=True)
class QueryLogPlan:
    """What the log's rows may refer to, taken when the model was built."""
    cards: tuple  # (card_id, database_id, native, has parameters, table_id)
    dashboards: tuple  # (dashboard_id, card ids on it, has parameters)
    pulses: tuple  # (pulse_id, dashboard_id, creator_id, card ids)
    people: tuple  # active users
    key_users: tuple  # the hidden users of API keys
    database_ids: tuple
    deleted_cards: tuple  # (card_id, database_id): questions deleted since (ids above every live one)
    sandboxed: frozenset  # (executor_id, table_id) whose runs are sandboxed
    first_id: int  # the id of the first row of the instance's first month
    started: float  # the clock when the model was built
    lengths: dict = field(default_factory=dict)  # body lengths already measured
    by_id: dict = field(default_factory=dict)  # card_id -> its entry in `cards`


def make_query_log(m) -> None:
    """A step of generate.py, after the permissions (the sandbox decides is_sandboxed)."""
    rng = seeded(m.seed, "query-log")
    cards = tuple((c.id, c.database_id, c.query_type == "native", bool(c.parameters), c.table_id)
                  for c in sorted(m.cards.values(), key=lambda c: c.id))
    dashboards = tuple((d.id, tuple(sorted({dc.card_id for dc in d.dashcards if dc.card_id})), bool(d.parameters))
                       for d in sorted(m.dashboards.values(), key=lambda d: d.id))
    pulses = tuple((p.id, p.dashboard_id, p.creator_id, tuple(cid for cid, _ in p.cards))
                   for p in sorted(m.pulses.values(), key=lambda p: p.id) if p.cards)
    people = tuple(u.id for u in m.people() if u.is_active)
    dbs = tuple(sorted(m.databases))
    top = max(m.cards, default=0)
    sandbox = m.permissions.sandbox
    sandboxed = frozenset((u.id, sandbox[1]) for u in m.users.values()
                          if sandbox and sandbox[0] in u.group_ids and not u.is_superuser)
    m.query_log = QueryLogPlan(cards, tuple(d for d in dashboards if d[1]), pulses, people,
                               tuple(u.id for u in m.users.values() if u.kind == "api-key"), dbs,
                               tuple((top + k, rng.choice(dbs)) for k in (1, 2)) if dbs else (),
                               sandboxed, rng.randint(1_000, 50_000), time.time())
    m.query_log.by_id = {c[0]: c for c in cards}


# --- settings -------------------------------------------------------------------------------------

def check_now(value):
    """The `query_log_now` setting: None (the clock at start), epoch seconds, or an ISO date/time."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("query_log_now: %r is not an ISO date or time" % (value,)) from None
    return when.replace(tzinfo=when.tzinfo or timezone.utc).timestamp()  # a time without a zone is UTC


def check_count(name: str, minimum: int):
    def check(value) -> int:
        n = int(value)
        if n < minimum:
            raise ValueError("%s must be at least %d" % (name, minimum))
        return n
    return check


# --- which months, which rows ---------------------------------------------------------------------

def _now(m, settings) -> float:
    now = settings.get("query_log_now")
    return m.query_log.started if now is None else now


def log_months(m, settings) -> list:
    """The months the log holds, "YYYY-MM", oldest first."""
    y, mo = time.gmtime(_now(m, settings))[:2]
    out = []
    for _ in range(settings.get("query_log_months", 3)):
        if (y, mo) >= EPOCH:
            out.append("%04d-%02d" % (y, mo))
        y, mo = (y, mo - 1) if mo > 1 else (y - 1, 12)
    return out[::-1]


def _bounds(m, settings, y: int, mo: int):
    """(start, end) of the month's rows in µs, or None when the log holds nothing for it."""
    if "%04d-%02d" % (y, mo) not in log_months(m, settings):
        return None
    start = calendar.timegm((y, mo, 1, 0, 0, 0))
    end = calendar.timegm((y + mo // 12, mo % 12 + 1, 1, 0, 0, 0))
    now = _now(m, settings)
    return int(start * 1e6), int(min(end, max(now, start + 1)) * 1e6)


def _hash(*key) -> str:
    """A query's hash as Metabase's JSON shows a byte array: "0x" + its first four bytes."""
    digest = hashlib.blake2b("/".join(map(str, key)).encode(), digest_size=4).digest()
    return "0x" + digest.hex().upper()


def _block(m, profile, y, mo, n, b, start, end) -> list:
    """Rows b*BLOCK .. of the month, oldest first; started_at grows with the index, so with the id."""
    plan = m.query_log
    rng = seeded(m.seed, "query-log/%04d-%02d/%d" % (y, mo, b))
    base = plan.first_id + ((y - EPOCH[0]) * 12 + mo - EPOCH[1]) * n
    span = end - start
    out = []
    for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
        context = CONTEXTS[bisect.bisect_right(_CUMULATIVE, rng.random() * _CUMULATIVE[-1])][0]
        card = dashboard = pulse = executor = None
        if context == "pulse" and plan.pulses:
            pulse = rng.choice(plan.pulses)
            executor, dashboard = pulse[2], pulse[1]
            card = _card(plan, rng.choice(pulse[3]))
        elif context.endswith("dashboard") and plan.dashboards:
            d = rng.choice(plan.dashboards)
            dashboard, card = d[0], _card(plan, rng.choice(d[1]))
        elif context != "ad-hoc" and plan.cards:
            gone = plan.deleted_cards and (rng.random() < 0.02 or i % 97 == 7)  # a few in every month
            card = plan.deleted_cards[i % len(plan.deleted_cards)] + (False, False, None) if gone else \
                rng.choice(plan.cards)
        else:
            context = "ad-hoc"
        if not context.startswith(("public", "embedded")) and executor is None:
            pool = plan.key_users if plan.key_users and rng.random() < 0.15 else plan.people
            executor = rng.choice(pool) if pool else None
        native = card[2] if card else rng.random() < 0.4
        failed = rng.random() < 0.04 or i % 97 == 11
        cached = not failed and card is not None and rng.random() < 0.1
        variant = rng.randrange(3)
        row = {"id": base + i + 1,
               "hash": _hash(m.seed, "card", card[0], variant) if card else _hash(m.seed, "ad-hoc", y, mo, i),
               "started_at": iso(start + int((i + rng.random()) * span / n)),
               "running_time": rng.randint(2, 60) if cached else min(1_200_000, int(rng.lognormvariate(5.5, 1.3))),
               "result_rows": 0 if failed else rng.choice((1, 1, 2, 12, 31, 365, rng.randint(1, 2000))),
               "native": native, "context": context,
               "error": rng.choice(ERRORS[native]) if failed else None,
               "executor_id": executor, "card_id": card[0] if card else None, "dashboard_id": dashboard,
               "pulse_id": pulse[0] if pulse else None,
               "database_id": card[1] if card else (rng.choice(plan.database_ids) if plan.database_ids else None),
               "cache_hit": cached}
        if profile.since(48):
            row.update(action_id=None, is_sandboxed=bool(card) and (executor, card[4]) in plan.sandboxed,
                       cache_hash=_hash(m.seed, "cache", row["hash"]) if cached or rng.random() < 0.3 else None)
        if profile.since(51):
            client = "embedding-iframe" if context.startswith("embedded") else \
                "embedding-sdk-react" if executor and rng.random() < 0.03 else None
            row.update(embedding_client=client,
                       embedding_version=profile.tag[1:] if client == "embedding-sdk-react" else None,
                       parameterized=bool(card) and card[3] and variant > 0)
        out.append(row)
    return out


def _card(plan, card_id):
    return plan.by_id.get(card_id, (card_id, None, False, False, None))


def _month(text: str):
    """`yyyy-mm` as Metabase coerces it: the first two parts positive integers (else None)."""
    parts = text.split("-")
    if len(parts) < 2 or not all(p.isdigit() and int(p) > 0 for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def iter_month(m, profile, settings, y: int, mo: int):
    """The month's rows as the answer lists them (newest first), block by block: lists of row dicts."""
    bounds = _bounds(m, settings, y, mo)
    n = settings.get("query_log_rows_per_month", 40) if bounds else 0
    for b in reversed(range((n + BLOCK - 1) // BLOCK)):
        rows = _block(m, profile, y, mo, n, b, *bounds)
        rows.reverse()
        yield rows


class _Pieces:
    """The body's pieces, made anew each time they are iterated (once to measure, once to send)."""

    def __init__(self, m, profile, settings, y, mo):
        self.args = (m, profile, settings, y, mo)

    def __iter__(self):
        yield b"["
        first = True
        for rows in iter_month(*self.args):
            yield (b"" if first else b",") + orjson.dumps(rows)[1:-1]
            first = False
        yield b"]"


class LazyBody(Body):
    """A Body whose pieces are produced while it is written (server.py's _chunks takes any iterable)."""

    def __init__(self, pieces, length: int):  # noqa: super().__init__ would join the pieces to count them
        self.pieces, self.length = pieces, length


def month_body(m, profile, settings, y: int, mo: int) -> LazyBody:
    pieces = _Pieces(m, profile, settings, y, mo)
    key = (profile.tag, y, mo, settings.get("query_log_rows_per_month", 40), _bounds(m, settings, y, mo))
    length = m.query_log.lengths.get(key)
    if length is None:
        length = m.query_log.lengths[key] = sum(len(p) for p in pieces)
    return LazyBody(pieces, length)


def expected_query_log(m, profile, settings, month: str, viewer, edition: str | None = None) -> list:
    """Truth (c): the row dicts GET /api/ee/logs/query_execution/<month> answers `viewer` (newest
    first); [] when it answers no rows (open source 404, unlicensed 402, non-superuser 403, a month
    outside the log, a version before the route)."""
    edition = edition or edition_of(settings)
    ym = _month(month)
    if not profile.since(46) or not has_feature(profile, edition, "audit_app") or ym is None \
            or viewer is None or not viewer.superuser:
        return []
    return [row for rows in iter_month(m, profile, settings, *ym) for row in rows]


# --- the handler (routes.py's table) ---------------------------------------------------------------

def query_log_route(api, req, rest):
    """GET /api/ee/logs/...: the premium gate for the whole /logs context, then query_execution/:yyyy-mm."""
    p, settings = api.p, api.settings()
    if not p.since(46):
        return text_response("API endpoint does not exist.", 404)
    refusal = premium_refusal(p, edition_of(settings), "logs")
    if refusal is not None:
        return refusal
    match = re.fullmatch(r"/query_execution/([^/]+)", (rest or "").rstrip("/"))
    if match is None:
        return text_response("API endpoint does not exist.", 404)
    ym = _month(match.group(1))
    if ym is None:  # a failed coercion: no status code, so a 500 (server/middleware/exceptions.clj)
        return json_response({"message": "Invalid yyyy-mm: %s" % match.group(1), "via": [], "trace": []}, 500)
    if req.viewer is None or not req.viewer.superuser:
        raise HttpError(403, FORBIDDEN)
    return Response(200, month_body(api.m, p, settings, *ym), JSON)
