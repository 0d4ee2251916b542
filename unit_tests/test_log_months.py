"""LogMonths (components.py): the months of the query log a sync reads, from the state's month
(or the configured start, or the current month and the two before) to the current one; only rows
at or after the state are emitted; a log keeps no listing and deletes nothing."""

from datetime import datetime, timezone

import pytest


def months(components_module, state=None, start_date=None):
    # start_date as the manifest writes it: a template of the config (a custom component interpolates it itself)
    router = components_module.LogMonths(config={"query_log_start_date": start_date} if start_date else {}, parameters={},
                                         start_date="{{ config.get('query_log_start_date') or '' }}")
    # what this sync knows of its Metabase: an Enterprise build with the audit app (one request, not made here)
    components_module._this_sync(router.config)["instance"] = components_module.Instance.from_properties(
        {"version": {"tag": "v1.64.2"}, "token-features": {"audit_app": True}})
    router.start(state or {}, "started_at")
    return router, [s.partition["month"] for s in router._partitions()]


def month(moment):
    return f"{moment.year:04d}-{moment.month:02d}"


def test_with_no_state_the_current_month_and_the_two_before(components_module):
    now = datetime.now(timezone.utc)
    _, read = months(components_module)
    assert len(read) == 3 and read[-1] == month(now)
    assert read == sorted(read) and len(set(read)) == 3


def test_a_configured_start_reads_from_its_month(components_module):
    _, read = months(components_module, start_date="2025-11-20")
    assert read[:3] == ["2025-11", "2025-12", "2026-01"] and read[-1] == month(datetime.now(timezone.utc))


def test_a_state_reads_from_its_month_on_and_keeps_only_rows_at_or_after_it(components_module):
    state = {"use_global_cursor": True, "state": {"started_at": "2025-12-31T23:00:00.000000+0000"}, "lookback_window": 2}
    router, read = months(components_module, state=state, start_date="2024-01-01")
    assert read[0] == "2025-12" and "2025-11" not in read  # a finished month is not read again
    assert router.wanted({"started_at": "2025-12-31T22:59:58.5Z"}, "started_at")  # within the lookback
    assert not router.wanted({"started_at": "2025-12-31T22:59:57Z"}, "started_at")
    assert router.wanted({"started_at": "2026-01-02T00:00:00Z"}, "started_at")


def test_a_log_keeps_no_listing_and_deletes_nothing(components_module):
    router, _ = months(components_module, state={"state": {"started_at": "2026-01-01T00:00:00Z"}})
    slices = list(router.stream_slices())
    assert [router.partition_read(s, [router.row_of({"id": 1})], True) for s in slices] == [[]] * len(slices)
    assert router.finished and router.get_stream_state() == {}


def test_an_open_source_metabase_is_asked_for_no_month(components_module, caplog):
    router = components_module.LogMonths(config={}, parameters={})
    components_module._this_sync(router.config)["instance"] = components_module.Instance.from_properties(
        {"version": {"tag": "v0.64.2"}, "token-features": {}})
    router.start({}, "started_at")
    assert list(router._partitions()) == []
    assert any("Skipping query_executions: Metabase v0.64.2 does not serve them" in r.getMessage() for r in caplog.records)
