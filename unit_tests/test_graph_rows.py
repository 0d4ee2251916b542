"""GraphRows (components.py): Metabase's permission graphs as rows, one per entry (collections)
or per leaf (data). Graphs shaped as Metabase sends them (metabase-api.md 11.7); every expected
row is written by hand, the data ones from the examples of the issue that defined the rule."""

import json

import pytest
import requests


def rows(components_module, graph, body):
    response = requests.Response()
    response.status_code, response.url, response._content = 200, "https://mb.example.com/api/graph", json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return list(components_module.GraphRows(parameters={}, graph=graph).extract_records(response))


def test_collection_graph_rows_for_read_and_write_only(components_module):
    graph = {"revision": 12, "groups": {"1": {"root": "read", "4": "none", "7": "write"},
                                         "2": {"root": "write", "4": "write", "7": "write"},
                                         "5": {"4": "read"}}}  # from 0.56.13 "none" is left out
    assert rows(components_module, "collections", graph) == [
        {"group_id": 1, "collection_id": "root", "access": "read"},
        {"group_id": 1, "collection_id": 7, "access": "write"},
        {"group_id": 2, "collection_id": "root", "access": "write"},
        {"group_id": 2, "collection_id": 4, "access": "write"},
        {"group_id": 2, "collection_id": 7, "access": "write"},
        {"group_id": 5, "collection_id": 4, "access": "read"}]


@pytest.mark.parametrize("perms, expected", [
    ({"data": {"native": "write", "schemas": {"PUBLIC": {"1": "all", "2": {"read": "all", "query": "segmented"}}}}},
     [("data.native", None, None, "write"), ("data", "PUBLIC", 1, "all"), ("data.read", "PUBLIC", 2, "all"),
      ("data.query", "PUBLIC", 2, "segmented")]),
    ({"download": {"schemas": "full"}}, [("download", None, None, "full")]),
    ({"view-data": {"PUBLIC": {"3": "blocked"}}}, [("view-data", "PUBLIC", 3, "blocked")]),
    ({"view-data": "unrestricted", "create-queries": {"analytics": "query-builder", "raw": {"9": "no", "10": "query-builder"}},
      "download": {"native": "full", "schemas": "limited"}, "data-model": {"schemas": "all"}, "details": "no",
      "transforms": "yes"},
     [("view-data", None, None, "unrestricted"), ("create-queries", "analytics", None, "query-builder"),
      ("create-queries", "raw", 9, "no"), ("create-queries", "raw", 10, "query-builder"),
      ("download.native", None, None, "full"), ("download", None, None, "limited"), ("data-model", None, None, "all"),
      ("details", None, None, "no"), ("transforms", None, None, "yes")]),
])
def test_data_graph_rows_one_per_leaf(components_module, perms, expected):
    graph = {"revision": 3, "groups": {"3": {"2": perms}}}
    assert [(r["permission"], r["schema_name"], r["table_id"], r["value"]) for r in rows(components_module, "data", graph)] \
        == expected
    assert {(r["group_id"], r["database_id"]) for r in rows(components_module, "data", graph)} == {(3, 2)}


def test_an_empty_graph_gives_no_row(components_module):
    assert rows(components_module, "collections", {"revision": 1, "groups": {}}) == []
    assert rows(components_module, "data", {"revision": 1, "groups": {"1": {}}}) == []
