"""Our Metabase emulator: a faithful HTTPS server of Metabase's REST API, for tests.

    from integration_tests.metabase_emulator import Emulator, Scale, FaultPlan
    with Emulator(profile="v0.50", seed=1, scale=Scale(cards=60)) as emu:
        requests.get(emu.base_url + "/api/card", verify=emu.ca_bundle,
                     headers={"X-API-Key": emu.credentials["admin_api_key"]})

- Profiles "v0.40", "v0.48", "v0.50", "v0.52", "v0.57", "v0.64" differ as those Metabase versions
  do (profiles.py); v0.52 is v0.50 plus metabase#53687: every view of a card or dashboard (GET
  /api/card/:id and /api/dashboard/:id included) moves its updated_at. v0.48 is 0.48.0: dashcards
  and tabs renamed, no card `type`, API keys or Trash yet, and no GET /api/dashboard (dashboards are
  found through GET /api/collection/:id/items?models=dashboard). v0.64 is v0.57 plus what 0.58-0.64
  brought (metabase-api.md section 11): documents, transforms, measures (cards aggregating them),
  Library collections, MBQL 5 segments; `Profile.since(minor)` and the flags built on it
  (notifications, documents, transforms, library, measures) say which version has what. Every
  profile before a kind's version answers 404 "API endpoint does not exist." on its endpoints.
- Content is generated from (seed, Scale): same inputs, byte-identical answers (generate.py).
- Auth as Metabase: sessions (header or cookie, UUIDs), API keys (v0.49+), login throttling,
  expiry after `session_max_requests` requests or `session_max_seconds` (auth.py).
- `emu.configure(...)` / POST /__emulator__/settings: faults (FaultPlan or dict), latency_ms,
  session_max_requests, session_max_seconds, html_mode, password_login_disabled,
  login_throttle_threshold (setting it also resets the throttle), edition, query_log_rows_per_month,
  query_log_months, query_log_now, vanishing_dashboard_ids,
  vanishing_collection_ids, invalid_json_paths and missing_paths (exact paths, answering
  invalid JSON, or 404 as a removed endpoint), timestamp_offsets (some rows' timestamps sent
  with +00:00 / -05:00: the same instant), null_updated_at_ids and garbage_updated_at_ids
  ({stream: [ids]}: updated_at null or unparsable on those rows), status_paths ({path: status}:
  every request of it answered with that status, e.g. 507, 522, 409), redirect_paths ({path: url}:
  307 to that URL), body_paths ({path: bytes}: answered 200 with them), transforms_enabled (default
  True; False: /api/transform answers 403 and GET /api/table drops `transform`, as 0.64 self-hosted
  before transforms are switched on; the exact answer then is assumed). Unknown keys raise ValueError.
  Whatever the settings, rows are stored with µs, ms or whole-second precision (by id).
- Changes between syncs, stamping updated_at where Metabase does and nowhere else, with a
  deterministic change clock (a day after the generated history, +1.000237 s per change)
  (changes.py): `emu.edit(stream, ids, at=None)`, `archive`/`unarchive(stream, ids, at=None)`,
  `add(stream, count=1, at=None, **where)`, `delete(stream, ids)` (hard, stamps nothing),
  `view(stream, ids, at=None)`, `deactivate`/`reactivate(ids, at=None)`, each returning the ids
  changed; `emu.updated_at(stream, id)` is the value as sent. Streams: cards, dashboards,
  dashboard_cards, users, native_query_snippets, databases, tables (collections: edit only;
  segments: archive and unarchive; permission_group_memberships: delete, ending a membership;
  documents and measures: archive, unarchive, delete; transforms: delete).
  Same over HTTP: POST /__emulator__/changes {"action": "edit"|"archive"|"unarchive"|"add"|
  "delete"|"view"|"deactivate"|"reactivate", "stream": ..., "ids": [...], "count": n, "at": ...}
  -> {"ids": [...]}; bad input -> 400 {"error": ...}.
- `emu.expected_ids(stream, viewer, include_archived=False)`: viewer "admin", "analyst" (the
  users), "admin_key", "analyst_key" (the API keys' hidden users: no personal collection), or any
  user's email. Streams include documents, transforms and measures (empty before their versions;
  transforms: admins only, and only while transforms_enabled).
- Relationship endpoints (metabase-api.md section 9): permission memberships, segments, timelines
  with events (0.43+), pulses (subscriptions, legacy pulses, alerts never listed), database
  metadata with include_hidden, archived dashboards refused (< 0.50) or in the Trash (0.50+).
- Question alerts, GET /api/alert(?archived=true) on every profile: who sees which per version,
  notification ids from 0.54 (alerts.py). From 0.54 alerts are notifications: GET
  /api/notification(/:id) with its filters, and /api/alert the shim Metabase builds from them
  (notification->pulse: no card id) (notifications.py).
- 0.58+: documents (ProseMirror bodies with card embeds and smart links; a detail read is a view,
  stream "documents") (documents.py); 0.59+: transforms (query, native and python sources, their
  target tables real tables carrying `transform` in GET /api/table) (transforms.py) and Library
  collections; 0.60+: measures and cards aggregating them (measures.py). Their truth, from the
  model: documents.dependencies(doc), transforms.dependencies(t) and target_table_id(t),
  measures.dependencies(ms), each a set of (type, id, via) tuples.
- openapi/: Metabase's own OpenAPI files for the answers that have a response schema (data only,
  AGPL-3.0, see its README); test_emulator_openapi.py validates the v0.64 answers against them.
- Who can see what (permissions.py): the permission tables behind visibility.py (collections: per
  group read/write; data: per group and database view-data, create-queries, download, data-model,
  details, transforms, some per schema or table, one EE sandbox), served as GET /api/collection/graph
  (?namespace=snippets; "none" entries up to 0.56.12) and GET /api/permissions/graph (v1 up to 0.49,
  v2 from 0.50, `transforms` from 0.59), superusers only (others 403).
- Editions (edition.py), setting `edition`: "oss" (default), "ee" (licensed, Pro self-hosted),
  "ee-unlicensed" (/api/ee/ routes answer 402). GET /api/session/properties: v0.N.P or v1.N.P,
  token-features per version and edition, authenticated/admin settings for who asks.
- Who runs what (querylog.py): GET /api/ee/logs/query_execution/:yyyy-mm (EE, audit_app, superusers),
  `query_log_months` months (default 3) of `query_log_rows_per_month` rows (default 40) ending with the
  month of `query_log_now` (default: the machine's clock when the model was built), streamed in pieces.
- Truth of those, from the model: `emu.expected_collection_permissions(viewer="admin", namespace=None)`
  -> sorted [(group_id, collection_id | "root", "read" | "write")]; `emu.expected_data_permissions(
  viewer="admin", edition=None)` -> {(group_id, database_id, permission, schema_name | None,
  table_id | None, value)} (the issue's flattening: data.native, schemas.query, download, ...);
  `emu.query_log_months()` -> ["YYYY-MM", ...]; `emu.expected_query_log(month, viewer="admin",
  edition=None)` -> the row dicts, newest first ([] where the route answers 404/402/403);
  `emu.expected_query_log_ids(...)`. `edition=None` means the current setting.
- `emu.expire_sessions()`: every session minted so far ends (as after 14 days); logins still work.
- Every request except /__emulator__/ ones is in `emu.requests()` before its answer is sent.
- Reads that are views count as Metabase counts them (changes.py): `emu.views()` (GET
  /__emulator__/views) tallies them since the request log was last cleared, {stream: {id: n}}
  (cards, dashboards, documents);
  the view counts the answers show move with Metabase's next batch (`emu.land_views()`, or the
  next change).
- Cards' queries (queries.py): joins, nested and multi-stage queries, questions on questions and
  models, segment filters, metric and (0.60+) measure aggregations, native card/snippet/field-filter
  tags, refs to archived cards and inactive fields (Field.active False: listed nowhere), as MBQL 4
  or MBQL 5; `queries.dependencies(card)` is what each card's query truly names
  (`queries.query_dependencies(q)` for any abstract query, a transform's too).

Layout:
- Data model: rows.py (row dataclasses, T0/T1, groups, CREDENTIALS, Scale), model.py (`Model`, the
  rows by kind and id, built from (seed, Scale, profile): the profile only decides which newer
  kinds exist, `Model.has(kind)`, so older versions' content stays byte-identical; re-exports
  rows.py's names).
- Generation: generate.py (the order of the steps), generate_instance.py (users, databases,
  tables, fields, collections), generate_content.py (snippets, cards, dashboards),
  generate_relations.py (segments, memberships, hidden tables, timelines, pulses), with draw.py
  (seeded draws) and words.py (vocabularies); queries.py (the cards' queries); changes.py
  (changes between syncs).
- Visibility: visibility.py (Viewer, who reads and writes what, the `visible_*`/`listed_*` lists),
  expected.py (`expected_ids`, from those lists).
- Rendering: profiles.py (versions), render.py (`Render`, in parts: render_collections.py,
  render_cards.py, render_relations.py).
- Serving: web.py (requests, responses, bodies, the LRU), routes.py (the routes table, handlers,
  the card arena), auth.py, faults.py, server.py (HTTPS server, request log, the Emulator
  object), __main__.py (command line).
- Newer kinds of object, one module each with their rows, generation, visibility, rendering,
  handlers and truth: alerts.py, notifications.py, measures.py, documents.py, transforms.py,
  edition.py (no rows: the edition and session properties), permissions.py, querylog.py. A new kind
  is one more such module, plus its registration: its dict of rows in `Model.__init__`, its step in
  generate.py's STEPS (gated on `Model.has` if only newer versions have it), its routes (a
  `routes(api)` function listed in routes.py's KINDS, returning only the routes the version has; or
  entries of `Api._routes`), and its stream in expected.py if the connector reads one. A detail read
  that is a view calls `api.on_view(stream, id)` and the row counts it (documents.Document.viewed;
  changes.py lands it).
No import is circular: each module imports only modules earlier in rows, words, draw, queries,
visibility, web, the kind modules (alerts, notifications, measures, documents, transforms, edition,
then permissions and querylog, which use edition), generate_*, generate, model, render_*, render,
profiles, expected, changes, auth, faults, routes, server. So a kind module imports rows.py,
draw.py, words.py, queries.py, visibility.py, web.py or an earlier kind module, never model,
routes or server.
"""

from .faults import FaultPlan
from .profiles import PROFILES
from .rows import CREDENTIALS, Scale
from .server import Emulator

__all__ = ["Emulator", "Scale", "FaultPlan", "CREDENTIALS", "PROFILES"]
