"""The emulator's transforms (transforms.py) on v0.64: GET /api/transform(/:id) (metabase-api.md 11.4),
their target tables in GET /api/table, `transforms.dependencies` and the transforms_enabled setting."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.metabase_emulator import queries, transforms
from integration_tests.test_emulator import as_user

SPEC = Path(transforms.__file__).parent / "openapi" / "paths" / "api_transform_{id}.json"
FORBIDDEN = "You don't have permissions to do that."


@pytest.fixture(scope="module")
def emu():
    with Emulator(profile="v0.64", seed=1, scale=Scale(cards=60)) as emulator:
        yield emulator


def spec_keys() -> set:
    schema = json.loads(SPEC.read_text())["get"]["responses"]["2XX"]["content"]["application/json"]["schema"]
    return set(schema["properties"])


def read_query(query) -> set:
    """What an MBQL 5 / native query names, read from the JSON (a client's reader, for this test)."""
    out = set()

    def fields(clause, via):
        if isinstance(clause, list):
            if len(clause) == 3 and clause[0] == "field" and isinstance(clause[2], int):
                out.add(("field", clause[2], via))
            if len(clause) == 3 and clause[0] == "segment":
                out.add(("segment", clause[2], via))
            for part in clause:
                fields(part, via)

    for stage in query["stages"]:
        if "source-table" in stage:
            out.add(("table", stage["source-table"], "source"))
        for join in stage.get("joins", ()):
            out |= {("table", s["source-table"], "join") for s in join["stages"] if "source-table" in s}
            fields(join["conditions"], "join")
        fields(stage.get("filters"), "filter")
        fields(stage.get("fields"), "fields")
        for tag in (stage.get("template-tags") or {}).values():
            if tag["type"] == "card":
                out.add(("card", tag["card-id"], "template_tag"))
            elif tag["type"] == "snippet":
                out.add(("snippet", tag.get("snippet-id"), "template_tag", tag["snippet-name"]))
            elif tag["type"] == "dimension":
                out.add(("field", tag["dimension"][2], "template_tag"))
    return out


def test_admins_list_closed_objects_by_id_others_get_403(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    listed = admin.get("/api/transform").json()
    assert [t["id"] for t in listed] == emu.expected_ids("transforms") == sorted(emu.model.transforms)
    assert len(listed) >= 5
    allowed = spec_keys()
    assert all(set(t) == allowed - {"table"} for t in listed)  # get-transforms does not hydrate the table
    for t in listed:
        detail = admin.get("/api/transform/%d" % t["id"]).json()
        assert set(detail) == allowed and {k: v for k, v in detail.items() if k != "table"} == t
    for path in ("/api/transform", "/api/transform/1"):
        denied = analyst.get(path)
        assert (denied.status_code, denied.text) == (403, FORBIDDEN)
    assert emu.expected_ids("transforms", "analyst") == [] and emu.expected_ids("transforms", "analyst_key") == []
    assert admin.get("/api/transform/999").status_code == 404


def test_sources_targets_and_their_truth(emu):
    admin = as_user(emu)
    model = emu.model
    listed = admin.get("/api/transform").json()
    assert {t["source_type"] for t in listed} == {"mbql", "native", "python"}
    forms = set()
    for t in listed:
        row = model.transforms[t["id"]]
        truth = transforms.dependencies(row)
        src = t["source"]
        if src["type"] == "query":
            assert src["query"]["lib/type"] == "mbql/query" and read_query(src["query"]) == truth
            assert truth == set(queries.query_dependencies(row.query))
            assert t["source_database_id"] == src["query"]["database"]
        else:
            tables = src["source-tables"]
            entries = list(tables.items()) if isinstance(tables, dict) else [(e["alias"], e) for e in tables]
            forms.add(type(tables).__name__)
            read = set()
            for _, e in entries:
                if isinstance(e, int):
                    forms.add("bare id")
                    read.add(("table", e, "source_table"))
                elif e["table_id"] is not None:
                    read.add(("table", e["table_id"], "source_table"))
                else:
                    read.add(("table", None, "source_table", "%s.%s" % (e["schema"], e["table"])))
            assert read == truth and src["source-database"] == t["source_database_id"]
        assert t["target"]["type"] == "table"
        assert t["target_db_id"] == t["target"].get("database", t["source_database_id"])
    assert forms == {"dict", "list", "bare id"}
    kinds = {d[0] for t in model.transforms.values() for d in transforms.dependencies(t)}
    assert kinds == {"table", "field", "segment", "card", "snippet"}
    assert any(d[1] is None for t in model.transforms.values() for d in transforms.dependencies(t))
    assert any("database" not in t["target"] for t in listed)


def test_target_tables_are_real_tables_carrying_their_transform(emu):
    admin, analyst = as_user(emu), as_user(emu, "analyst")
    model = emu.model
    tables = {t["id"]: t for t in admin.get("/api/table").json()}
    assert all("transform" in t for t in tables.values())
    missing = 0
    for tr in model.transforms.values():
        detail = admin.get("/api/transform/%d" % tr.id).json()
        target = transforms.target_table_id(model, tr)
        if target is None:
            missing += 1
            assert detail["table"] is None and detail["last_run"] is None
            assert not [t for t in tables.values() if (t["db_id"], t["schema"], t["name"]) == (
                detail["target_db_id"], detail["target"]["schema"], detail["target"]["name"])]
            continue
        table = tables[target]
        assert detail["table"]["id"] == target and "db" not in detail["table"]
        assert (table["db_id"], table["schema"], table["name"]) == \
            (detail["target_db_id"], detail["target"]["schema"], detail["target"]["name"])
        assert table["transform"]["id"] == tr.id and table["transform"]["name"] == tr.name
        assert set(table["transform"]) < spec_keys()
        metadata = admin.get("/api/database/%d/metadata" % table["db_id"]).json()
        assert [f["name"] for t in metadata["tables"] if t["id"] == target for f in t["fields"]]
    assert missing == 1
    assert sum(t["transform"] is not None for t in tables.values()) == len(model.transforms) - 1
    assert set(emu.expected_ids("tables")) == set(tables)
    assert all("transform" in t for t in analyst.get("/api/table").json())


def test_list_parameters(emu):
    admin = as_user(emu)
    model = emu.model

    def ids(**params):
        answer = admin.get("/api/transform", params=params)
        assert answer.status_code == 200, answer.text
        return [t["id"] for t in answer.json()]

    runs = {t.id: t.last_run for t in model.transforms.values()}
    assert ids(**{"last-run-statuses": "failed"}) == sorted(i for i, r in runs.items() if r and r[2] == "failed")
    both = ids(**{"last-run-statuses": ["failed", "started"]})
    assert both == sorted(i for i, r in runs.items() if r and r[2] in ("failed", "started")) and len(both) >= 2
    assert ids(**{"tag-ids": 1}) == sorted(t.id for t in model.transforms.values() if 1 in t.tag_ids)
    assert ids(**{"tag-ids": [2, 3]}) == sorted(t.id for t in model.transforms.values() if {2, 3} & set(t.tag_ids))
    db = model.transforms[1].database_id
    assert ids(**{"database-id": db}) == sorted(model.transforms) and ids(**{"database-id": 999}) == []
    start = sorted(r[3] for r in runs.values() if r)
    day = lambda us: datetime.fromtimestamp(us // 10**6, timezone.utc).strftime("%Y-%m-%d")  # noqa: E731
    since = ids(**{"last-run-start-time": day(start[-1]) + "~"})
    midnight = int(datetime.fromisoformat(day(start[-1])).replace(tzinfo=timezone.utc).timestamp()) * 10**6
    assert since == sorted(i for i, r in runs.items() if r and r[3] >= midnight)
    until = ids(**{"last-run-start-time": "~" + day(start[0])})
    assert runs[until[0]][3] == start[0] and len(until) < len(start)
    assert ids(**{"last-run-start-time": "2001-01-01~2001-12-31"}) == []
    assert admin.get("/api/transform", params={"last-run-statuses": "exploded"}).status_code == 400
    assert admin.get("/api/transform", params={"database-id": "0"}).status_code == 400


def test_transforms_can_be_switched_off():
    with Emulator(profile="v0.64", seed=2, scale=Scale(cards=30), transforms_enabled=False) as emu:
        admin = as_user(emu)
        for path in ("/api/transform", "/api/transform/1"):
            off = admin.get(path)
            assert (off.status_code, off.text) == (403, FORBIDDEN)
        assert not any("transform" in t for t in admin.get("/api/table").json())
        assert emu.expected_ids("transforms") == []
        emu.configure(transforms_enabled=True)
        assert admin.get("/api/transform").status_code == 200 and emu.expected_ids("transforms")
        assert all("transform" in t for t in admin.get("/api/table").json())  # the cached list went with the switch


def test_a_deleted_target_table_is_no_target_any_more():
    with Emulator(profile="v0.64", seed=3, scale=Scale(cards=30)) as emu:
        model = emu.model
        t = model.transforms[1]
        target = transforms.target_table_id(model, t)
        emu.delete("tables", [target])
        assert transforms.target_table_id(model, t) is None
        assert as_user(emu).get("/api/transform/1").json()["table"] is None
        assert target not in {x["id"] for x in as_user(emu).get("/api/table").json()}
