"""manifest.yaml: loads cleanly on the pinned CDK, its schemas match schemas/, its spec is sound."""

import json
import re
import warnings
from pathlib import Path

import jsonschema
import pytest
import yaml

from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
    ConcurrentDeclarativeSource,
)
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text())
STREAMS = ["cards", "collections", "dashboards", "users", "databases", "native_query_snippets", "tables",
           "permission_groups", "dashboard_cards", "fields", "permission_group_memberships", "segments",
           "timelines", "timeline_events", "dashboard_subscriptions", "alerts", "documents", "transforms", "measures",
           "collection_permissions", "data_permissions", "query_executions"]
CONFIG = {"instance_api_url": "https://metabase.example.com/api/", "api_key": "mb_fake"}


def pinned_cdk_version():
    lock = (ROOT / "requirements.lock").read_text()
    return re.search(r"^airbyte-cdk==(\S+)$", lock, re.M).group(1)


def source(config=CONFIG):
    return ConcurrentDeclarativeSource(
        source_config=MANIFEST, config=config, catalog=None, state=None
    )


def test_manifest_version_is_the_pinned_cdk():
    assert MANIFEST["version"] == pinned_cdk_version()
    assert f'"airbyte-cdk=={pinned_cdk_version()}"' in (ROOT / "pyproject.toml").read_text()


def test_manifest_loads_without_a_single_warning(components_module, caplog):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = [stream.name for stream in source().streams(CONFIG)]
    assert names == STREAMS
    # requests-cache warns about how the CDK sets up its cache; that is not the manifest's doing.
    ours = [w for w in caught if "cache_name" not in str(w.message)]
    assert ours == [], [(str(w.message), w.category.__name__, w.filename) for w in ours]
    assert [r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []


@pytest.mark.parametrize("stream", STREAMS)
def test_inline_schema_is_identical_to_the_schema_file(stream):
    on_disk = json.loads((ROOT / "schemas" / f"{stream}.json").read_text())
    assert MANIFEST["schemas"][stream] == on_disk
    for declared in declared_streams(stream):
        assert declared["schema_loader"]["schema"] == on_disk
    jsonschema.Draft7Validator.check_schema(on_disk)


RESOLVED = ManifestReferenceResolver().preprocess_manifest(MANIFEST)
STREAM_DEFINITIONS = {s["name"]: s for s in RESOLVED["streams"]}
FULL_REFRESH_ONLY = {"collections", "permission_groups", "permission_group_memberships",  # no updated_at
                     "collection_permissions", "data_permissions"}
LOGS = {"query_executions"}  # incremental on started_at; a log: no listing, no deletion records


def declared_streams(name: str) -> list:
    """The stream's resolved definition."""
    return [STREAM_DEFINITIONS[name]]


def test_dashboard_cards_reads_the_dashboards_details_once_through_the_cache():
    dashboards, dashboard_cards = STREAM_DEFINITIONS["dashboards"], STREAM_DEFINITIONS["dashboard_cards"]
    parent = dashboard_cards["retriever"]["partition_router"]["partition_router"]["parent_stream_configs"][0]
    # dashboard_cards reads `dashboards` itself (same name, so the same cache) and takes the dashcards
    # from the slice, with no request of its own
    assert parent["stream"]["name"] == "dashboards"
    assert parent["extra_fields"] == [["dashcards"], ["unreadable_card_ids"]]
    inner = dashboard_cards["retriever"]["retriever"]
    assert inner["class_name"].endswith(".SliceRecords") and inner["field"] == "dashcards"
    assert parent["stream"]["retriever"] == dashboards["retriever"]
    assert parent["incremental_dependency"] is True
    assert dashboards["retriever"]["retriever"]["requester"]["use_cache"] is True
    list_parent = dashboards["retriever"]["partition_router"]["partition_router"]["parent_stream_configs"][0]
    assert list_parent["stream"]["name"] == "dashboard_list"
    assert list_parent["stream"]["retriever"]["retriever"]["requester"]["use_cache"] is True
    # without that list (Metabase 0.48.0), each collection's items, from the collections' own answer
    assert list_parent["stream"]["retriever"]["class_name"].endswith(".ListOrItems")
    collections = list_parent["stream"]["retriever"]["collections"]["parent_stream_configs"][0]["stream"]
    assert collections == STREAM_DEFINITIONS["collections"] and collections["retriever"]["requester"]["use_cache"] is True
    # ... and only after `dashboards` is done, so that every detail is in the cache by then; and
    # after `cards`, whose complete list says which questions left (their dashcards with them)
    groups = RESOLVED["stream_groups"]
    # (and `collections` apart from `dashboards`, which reads its cached list where GET /api/dashboard is missing)
    assert [s["name"] for s in groups["dashboard_details"]["streams"]] == ["dashboards", "collections"]
    assert [s["name"] for s in groups["tables_and_transforms"]["streams"]] == ["tables", "transforms"]
    assert [s["name"] for s in groups["questions_before_dashcards"]["streams"]] == ["cards", "dashboard_cards"]
    assert [s["name"] for s in RESOLVED["streams"]].index("cards") < [s["name"] for s in RESOLVED["streams"]].index("dashboard_cards")


def client_side_filters(node) -> list:
    """Every is_client_side_incremental flag in a definition, parents included."""
    if isinstance(node, dict):
        own = [node["is_client_side_incremental"]] if "is_client_side_incremental" in node else []
        return own + [flag for value in node.values() for flag in client_side_filters(value)]
    if isinstance(node, list):
        return [flag for value in node for flag in client_side_filters(value)]
    return []


@pytest.mark.parametrize("stream", sorted(set(STREAMS) - FULL_REFRESH_ONLY - LOGS))
def test_every_incremental_stream_keeps_its_listing_and_filters_on_this_side(stream):
    """Each incremental stream is read through ListingRetriever and ListingPartitions (deletion
    records), with one observing cursor on `updated_at` and no CDK client-side filter: that filter
    hides the complete listing and, with a state, built a cursor per record."""
    definition = STREAM_DEFINITIONS[stream]
    retriever, router = definition["retriever"], definition["retriever"]["partition_router"]
    assert retriever["class_name"].endswith(".ListingRetriever")
    assert router["class_name"].endswith((".ListingPartitions", ".DashcardListing"))
    cursor = definition["incremental_sync"]
    assert cursor["cursor_field"] == "updated_at" and cursor["global_substream_cursor"] is True
    assert True not in client_side_filters(definition)
    assert "_ab_cdc_deleted_at" in definition["schema_loader"]["schema"]["properties"]


@pytest.mark.parametrize("stream", sorted(FULL_REFRESH_ONLY))
def test_full_refresh_streams_emit_no_deletion_records(stream):
    definition = STREAM_DEFINITIONS[stream]
    assert "incremental_sync" not in definition
    assert "_ab_cdc_deleted_at" not in definition["schema_loader"]["schema"]["properties"]


def test_every_schema_file_belongs_to_a_stream():
    assert sorted(p.stem for p in (ROOT / "schemas").glob("*.json")) == sorted(STREAMS)


@pytest.mark.parametrize(
    "config, valid",
    [
        ({"instance_api_url": "https://metabase.example.com/api/", "api_key": "k"}, True),
        ({"instance_api_url": "https://metabase.example.com"}, True),
        # Airbyte's source-metabase 2.x configs keep working unchanged.
        ({"instance_api_url": "https://h/api/", "username": "u", "password": "p", "session_token": "t"}, True),
        ({"instance_api_url": "http://metabase.example.com/api/", "api_key": "k"}, False),
        ({"api_key": "k"}, False),
        ({"instance_api_url": "https://h/api/", "num_workers": 50}, False),
        ({"instance_api_url": "https://h/api/", "include_archived": True}, True),
        ({"instance_api_url": "https://h/api/", "include_archived": "yes"}, False),
    ],
)
def test_spec_accepts_and_refuses_configs(config, valid):
    spec = MANIFEST["spec"]["connection_specification"]
    errors = list(jsonschema.Draft7Validator(spec).iter_errors(config))
    assert (not errors) == valid, errors


def test_spec_secrets_and_options_are_documented():
    properties = MANIFEST["spec"]["connection_specification"]["properties"]
    assert {k for k, v in properties.items() if v.get("airbyte_secret")} == {
        "api_key",
        "session_token",
        "password",
    }
    orders = [p["order"] for p in properties.values()]
    assert sorted(orders) == list(range(len(properties)))
    for name, prop in properties.items():
        assert prop.get("title") and prop.get("description"), name
        if name not in ("instance_api_url", "api_key", "session_token", "username", "password"):
            assert "default" in prop, f"tuning option {name} needs a safe default"


@pytest.mark.parametrize(
    "url, api_base_url",
    [
        ("https://metabase.example.com", "https://metabase.example.com/api/"),
        ("https://metabase.example.com/", "https://metabase.example.com/api/"),
        ("https://metabase.example.com/api", "https://metabase.example.com/api/"),
        ("https://metabase.example.com/api/", "https://metabase.example.com/api/"),
        (" https://metabase.example.com/api// ", "https://metabase.example.com/api/"),
        ("https://example.com/metabase/api/", "https://example.com/metabase/api/"),
        ("https://example.com/metabase", "https://example.com/metabase/api/"),
    ],
)
def test_every_url_form_leads_to_the_api_base(url, api_base_url, components_module):
    config = {**CONFIG, "instance_api_url": url}
    assert source(config)._config["api_base_url"] == api_base_url


def test_the_query_log_is_read_a_month_per_request_from_the_state_on():
    definition = STREAM_DEFINITIONS["query_executions"]
    assert definition["incremental_sync"]["cursor_field"] == "started_at"
    assert definition["retriever"]["cursor_field"] == "started_at"
    assert definition["retriever"]["partition_router"]["class_name"].endswith(".LogMonths")
    assert "stream_partition.month" in definition["retriever"]["retriever"]["requester"]["url"]
    assert True not in client_side_filters(definition)
    assert "_ab_cdc_deleted_at" not in definition["schema_loader"]["schema"]["properties"]
    # no filter that matches an answer of 200 (the CDK would parse each month's answer whole again)
    filters = definition["retriever"]["retriever"]["requester"]["error_handler"]["response_filters"]
    assert all(f.get("http_codes") and 200 not in f["http_codes"] and "error_message_contains" not in f for f in filters)
