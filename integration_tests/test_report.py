"""`make sync` end to end on the emulator: the real connector CLI (through the progress tee) run
by PyAirbyte into a DuckDB file, per-stream progress on stdout, and the day-one report, each
figure checked against the emulator's own model (not against the SQL).

Two questions are archived before the sync, one shown on a dashboard and one a model another
dashboard's question is built on, so the broken-questions section has something to find."""

import datetime
import json
import re
import subprocess
import sys
from collections import Counter

import pytest

from integration_tests.conftest import expected_keys
from integration_tests.connector import ROOT, STREAMS, connector_env
from integration_tests.metabase_emulator import Emulator, Scale, documents, queries, transforms
from integration_tests.metabase_emulator.model import GROUP_NAMES
from integration_tests.metabase_emulator.profiles import field_visibility
from integration_tests.sync import EMULATOR_EDITION, EMULATOR_PROFILE, EMULATOR_SEED

AS_OF = datetime.datetime(2025, 9, 30)
DAY_US = 86_400 * 1_000_000


def as_us(moment: datetime.datetime) -> int:
    return int(moment.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1_000_000


def archive_broken_examples(model) -> tuple:
    """Archives the question of one dashboard card, and the model under another dashboard's
    question; returns their ids."""
    on_dashboards = [(d, dc) for d in model.dashboards.values() if not d.archived
                     for dc in d.dashcards if dc.card_id]
    shown = next(model.cards[dc.card_id] for _, dc in on_dashboards
                 if model.cards[dc.card_id].source_card_id is None)
    built_on = next(model.cards[dc.card_id] for _, dc in on_dashboards
                    if model.cards[dc.card_id].source_card_id and dc.card_id != shown.id)
    source = model.cards[built_on.source_card_id]
    for card in (shown, source):
        card.archived = card.archived_directly = True
    return shown.id, source.id


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sync")
    emulator = Emulator(profile=EMULATOR_PROFILE, seed=EMULATOR_SEED, scale=Scale(cards=300), edition=EMULATOR_EDITION)
    archived = archive_broken_examples(emulator.model)
    with emulator:
        config = tmp / "config.json"
        config.write_text(json.dumps({"instance_api_url": emulator.base_url + "/api/",
                                      "api_key": emulator.credentials["admin_api_key"]}))
        run = subprocess.run(
            [sys.executable, "-m", "integration_tests.sync", "--config", str(config), "--ca-bundle",
             emulator.ca_bundle, "--duckdb", str(tmp / "metabase.duckdb"), "--as-of", AS_OF.isoformat(),
             "--report-json", str(tmp / "report.json")],
            cwd=ROOT, env=connector_env(), capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        report = json.loads((tmp / "report.json").read_text())
        yield emulator, archived, run.stdout, {s["name"]: s for s in report["sections"]}


def rows(section: dict) -> list:
    return [dict(zip(section["columns"], row)) for row in section["rows"]]


def live(emulator):
    model = emulator.model
    viewer = model.viewer(emulator.auth.api_keys[emulator.credentials["admin_api_key"]])
    return model, model.visible_cards(viewer), [d for d in model.visible_dashboards(viewer) if not d.archived]


def test_progress_names_every_stream_started_and_done_with_its_records(synced):
    emulator, _, stdout, _ = synced
    for stream in STREAMS:
        assert re.search(rf"\] started {stream}$", stdout, re.M), stream
        done = re.search(rf"\] done    {stream}: ([\d,]+) records$", stdout, re.M)
        assert done and int(done.group(1).replace(",", "")) == len(expected_keys(emulator, stream)), stream
    assert "connector finished" in stdout
    assert "DuckDB file: " in stdout


def test_unused_questions(synced):
    emulator, _, _, report = synced
    model, cards, _ = live(emulator)
    cutoff = as_us(AS_OF) - 90 * DAY_US
    expected = {}
    for card in cards:
        used = card.last_query_start or card.updated_at  # what the emulator sends as last_used_at
        for kind in (card.type, "all"):
            counts = expected.setdefault(kind, [0, 0])
            counts[0] += 1
            counts[1] += used < cutoff
    got = {row["kind"]: [row["cards"], row["not_run_in_90_days"]] for row in rows(report["01_unused_questions"])}
    assert got == expected
    assert 0 < expected["all"][1] < expected["all"][0]


def test_dashboards_with_broken_questions(synced):
    emulator, archived, _, report = synced
    model, cards, dashboards = live(emulator)
    listed = {card.id for card in cards}
    tables = {table.id for db in model.databases.values() for table in db.tables}
    expected = []
    for dashboard in dashboards:
        checks = []
        for dashcard in dashboard.dashcards:
            if dashcard.card_id is None:
                continue
            card = model.cards[dashcard.card_id]
            if card.archived:  # Metabase leaves it out of the dashboard's detail (the emulator too)
                continue
            gone = card.id not in listed
            on_source = not gone and card.source_card_id is not None and card.source_card_id not in listed
            on_table = not gone and card.table_id is not None and card.table_id not in tables
            checks.append((gone, on_source, on_table))
        broken = sum(any(check) for check in checks)
        if broken:
            expected.append({"dashboard_id": dashboard.id, "dashboard": dashboard.name, "broken_cards": broken,
                             "question_cards": len(checks), "archived_or_gone": sum(c[0] for c in checks),
                             "on_archived_or_gone_source": sum(c[1] for c in checks),
                             "on_unsynced_table": sum(c[2] for c in checks)})
    expected.sort(key=lambda row: (-row["broken_cards"], row["dashboard_id"]))
    assert rows(report["02_dashboards_with_broken_questions"]) == expected
    assert sum(row["on_archived_or_gone_source"] for row in expected) >= 1  # built on the archived model


def test_most_read_tables(synced):
    emulator, _, _, report = synced
    model, cards, _ = live(emulator)
    counts = Counter(card.table_id for card in cards if card.table_id is not None)
    expected = []
    for table_id, questions in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        table = model.tables[table_id]
        expected.append({"table_id": table_id, "database": model.databases[table.db_id].name,
                         "schema": table.schema, "table_name": table.name, "questions": questions})
    assert rows(report["03_most_read_tables"]) == expected


def test_content_per_collection(synced):
    emulator, _, _, report = synced
    model, cards, dashboards = live(emulator)
    content = {}
    for kind, items in ((0, cards), (1, dashboards)):
        for item in items:
            key = str(item.collection_id) if item.collection_id is not None else "root"
            content.setdefault(key, [0, 0])[kind] += 1
    expected = []
    for key, (questions, dashboard_count) in content.items():
        collection = model.collections.get(int(key)) if key != "root" else None
        expected.append({"collection_id": key, "collection": collection.name if collection else "Our analytics",
                         "personal": bool(collection and collection.personal_owner_id is not None),
                         "questions": questions, "dashboards": dashboard_count})
    expected.sort(key=lambda row: (-(row["questions"] + row["dashboards"]), row["collection_id"]))
    assert rows(report["04_content_per_collection"]) == expected


def test_content_per_creator_flags_deactivated_creators(synced):
    emulator, _, _, report = synced
    model, cards, dashboards = live(emulator)
    content = {}
    for kind, items in ((0, cards), (1, dashboards)):
        for item in items:
            content.setdefault(item.creator_id, [0, 0])[kind] += 1
    expected = [{"creator_id": uid, "email": model.users[uid].email,
                 "flag": "" if model.users[uid].is_active else "deactivated",
                 "questions": q, "dashboards": d} for uid, (q, d) in content.items()]
    expected.sort(key=lambda row: (-(row["questions"] + row["dashboards"]), row["creator_id"]))
    assert rows(report["05_content_per_creator"]) == expected
    assert any(row["flag"] == "deactivated" for row in expected)

    gone = {user.id for user in model.people() if not user.is_active}
    assert rows(report["06_content_of_deactivated_users"]) == [{
        "deactivated_users": len(gone),
        "with_content": len(gone & set(content)),
        "questions": sum(card.creator_id in gone for card in cards),
        "dashboards": sum(dashboard.creator_id in gone for dashboard in dashboards)}]


def test_groups_and_their_members(synced):
    emulator, _, _, report = synced
    model = emulator.model
    expected = []
    for group_id, name in sorted(GROUP_NAMES.items()):
        members = model.group_members(group_id)
        active = [user for user in members if user.is_active]
        expected.append({"group_id": group_id, "group": name, "member_count": len(members),
                         "active_members": len(active), "deactivated_members": len(members) - len(active),
                         "first_active_members": ", ".join(user.email for user in active[:3])})
    assert rows(report["07_groups_and_members"]) == expected


def shown_on(model, dashboards) -> dict:
    """card id -> the live dashboards showing it."""
    out = {}
    for dashboard in dashboards:
        for dashcard in dashboard.dashcards:
            if dashcard.card_id:
                out.setdefault(dashcard.card_id, set()).add(dashboard.id)
    return out


def test_what_reads_each_table(synced):
    emulator, _, _, report = synced
    model, cards, dashboards = live(emulator)
    by_id = {card.id: card for card in cards}
    depth = {}  # (table id, card id) -> the shortest chain of cards from the card to the table
    for card in cards:
        for kind, ident, *_ in queries.dependencies(card):
            if kind == "table":
                depth[(ident, card.id)] = 1
    changed = True
    while changed:  # a card reads what the cards (and metrics) it is built on read
        changed = False
        for card in cards:
            for kind, ident, *_ in queries.dependencies(card):
                if kind in ("card", "metric") and ident in by_id:
                    for (table_id, reader), d in list(depth.items()):
                        if reader == ident and depth.get((table_id, card.id), 99) > d + 1:
                            depth[(table_id, card.id)] = d + 1
                            changed = True
    shown = shown_on(model, dashboards)
    expected = {}

    def row_of(table_id):
        return expected.setdefault(table_id, {
            "table_id": table_id, "schema": model.tables[table_id].schema, "table_name": model.tables[table_id].name,
            "questions": 0, "models": 0, "metrics": 0, "through_other_cards": 0, "dashboards": set(),
            "documents": set(), "transforms": 0, "built_by_transform": None})

    for (table_id, card_id), d in depth.items():
        row = row_of(table_id)
        row[by_id[card_id].type + "s"] += 1
        row["through_other_cards"] += d > 1
        row["dashboards"] |= shown.get(card_id, set())
    # documents: the tables they link, and what the cards they embed or link read
    viewer = model.viewer(emulator.auth.api_keys[emulator.credentials["admin_api_key"]])
    for document in documents.listed(model, viewer):
        for kind, ident, _ in documents.dependencies(document):
            tables = {ident} if kind == "table" else {t for t, c in depth if c == ident} if kind == "card" else set()
            for table_id in tables:
                row_of(table_id)["documents"].add(document.id)
    for transform in model.transforms.values():
        for table_id in {dep[1] for dep in transforms.dependencies(transform) if dep[0] == "table" and dep[1]}:
            row_of(table_id)["transforms"] += 1
        target = transforms.target_table_id(model, transform)
        if target is not None:
            row = row_of(target)
            row["built_by_transform"] = min(filter(None, (row["built_by_transform"], transform.name)))
    rows_expected = [dict(row, dashboards=len(row["dashboards"]), documents=len(row["documents"]))
                     for row in expected.values()]
    rows_expected.sort(key=lambda r: (-r["dashboards"], -(r["questions"] + r["models"] + r["metrics"]),
                                      -r["transforms"], r["table_id"]))
    assert rows(report["08_what_reads_each_table"]) == rows_expected
    assert any(row["through_other_cards"] for row in rows_expected) and any(row["metrics"] for row in rows_expected)
    assert any(row["documents"] for row in rows_expected) and any(row["transforms"] for row in rows_expected)
    assert any(row["built_by_transform"] for row in rows_expected)


def test_questions_at_risk(synced):
    emulator, archived, _, report = synced
    model, cards, dashboards = live(emulator)
    listed = {card.id for card in cards}
    expected = []
    shown = shown_on(model, dashboards)
    for card in cards:
        reasons = []
        for kind, ident, *_ in queries.dependencies(card):
            if kind in ("card", "metric") and ident not in listed:
                reasons.append("archived or missing " + kind)
            elif kind == "table" and model.tables[ident].visibility_type:
                reasons.append("hidden or missing table")
            elif kind == "field" and (not model.fields[ident].active or field_visibility(model.fields[ident]) == "sensitive"):
                reasons.append("inactive, hidden or missing field")
            elif kind == "segment" and model.segments[ident].archived:
                reasons.append("archived or missing segment")
        if reasons:
            expected.append({"card_id": card.id, "card": card.name, "type": card.type,
                             "reasons": "; ".join(sorted(set(reasons))), "risky_dependencies": len(reasons),
                             "dashboards": len(shown.get(card.id, ()))})
    expected.sort(key=lambda row: (-row["dashboards"], row["card_id"]))
    assert rows(report["09_questions_at_risk"]) == expected
    found = {reason for row in expected for reason in row["reasons"].split("; ")}
    assert {"archived or missing card", "hidden or missing table", "inactive, hidden or missing field",
            "archived or missing segment"} <= found


def test_tables_named_in_native_sql_best_effort(synced):
    """The emulator writes each native question's SQL FROM its card's table (or `dual`), with a
    CTE on each {{#N-card}} it names: so the parse must find that table, and __card_N."""
    emulator, _, _, report = synced
    _, cards, _ = live(emulator)
    expected = []
    for card in sorted(cards, key=lambda card: card.id):
        if card.query_type != "native":
            continue
        unmatched = ["__card_%d" % tag["card-id"] for tag in card.query["template_tags"].values() if tag["type"] == "card"]
        unmatched += [] if card.table_id else ["dual"]
        expected.append({"card_id": card.id, "card": card.name, "parsed": True,
                         "table_ids": str(card.table_id) if card.table_id else None,
                         "unmatched_names": ", ".join(sorted(unmatched)) or None})
    assert rows(report["10_native_sql_tables"]) == expected
    assert any(row["unmatched_names"] for row in expected) and any(row["table_ids"] for row in expected)


def test_the_report_prints_every_section(synced):
    _, _, stdout, report = synced
    for section in report.values():
        assert section["title"] in stdout


def test_who_can_see_each_collection(synced):
    emulator, _, _, report = synced
    model = emulator.model
    viewer = model.viewer(emulator.auth.api_keys[emulator.credentials["admin_api_key"]])
    members = {group_id: len(model.group_members(group_id)) for group_id in GROUP_NAMES}
    granted = {}
    for group_id, collection_id, access in emulator.expected_collection_permissions():
        granted.setdefault(str(collection_id), []).append((GROUP_NAMES[group_id], members[group_id], access))
    shared = [("root", "Our analytics")] + [
        (str(c.id), c.name) for c in model.visible_collections(viewer)
        if model._personal_root(c) is None and not c.archived and c.type != "trash" and not c.namespace]
    expected = []
    for collection_id, name in shared:
        groups = sorted(granted.get(collection_id, []))
        expected.append({"collection_id": collection_id, "collection": name,
                         "write_groups": ", ".join(f"{g} ({n})" for g, n, a in groups if a == "write"),
                         "read_only_groups": ", ".join(f"{g} ({n})" for g, n, a in groups if a == "read"),
                         "members_with_access": sum(n for _, n, _ in groups)})
    expected.sort(key=lambda row: (-row["members_with_access"], row["collection_id"]))
    assert rows(report["11_who_can_see_each_collection"]) == expected
    assert any(row["read_only_groups"] for row in expected)  # more than the admins' write everywhere
    assert len({row["members_with_access"] for row in expected}) > 1  # restricted collections too


def test_most_used_questions_from_the_query_log(synced):
    emulator, _, _, report = synced
    _, cards, _ = live(emulator)
    listed = {card.id for card in cards}
    runs: dict = {}
    for month in emulator.query_log_months():
        for row in emulator.expected_query_log(month):
            if row["card_id"] in listed:
                runs.setdefault(row["card_id"], []).append(row)
    truth = {card_id: {"runs": len(rs), "users": len({r["executor_id"] for r in rs if r["executor_id"] is not None}),
                       "mean_ms": int(sum(r["running_time"] for r in rs) / len(rs) + 0.5),
                       "errors": sum(r["error"] is not None for r in rs)} for card_id, rs in runs.items()}
    got = rows(report["12_most_used_questions"])
    assert {row["source"] for row in got} == {"query log"} and len(got) == min(50, len(truth))
    for row in got:
        assert {key: row[key] for key in ("runs", "users", "mean_ms", "errors")} == truth[row["card_id"]], row
    assert [row["runs"] for row in got] == sorted((row["runs"] for row in got), reverse=True)
    left_out = [t["runs"] for card_id, t in truth.items() if card_id not in {row["card_id"] for row in got}]
    assert not left_out or max(left_out) <= got[-1]["runs"]  # the most run ones, whatever the ties
