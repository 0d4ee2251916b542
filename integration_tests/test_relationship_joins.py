"""The streams join: every foreign key of a sync resolves to a record of another stream, in the
CLI's output for every profile, as an admin and as a non-admin, and in PyAirbyte's DuckDB cache.
Where it cannot (what Metabase does not show the user), the orphans are exactly the ones the
README names as known gaps, derived from the emulator's content."""

import json
import subprocess

import pytest

from integration_tests.conftest import PROFILES, expected_keys, make_config
from integration_tests.connector import ROOT, connector_env
from integration_tests.metabase_emulator import documents, measures, queries
from integration_tests.metabase_emulator.alerts import listed_alerts as alert_rows
from integration_tests.test_pyairbyte import pyairbyte_python
from integration_tests.test_relationship_streams import expected_alerts, synced

# (stream, column) -> (stream, column) it joins to
FOREIGN_KEYS = [
    ("cards", "creator_id", "users", "id"),
    ("dashboards", "creator_id", "users", "id"),
    ("dashboard_cards", "card_id", "cards", "id"),
    ("dashboard_cards", "dashboard_id", "dashboards", "id"),
    ("fields", "table_id", "tables", "id"),
    ("fields", "fk_target_field_id", "fields", "id"),
    ("tables", "db_id", "databases", "id"),
    ("segments", "table_id", "tables", "id"),
    ("permission_group_memberships", "user_id", "users", "id"),
    ("permission_group_memberships", "group_id", "permission_groups", "id"),
    ("timeline_events", "timeline_id", "timelines", "id"),
    ("dashboard_subscriptions", "dashboard_id", "dashboards", "id"),
    ("alerts", "card_id", "cards", "id"),
    ("alerts", "creator_id", "users", "id"),
    ("documents", "collection_id", "collections", "id"),
    ("documents", "creator_id", "users", "id"),
    ("measures", "table_id", "tables", "id"),
    ("measures", "creator_id", "users", "id"),
    ("transforms", "target_table_id", "tables", "id"),
    ("collection_permissions", "group_id", "permission_groups", "id"),
    ("collection_permissions", "collection_id", "collections", "id"),
    ("data_permissions", "group_id", "permission_groups", "id"),
    ("data_permissions", "database_id", "databases", "id"),
    ("data_permissions", "table_id", "tables", "id"),
]
# Keys inside lists of records (checked on the CLI's output; PyAirbyte keeps them as JSON).
NESTED_KEYS = [("alerts", "recipient user ids", "users", "id"), ("alerts", "recipient group ids", "permission_groups", "id")]


def values(record: dict, column: str) -> set:
    if column.startswith("recipient "):
        kind = column.split()[1]
        return {r.get(f"{kind}_id") for r in record.get("recipients") or [] if r.get("type") == kind}
    return {record.get(column)}


def orphans(records: dict) -> dict:
    """(stream, column) -> the values that join to nothing (nulls are no reference)."""
    out = {}
    for stream, column, target, key in FOREIGN_KEYS + NESTED_KEYS:
        known = {record[key] for record in records[target]}
        missing = set().union(*(values(record, column) for record in records[stream])) - known - {None}
        if missing:
            out[(stream, column)] = missing
    return out


def known_gaps(emulator, viewer: str) -> dict:
    """The orphans the README names, from the emulator's content:
    - memberships of the hidden users behind API keys, which GET /api/user never lists;
    - alerts on archived cards (the card comes only with include_archived);
    - archived collections in the collection graph (Metabase lists them there up to 0.55);
    - for a non-admin, the users Metabase does not list to them (all of them on 0.47+, the
      deactivated ones before: creators of cards, dashboards, documents and measures, alert
      recipients), the cards of dashboards they may see but cannot read, and on 0.48+ the cards
      of alerts they receive but cannot read."""
    model = emulator.model
    v = model.viewer(model.by_email[emulator.credentials[f"{viewer}_email"]])
    alerts = alert_rows(model, emulator.profile, v)
    recipients = expected_alerts(emulator, viewer)
    alert_cards = [model.cards[a.cards[0][0]] for a in alerts]
    gaps = {("alerts", "card_id"): {c.id for c in alert_cards if c.archived or not model.can_read(v, c.collection_id)}}
    if v.superuser:
        api_key_users = {u.id for u in model.users.values() if u.kind == "api-key"}
        gaps[("permission_group_memberships", "user_id")] = api_key_users
        # Metabase's collection graph lists archived collections up to 0.55, the stream without them
        gaps[("collection_permissions", "collection_id")] = {
            c for _, c, _ in emulator.expected_collection_permissions(viewer) if c != "root" and model.collections[c].archived}
        return {k: ids for k, ids in gaps.items() if ids}
    listed = set(emulator.expected_ids("users", viewer))
    hidden = lambda ids: {i for i in ids if i not in listed}  # noqa: E731
    gaps[("cards", "creator_id")] = hidden(c.creator_id for c in model.visible_cards(v))
    gaps[("dashboards", "creator_id")] = hidden(d.creator_id for d in model.visible_dashboards(v))
    gaps[("dashboard_cards", "card_id")] = {
        dc.card_id for d in model.visible_dashboards(v) for dc in d.dashcards
        if dc.card_id and not model.can_read(v, model.cards[dc.card_id].collection_id)}
    gaps[("alerts", "creator_id")] = hidden(a.creator_id for a in alerts)
    gaps[("alerts", "recipient user ids")] = hidden(
        who for _, _, found in recipients.values() for _, kind, who in found if kind == "user")
    viewer_documents = documents.listed(model, v) if emulator.profile.documents else []
    gaps[("documents", "creator_id")] = hidden(d.creator_id for d in viewer_documents)
    gaps[("measures", "creator_id")] = hidden(m.creator_id for m in measures.listed(model, v)) \
        if emulator.profile.measures else set()
    return {k: ids for k, ids in gaps.items() if ids}


# cards.dependencies: each item's type -> the stream it joins to (a metric: a card from 0.50 on)
DEPENDENCY_STREAMS = {"table": "tables", "card": "cards", "metric": "cards", "field": "fields",
                      "snippet": "native_query_snippets", "segment": "segments", "measure": "measures"}


def dependency_orphans(records: dict, since_050: bool) -> set:
    """(type, id or snippet name, reason) of each dependency that joins to no record."""
    known = {stream: {r["id"] for r in records[stream]} for stream in set(DEPENDENCY_STREAMS.values())}
    snippet_names = {r["name"] for r in records["native_query_snippets"]}
    out = set()
    for card in records["cards"]:
        for d in card["dependencies"]:
            if d["type"] == "metric" and not since_050:
                out.add(("metric", d["id"], "legacy metric"))
            elif d["id"] is None:  # a snippet saved without its id: joined on its name
                if d["name"] not in snippet_names:
                    out.add(("snippet", d["name"], "by name"))
            elif d["id"] not in known[DEPENDENCY_STREAMS[d["type"]]]:
                out.add((d["type"], d["id"], "by id"))
    return out


def dependency_gaps(emulator, viewer: str) -> set:
    """The dependencies the README says cannot join, from the model: archived cards, segments and
    snippets; inactive fields; content the user cannot read; legacy metrics before 0.50."""
    model, since_050 = emulator.model, emulator.profile.since(50)
    v = model.viewer(model.by_email[emulator.credentials[f"{viewer}_email"]])
    data = lambda table_id: model.tables[table_id].db_id in v.database_ids  # noqa: E731
    card_gone = lambda c: c.archived or not model.can_read(v, c.collection_id)  # noqa: E731
    gaps = set()
    for card in model.visible_cards(v):
        for kind, ident, _, *name in queries.dependencies(card):
            if kind == "metric" and not since_050:
                gaps.add(("metric", ident, "legacy metric"))
            elif kind in ("card", "metric") and card_gone(model.cards[ident]):
                gaps.add((kind, ident, "by id"))
            elif kind == "table" and not data(ident):
                gaps.add((kind, ident, "by id"))
            elif kind == "field" and not (model.fields[ident].active and data(model.fields[ident].table_id)):
                gaps.add((kind, ident, "by id"))
            elif kind == "segment" and (model.segments[ident].archived or not data(model.segments[ident].table_id)):
                gaps.add((kind, ident, "by id"))
            elif kind == "snippet":
                snippet = next(s for s in model.snippets.values() if s.name == name[0])
                if snippet.archived or not model.can_read(v, snippet.collection_id):
                    gaps.add(("snippet", ident, "by id") if ident else ("snippet", name[0], "by name"))
    return gaps


@pytest.mark.parametrize("viewer", ["admin", "analyst"])
@pytest.mark.parametrize("profile", PROFILES)
def test_every_dependency_resolves_or_is_a_named_gap(emulators, profile, viewer):
    run, _, emulator = synced(emulators, profile, viewer=viewer)
    records = {stream: run.records(stream) for stream in {"cards", *DEPENDENCY_STREAMS.values()}}
    resolved = sum(len(card["dependencies"]) for card in records["cards"])
    gaps = dependency_gaps(emulator, viewer)
    assert dependency_orphans(records, emulator.profile.since(50)) == gaps
    assert resolved > len(gaps) > 0


@pytest.mark.parametrize("viewer", ["admin", "analyst"])
@pytest.mark.parametrize("profile", PROFILES)
def test_every_foreign_key_resolves_or_is_a_named_gap(emulators, profile, viewer):
    run, _, emulator = synced(emulators, profile, viewer=viewer)
    records = {stream: run.records(stream) for stream, _, target, _ in FOREIGN_KEYS for stream in (stream, target)}
    assert all(records[stream] for stream in ("cards", "dashboard_cards", "fields", "tables", "segments"))
    assert orphans(records) == known_gaps(emulator, viewer)


def test_the_known_gaps_are_named_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for column in ("permission_group_memberships.user_id", "cards.creator_id", "dashboards.creator_id",
                   "dashboard_cards.card_id", "cards.dependencies", "alerts.card_id", "alerts.creator_id",
                   "alerts.channels"):
        assert f"`{column}`" in readme, column
    gaps = " ".join(readme.split("**Known gaps in the joins.**")[1].split("\n\n")[0].split())
    for gap in ("archived cards", "include_archived", "inactive fields", "legacy metrics", "archived segments",
                "archived snippets", "cannot read"):
        assert gap in gaps, gap


# PyAirbyte reads every stream into DuckDB, then the joins are checked there in SQL.
SCRIPT = """
import json, sys
from pathlib import Path
import airbyte

source = airbyte.get_source("source-metabase", source_manifest=Path(sys.argv[1]), config=json.load(sys.stdin))
source.select_all_streams()
result = source.read()
out = {}
with result.cache.get_sql_engine().connect() as connection:
    from sqlalchemy import text
    for stream, column, target, key in json.loads(sys.argv[2]):
        rows = connection.execute(text(
            f'SELECT DISTINCT s."{column}" FROM main."{stream}" s LEFT JOIN main."{target}" t '
            f'ON s."{column}" = t."{key}" WHERE s."{column}" IS NOT NULL AND t."{key}" IS NULL')).fetchall()
        count = connection.execute(text(f'SELECT count(*) FROM main."{stream}"')).scalar()
        out[f"{stream}.{column}"] = {"orphans": sorted(r[0] for r in rows), "rows": count}
print(json.dumps(out))
"""


def test_the_joins_hold_in_pyairbyte_duckdb_cache(emulators, tmp_path):
    python = pyairbyte_python()
    emulator = emulators("v0.57")
    env = connector_env(emulator.ca_bundle, AIRBYTE_OFFLINE_MODE="1", HOME=str(tmp_path),
                        AIRBYTE_LOGGING_ROOT=str(tmp_path / "logs"))
    run = subprocess.run([str(python), "-c", SCRIPT, str(ROOT / "manifest.yaml"), json.dumps(FOREIGN_KEYS)],
                         input=json.dumps(make_config(emulator, "api_key")), env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    for stream, column, _, _ in FOREIGN_KEYS:
        assert result[f"{stream}.{column}"]["rows"] == len(expected_keys(emulator, stream)), stream
    found = {tuple(k.split(".")): set(v["orphans"]) for k, v in result.items() if v["orphans"]}
    flat = {(stream, column) for stream, column, _, _ in FOREIGN_KEYS}
    assert found == {k: ids for k, ids in known_gaps(emulator, "admin").items() if k in flat}
    assert ("permission_group_memberships", "user_id") in found
