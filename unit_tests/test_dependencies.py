"""Dependencies (components.py): each card's direct dependencies, read from its own
dataset_query, and those of transforms, measures and documents in the same vocabulary. Queries,
transforms, measures and documents are shaped as Metabase sends them (metabase-api.md sections
10.2, 11.3 to 11.5); every expected list is written by hand."""

import json

import pytest


@pytest.fixture
def deps(components_module):
    transformation = components_module.Dependencies(parameters={})

    def run(dataset_query):
        record = {"id": 1, "dataset_query": dataset_query}
        transformation.transform(record, config={}, stream_state={}, stream_slice={})
        return [(d["type"], d["id"], d["via"]) for d in record["dependencies"]]

    return run


def test_mbql4_question_with_clauses_of_every_kind(deps):
    query = {"database": 1, "type": "query", "query": {
        "source-table": 2,
        "expressions": {"Net": ["-", ["field", 13, None], ["field", 14, None]]},
        "filter": ["and", ["=", ["field", 15, None], "Widget"], ["segment", 3]],
        "aggregation": [["sum", ["field", 13, None]], ["metric", 42]],
        "breakout": [["field", 16, {"temporal-unit": "month"}]],
        "order-by": [["desc", ["aggregation", 0]], ["asc", ["field", 17, None]]],
        "fields": [["field", 18, None], ["expression", "Net"]],
        "limit": 10}}
    assert deps(query) == [
        ("table", 2, "source"), ("field", 13, "expression"), ("field", 14, "expression"),
        ("field", 15, "filter"), ("segment", 3, "filter"), ("metric", 42, "aggregation"),
        ("field", 16, "breakout"), ("field", 17, "order_by"), ("field", 18, "fields")]


def test_a_question_on_a_card_and_a_card_inside_a_join(deps):
    query = {"database": 1, "type": "query", "query": {
        "source-table": "card__27",
        "joins": [{"alias": "Model", "source-table": "card__31", "fields": "all",
                   "condition": ["=", ["field", 79, None], ["field", 94, {"join-alias": "Model"}]]}]}}
    assert deps(query) == [("card", 27, "source"), ("card", 31, "join"), ("field", 79, "join"),
                           ("field", 94, "join")]


def test_string_field_refs_name_columns_not_fields(deps):
    query = {"database": 1, "type": "query", "query": {
        "source-table": "card__5",
        "filter": [">", ["field", "count", {"base-type": "type/BigInteger"}], 10],
        "breakout": [["field", "CATEGORY", {"base-type": "type/Text", "join-alias": "P"}]]}}
    assert deps(query) == [("card", 5, "source")]


def test_nested_source_query_three_deep(deps):
    query = {"database": 1, "type": "query", "query": {
        "source-query": {
            "source-query": {
                "source-query": {"source-table": 7, "filter": ["=", ["field", 70, None], True]},
                "aggregation": [["count"]], "breakout": [["field", 71, {"temporal-unit": "week"}]]},
            "filter": [">", ["field", "count", {"base-type": "type/Integer"}], 5]},
        "order-by": [["asc", ["field", "CREATED_AT", {"base-type": "type/DateTime"}]]],
        "limit": 3}}
    assert deps(query) == [("table", 7, "nested_query"), ("field", 70, "nested_query"),
                           ("field", 71, "nested_query")]


def test_a_join_with_its_own_source_query(deps):
    query = {"database": 1, "type": "query", "query": {
        "source-table": 2,
        "joins": [{"alias": "Recent", "strategy": "left-join",
                   "source-query": {"source-table": 8, "filter": ["time-interval", ["field", 81, None], -30, "day"]},
                   "condition": ["=", ["field", 21, None], ["field", "ID", {"join-alias": "Recent",
                                                                            "base-type": "type/BigInteger"}]]}],
        "fields": [["field", 22, {"source-field": 21}]]}}
    assert deps(query) == [("table", 2, "source"), ("table", 8, "join"), ("field", 81, "join"),
                           ("field", 21, "join"), ("field", 22, "fields")]


def test_each_dependency_once_at_its_first_place(deps):
    query = {"database": 1, "type": "query", "query": {
        "source-table": 2,
        "filter": ["and", ["=", ["field", 13, None], 1], ["segment", 3], ["segment", 3]],
        "aggregation": [["sum", ["field", 13, None]]],
        "breakout": [["field", 13, {"binning": {"strategy": "default"}}]],
        "order-by": [["asc", ["field", 13, None]]]}}
    assert deps(query) == [("table", 2, "source"), ("field", 13, "filter"), ("segment", 3, "filter")]


def test_the_source_metadata_of_a_nested_query_names_no_dependency(deps):
    query = {"database": 1, "type": "query", "query": {
        "source-query": {"source-table": 2},
        "source-metadata": [{"name": "ID", "id": 99, "field_ref": ["field", 99, None]}]}}
    assert deps(query) == [("table", 2, "nested_query")]


def test_mbql5_stages_joins_and_source_card(deps):
    query = {"lib/type": "mbql/query", "database": 1, "stages": [
        {"lib/type": "mbql.stage/mbql", "source-card": 27,
         "joins": [{"lib/type": "mbql/join", "alias": "Customers",
                    "stages": [{"lib/type": "mbql.stage/mbql", "source-table": 12}],
                    "conditions": [["=", {"lib/uuid": "a"}, ["field", {"lib/uuid": "b"}, 79],
                                    ["field", {"join-alias": "Customers", "lib/uuid": "c"}, 94]]]}],
         "aggregation": [["metric", {"lib/uuid": "d"}, 42]],
         "breakout": [["field", {"lib/uuid": "e", "temporal-unit": "month", "base-type": "type/DateTime"}, 80]]},
        {"lib/type": "mbql.stage/mbql",
         "filters": [[">", {"lib/uuid": "f"}, ["field", {"lib/uuid": "g", "base-type": "type/Integer"}, "count"], 1],
                     ["segment", {"lib/uuid": "h"}, 3]],
         "expressions": [["+", {"lib/uuid": "i", "lib/expression-name": "Plus"},
                          ["field", {"lib/uuid": "j", "base-type": "type/Float"}, 82], 1]]}]}
    assert deps(query) == [("card", 27, "nested_query"), ("table", 12, "nested_query"),
                           ("field", 79, "nested_query"), ("field", 94, "nested_query"),
                           ("metric", 42, "nested_query"), ("field", 80, "nested_query"),
                           ("field", 82, "expression"), ("segment", 3, "filter")]


def test_mbql5_one_stage_join_with_its_own_stages(deps):
    query = {"lib/type": "mbql/query", "database": 1, "stages": [
        {"lib/type": "mbql.stage/mbql", "source-table": 2,
         "joins": [{"lib/type": "mbql/join", "alias": "J", "stages": [
             {"lib/type": "mbql.stage/mbql", "source-card": 31,
              "filters": [["=", {"lib/uuid": "a"}, ["field", {"lib/uuid": "b"}, 310], "x"]]},
             {"lib/type": "mbql.stage/mbql"}],
             "conditions": [["=", {"lib/uuid": "c"}, ["field", {"lib/uuid": "d"}, 21],
                             ["field", {"join-alias": "J", "lib/uuid": "e"}, "ID"]]]}],
         "filters": [["=", {"lib/uuid": "f"}, ["field", {"lib/uuid": "g", "source-field": 21}, 33], 1]]}]}
    assert deps(query) == [("table", 2, "source"), ("card", 31, "join"), ("field", 310, "join"),
                           ("field", 21, "join"), ("field", 33, "filter")]


def test_mbql4_native_template_tags(deps):
    query = {"database": 1, "type": "native", "native": {
        "query": "SELECT * FROM {{#27-orders-model}} o JOIN analytics.customers c ON 1=1 "
                 "WHERE {{category}} {{snippet: exclusions}} {{snippet: old one}} [[AND {{since}}]]",
        "template-tags": {
            "#27-orders-model": {"type": "card", "name": "#27-orders-model", "id": "u1", "card-id": 27,
                                 "display-name": "#27 Orders Model"},
            "category": {"type": "dimension", "name": "category", "id": "u2", "widget-type": "category",
                         "dimension": ["field", 78, None], "display-name": "Category"},
            "snippet: exclusions": {"type": "snippet", "name": "snippet: exclusions", "id": "u3",
                                    "snippet-name": "exclusions", "snippet-id": 4},
            "snippet: old one": {"type": "snippet", "name": "snippet: old one", "id": "u4",
                                 "snippet-name": "old one"},  # saved before snippet-id existed
            "since": {"type": "date", "name": "since", "id": "u5", "display-name": "Since"}}}}
    assert deps(query) == [("card", 27, "template_tag"), ("field", 78, "template_tag"),
                           ("snippet", 4, "template_tag"), ("snippet", None, "template_tag")]


def test_snippets_carry_their_name_and_two_without_id_stay_apart(components_module):
    record = {"id": 1, "dataset_query": {"lib/type": "mbql/query", "database": 1, "stages": [
        {"lib/type": "mbql.stage/native", "native": "SELECT 1 {{snippet: a}} {{snippet: b}} {{snippet: c}}",
         "template-tags": {
             "snippet: a": {"type": "snippet", "snippet-name": "a", "snippet-id": 9},
             "snippet: b": {"type": "snippet", "snippet-name": "b"},
             "snippet: c": {"type": "snippet", "snippet-name": "c"},
             "d": {"type": "dimension", "dimension": ["field", {"lib/uuid": "x", "base-type": "type/Text"}, 78]}}}]}}
    components_module.Dependencies(parameters={}).transform(record)
    assert record["dependencies"] == [
        {"type": "snippet", "id": 9, "via": "template_tag", "name": "a"},
        {"type": "snippet", "id": None, "via": "template_tag", "name": "b"},
        {"type": "snippet", "id": None, "via": "template_tag", "name": "c"},
        {"type": "field", "id": 78, "via": "template_tag"}]


@pytest.mark.parametrize("dataset_query", [None, {}, {"type": "query"}, {"lib/type": "mbql/query", "stages": []},
                                           "not a query", {"type": "query", "query": {"source-table": "card__x"}}])
def test_a_card_without_a_readable_query_has_no_dependencies(deps, dataset_query):
    assert deps(dataset_query) == []


def test_ids_that_are_not_integers_name_nothing(deps):
    query = {"database": 1, "type": "query", "query": {
        "source-table": "card__12abc",
        "aggregation": [["metric", "ga:users"], ["count"]],
        "filter": ["=", ["field", True, None], ["field", 3.0, None]]}}
    assert deps(query) == []


def test_every_item_fits_the_schema(components_module):
    import jsonschema
    from pathlib import Path

    schema = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "cards.json").read_text())
    record = {"id": 1, "dataset_query": {"database": 1, "type": "native", "native": {
        "query": "SELECT 1", "template-tags": {"s": {"type": "snippet", "snippet-name": "s"},
                                               "c": {"type": "card", "card-id": 3}}}}}
    components_module.Dependencies(parameters={}).transform(record)
    assert len(record["dependencies"]) == 2
    jsonschema.validate(record, schema)


@pytest.mark.parametrize("ref", [["field", 22, {"source-field": 21}],  # MBQL 4
                                 ["field", {"lib/uuid": "a", "source-field": 21}, 22]])  # MBQL 5
def test_the_foreign_key_of_an_implicit_join_is_a_field_too(deps, ref):
    query = {"database": 1, "type": "query", "query": {"source-table": 2, "breakout": [ref]}}
    assert deps(query) == [("table", 2, "source"), ("field", 22, "breakout"), ("field", 21, "breakout")]


def dependencies_of(components_module, of, record):
    components_module.Dependencies(parameters={}, of=of).transform(record, config={}, stream_state={}, stream_slice={})
    return [tuple(d.get(k) for k in ("type", "id", "via", "name")) for d in record["dependencies"]]


def test_an_mbql5_card_aggregating_a_measure_depends_on_it(components_module):
    uuid = {"lib/uuid": "00000000-0000-4000-8000-000000000001"}
    query = {"lib/type": "mbql/query", "database": 1, "stages": [{
        "lib/type": "mbql.stage/mbql", "source-table": 4,
        "aggregation": [["measure", uuid, 7], ["sum", uuid, ["field", uuid, 31]]]}]}
    assert dependencies_of(components_module, "card", {"dataset_query": query}) == [
        ("table", 4, "source", None), ("measure", 7, "aggregation", None), ("field", 31, "aggregation", None)]


def test_a_measure_depends_on_its_table_fields_and_segments(components_module):
    # one aggregation and no filters (lib/schema/measure.cljc): a condition sits in a -where aggregation
    uuid = {"lib/uuid": "00000000-0000-4000-8000-000000000002"}
    condition = ["and", uuid, ["segment", uuid, 5], [">", uuid, ["field", uuid, 121], 0]]
    definition = {"lib/type": "mbql/query", "database": 2, "stages": [{
        "lib/type": "mbql.stage/mbql", "source-table": 12,
        "aggregation": [["sum-where", uuid, ["field", {"base-type": "type/Float", **uuid}, 120], condition]]}]}
    assert dependencies_of(components_module, "measure", {"definition": definition}) == [
        ("table", 12, "source", None), ("field", 120, "aggregation", None), ("segment", 5, "filter", None),
        ("field", 121, "filter", None)]
    counted = {"lib/type": "mbql/query", "database": 2, "stages": [{
        "lib/type": "mbql.stage/mbql", "source-table": 12, "aggregation": [["count-where", uuid, ["segment", uuid, 6]]]}]}
    assert dependencies_of(components_module, "measure", {"definition": counted}) == [
        ("table", 12, "source", None), ("segment", 6, "filter", None)]


def test_a_query_transform_depends_on_what_its_query_reads_and_names_its_table(components_module):
    uuid = {"lib/uuid": "00000000-0000-4000-8000-000000000003"}
    source = {"type": "query", "query": {"lib/type": "mbql/query", "database": 2, "stages": [{
        "lib/type": "mbql.stage/mbql", "source-table": 12,
        "joins": [{"lib/type": "mbql/join", "alias": "C", "stages": [{"lib/type": "mbql.stage/mbql", "source-table": 13}],
                   "conditions": [["=", uuid, ["field", uuid, 120], ["field", {"join-alias": "C", **uuid}, 130]]]}]}]}}
    record = {"source": source, "target": {"type": "table", "schema": "marts", "name": "orders_by_c"},
              "table": {"id": 99, "name": "orders_by_c", "schema": "marts", "db_id": 2}}
    assert dependencies_of(components_module, "transform", record) == [
        ("table", 12, "source", None), ("table", 13, "join", None), ("field", 120, "join", None),
        ("field", 130, "join", None)]
    assert record["target_table_id"] == 99
    not_yet = {"source": source, "target": {"type": "table", "schema": "marts", "name": "new"}, "table": None}
    dependencies_of(components_module, "transform", not_yet)
    assert not_yet["target_table_id"] is None


def test_a_native_transform_depends_on_its_template_tags(components_module):
    source = {"type": "query", "query": {"lib/type": "mbql/query", "database": 2, "stages": [{
        "lib/type": "mbql.stage/native", "native": "SELECT * FROM {{#27-orders}} WHERE {{snippet: paid}}",
        "template-tags": {"#27-orders": {"type": "card", "card-id": 27, "name": "#27-orders"},
                          "snippet: paid": {"type": "snippet", "snippet-id": 3, "snippet-name": "paid"}}}]}}
    assert dependencies_of(components_module, "transform", {"source": source}) == [
        ("card", 27, "template_tag", None), ("snippet", 3, "template_tag", "paid")]


@pytest.mark.parametrize("tables", [
    {"orders": 12, "people": {"database_id": 2, "schema": "raw", "table": "people", "table_id": 14},
     "later": {"database_id": 2, "schema": "raw", "table": "events", "table_id": None}},  # the spec's map
    [{"alias": "orders", "database_id": 2, "schema": "public", "table": "orders", "table_id": 12},  # newer: a list
     {"alias": "people", "database_id": 2, "schema": "raw", "table": "people", "table_id": 14},
     {"alias": "later", "database_id": 2, "schema": "raw", "table": "events", "table_id": None}],
])
def test_a_python_transform_depends_on_its_source_tables_in_either_form(components_module, tables):
    record = {"source": {"type": "python", "body": "def transform(orders, people, later): ...",
                         "source-tables": tables}, "table": None}
    assert dependencies_of(components_module, "transform", record) == [
        ("table", 12, "source_table", None), ("table", 14, "source_table", None),
        ("table", None, "source_table", "raw.events")]


def test_a_document_depends_on_the_cards_it_embeds_and_what_it_links(components_module):
    body = {"type": "doc", "content": [
        {"type": "paragraph", "content": [
            {"type": "text", "text": "See "},
            {"type": "smartLink", "attrs": {"entityId": 12, "model": "dashboard"}},
            {"type": "smartLink", "attrs": {"entityId": 40, "model": "dataset"}}]},
        {"type": "cardEmbed", "attrs": {"id": 27}},
        {"type": "cardEmbed", "attrs": {"id": None, "stored_result_id": 5}},  # a static embed: no card
        {"type": "cardEmbed", "attrs": {"id": -3}},  # a draft placeholder
        {"type": "bulletList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [
            {"type": "smartLink", "attrs": {"entityId": 8, "model": "table"}},
            {"type": "smartLink", "attrs": {"entityId": 27}},  # no model: a card (embedded already)
            {"type": "smartLink", "attrs": {"entityId": 9, "model": "collection"}}]}]}]}]}  # not followed
    assert dependencies_of(components_module, "document", {"document": body}) == [
        ("dashboard", 12, "link", None), ("card", 40, "link", None), ("card", 27, "embed", None),
        ("table", 8, "link", None)]
