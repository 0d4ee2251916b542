"""Incremental sync with the real CLI against an emulator whose content changes between syncs:
sync 1 (no state) reads everything, sync 2 (its state) reads exactly what changed, sync 3 (no
change) reads only the boundary, a sync that fails midway never advances the state past what it
did not emit. What "changed" means comes from the emulator's own lists, read over HTTP."""

import re
from datetime import timedelta

import pytest

from integration_tests.conftest import INCREMENTAL, PROFILES, current_rows, expected_keys, make_config, start_emulator, views_of_reading
from integration_tests.connector import cursor, discover_catalog, id_order, instant, sync
from integration_tests.metabase_emulator import FaultPlan, Scale

FULL_REFRESH_ONLY = {"collections", "permission_groups", "permission_group_memberships"}  # no timestamp
# Read in partitions (the archived lists, active and deactivated users): one cursor over them.
PARTITIONED = {"cards", "dashboards", "users", "native_query_snippets", "fields", "alerts"}
# Incremental streams the emulator does not change between syncs.
UNCHANGED = ["fields", "segments", "timelines", "timeline_events", "dashboard_subscriptions", "alerts"]
DASHBOARD_DETAIL = re.compile(r"^/api/dashboard/\d+$")


def updated_since(emulator, stream, since):
    """Ids an incremental read from `since` must emit: updated at or after it (inclusive), or
    without a timestamp the connector can read."""
    rows = current_rows(emulator, stream)
    return id_order(r["id"] for r in rows if instant(r.get("updated_at")) is None or instant(r["updated_at"]) >= since)


def boundary(run, stream):
    """Ids of a sync's records updated exactly at the state it ends with."""
    state = cursor(run.stream_state(stream))
    return {r["id"] for r in run.records(stream) if instant(r.get("updated_at")) == state}


def assert_only_since(run, previous, stream):
    """`run`, from `previous`'s state, read that state's boundary again and nothing older (and, for
    a stream read in one piece, nothing else: nothing changed there)."""
    state = previous.stream_state(stream) or {}
    # one cursor over partitions re-reads the seconds the previous sync took (its lookback_window)
    since = cursor(state) - timedelta(seconds=state.get("lookback_window", 0)) if cursor(state) else None
    assert boundary(previous, stream) <= set(run.record_ids(stream)), stream
    if since is not None:
        assert all(instant(r["updated_at"]) >= since for r in run.records(stream)), stream
    if stream not in PARTITIONED:
        assert set(run.record_ids(stream)) == boundary(previous, stream), stream


def detail_calls(log):
    return sum(1 for r in log if DASHBOARD_DETAIL.match(r["path"]))


def list_calls(log):
    return sum(1 for r in log if r["method"] == "GET" and r["path"] == "/api/dashboard")


@pytest.fixture(params=PROFILES)
def changing_emulator(request):
    """An emulator of its own (its content is changed by the test)."""
    emulator = start_emulator(request.param, scale=Scale(cards=120, dashboards=30))
    yield emulator
    emulator.stop()


def auth_for(emulator):
    return "password" if emulator.profile.name == "v0.40" else "api_key"


def visible_ids(emulator, stream, count, skip=0):
    return emulator.expected_ids(stream, "admin")[skip:skip + count]


def test_discover_offers_incremental_on_updated_at_where_records_carry_it():
    streams = {stream["name"]: stream for stream in discover_catalog()["streams"]}
    for name in [*INCREMENTAL, "dashboard_cards", *UNCHANGED]:
        assert streams[name]["supported_sync_modes"] == ["full_refresh", "incremental"], name
        assert streams[name]["source_defined_cursor"] is True
        assert streams[name]["default_cursor_field"] == ["updated_at"]
        assert streams[name]["source_defined_primary_key"] == [["id"]]
    for name in FULL_REFRESH_ONLY:
        assert streams[name]["supported_sync_modes"] == ["full_refresh"], name


def test_each_sync_reads_exactly_what_changed_since_the_last(changing_emulator):
    emulator = changing_emulator
    config = make_config(emulator, auth_for(emulator))

    first = sync(config, emulator.ca_bundle, incremental=True)
    assert first.returncode == 0 and first.errors == [], first.stderr[-3000:]
    for stream in INCREMENTAL:  # no state: everything, and the state is the newest record
        assert first.record_ids(stream) == id_order(emulator.expected_ids(stream, "admin")), stream
        stamps = {instant(r["updated_at"]) for r in first.records(stream) if instant(r.get("updated_at"))}
        assert cursor(first.stream_state(stream)) in stamps, stream
        # (the CDK's cursor over partitions compares formatted values, so with timestamps in
        # several offsets its state can lag behind the newest record: more read again, none lost)
        if stream not in PARTITIONED:
            assert cursor(first.stream_state(stream)) == max(stamps), stream
    dashboards_before = len(first.records("dashboards"))
    # one detail call per dashboard, shared by `dashboards` and `dashboard_cards`, and so one view
    assert detail_calls(emulator.requests()) == dashboards_before
    assert emulator.views() == views_of_reading(emulator, first.record_ids("dashboards"))

    changed = {
        "cards": emulator.edit("cards", visible_ids(emulator, "cards", 3)) + emulator.add("cards", 2),
        "dashboards": emulator.edit("dashboards", visible_ids(emulator, "dashboards", 2)) + emulator.add("dashboards", 1),
        "users": emulator.edit("users", visible_ids(emulator, "users", 1)) + emulator.add("users", 1),
        "databases": emulator.edit("databases", visible_ids(emulator, "databases", 1)),
        "tables": emulator.edit("tables", visible_ids(emulator, "tables", 1)),
        "native_query_snippets": emulator.edit("native_query_snippets", visible_ids(emulator, "native_query_snippets", 1))
        + emulator.add("native_query_snippets", 1),
    }
    gone = {"cards": emulator.archive("cards", visible_ids(emulator, "cards", 1, skip=5))
            + emulator.delete("cards", visible_ids(emulator, "cards", 1, skip=6)),
            "dashboards": emulator.delete("dashboards", visible_ids(emulator, "dashboards", 1, skip=4))}
    emulator.clear_requests()

    second = sync(config, emulator.ca_bundle, incremental=True, state=first.final_states())
    log = emulator.requests()  # before the checks below read the emulator's lists themselves
    assert second.returncode == 0 and second.errors == [], [(e["message"], e.get("stack_trace", "")[-2500:]) for e in second.errors]
    for stream in INCREMENTAL:
        since = cursor(first.stream_state(stream))
        expected = updated_since(emulator, stream, since)
        # the emulator changed what we changed, and the boundary of sync 1 is read again
        assert set(changed[stream]) | boundary(first, stream) - set(gone.get(stream, [])) <= set(expected), stream
        if stream not in PARTITIONED:
            assert set(expected) == (set(changed[stream]) | boundary(first, stream)) - set(gone.get(stream, [])), stream
        assert second.record_ids(stream) == expected, stream
        stamps = {instant(r["updated_at"]) for r in second.records(stream)}
        assert cursor(second.stream_state(stream)) in stamps, stream
    for stream in FULL_REFRESH_ONLY:
        assert second.record_ids(stream) == id_order(expected_keys(emulator, stream))
    # 1 list call, and detail calls only for the dashboards that changed (and the boundary)
    assert list_calls(log) == 1  # the second stream's from the CDK's cache
    assert detail_calls(log) == len(second.records("dashboards")) < dashboards_before
    assert emulator.views() == views_of_reading(emulator, second.record_ids("dashboards"))
    # the dashcards of exactly the dashboards read again
    assert {dc["dashboard_id"] for dc in second.records("dashboard_cards")} == \
        {d["id"] for d in second.records("dashboards") if d["dashcards"]}
    for stream in UNCHANGED:  # no change there: only sync 1's boundary comes again
        assert_only_since(second, first, stream)

    emulator.clear_requests()
    third = sync(config, emulator.ca_bundle, incremental=True, state=second.final_states())
    log = emulator.requests()
    assert third.returncode == 0 and third.errors == [], third.stderr[-3000:]
    for stream in INCREMENTAL:  # nothing changed: only what is at or after the state comes again
        assert third.record_ids(stream) == updated_since(emulator, stream, cursor(second.stream_state(stream))), stream
    for stream in UNCHANGED:
        assert_only_since(third, second, stream)
        assert cursor(third.stream_state(stream) or second.stream_state(stream)) == cursor(second.stream_state(stream))
    assert list_calls(log) in (1, 2)
    assert detail_calls(log) == len(third.records("dashboards")) <= len(boundary(second, "dashboards"))


@pytest.mark.parametrize("state", [
    {"__ab_no_cursor_state_message": True},  # what a full refresh sync leaves
    {},
    {"updated_at": "2019-01-01T00:00:00Z"},  # another format of the same cursor
    {"states": [{"partition": {"id": 1}, "cursor": {"updated_at": "2019-01-01T00:00:00Z"}}]},  # per partition
])
def test_a_state_left_by_another_sync_mode_or_version_reads_everything(emulators, state):
    emulator = emulators("v0.50")
    streams = ["cards", "dashboards", "users"]
    states = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": state}}
              for name in streams]
    run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=streams, incremental=True, state=states)
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    for stream in streams:
        assert run.record_ids(stream) == id_order(emulator.expected_ids(stream, "admin")), stream


def test_a_future_state_reads_nothing_but_keeps_its_state(emulators):
    emulator = emulators("v0.57")
    future = "2999-01-01T00:00:00.000000+0000"
    states = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": {"updated_at": future}}}
              for name in INCREMENTAL]
    run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=list(INCREMENTAL), incremental=True,
               state=states)
    assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
    assert run.records() == []
    assert detail_calls(emulator.requests()) == 0


@pytest.mark.parametrize("failing", ["dashboards", "cards"])
def test_a_sync_failing_midway_never_skips_what_it_did_not_emit(failing):
    emulator = start_emulator("v0.50", scale=Scale(cards=120, dashboards=30))
    try:
        config = make_config(emulator, "api_key", max_retries=0)
        first = sync(config, emulator.ca_bundle, incremental=True)
        assert first.returncode == 0, first.stderr[-3000:]
        edited = emulator.edit(failing, visible_ids(emulator, failing, 4))
        # The last of the edited dashboards' detail calls, or the card list, answers 503 for good.
        target = rf"^/api/dashboard/{edited[-1]}$" if failing == "dashboards" else r"^/api/card$"
        emulator.configure(faults=FaultPlan(rate_503=1.0, paths=target, max_consecutive=1000))
        broken = sync(config, emulator.ca_bundle, incremental=True, state=first.final_states())
        assert broken.returncode != 0 and broken.errors
        assert broken.errors[0]["failure_type"] == "transient_error"
        # whatever state it left for the failing stream is no further than sync 1's
        left = broken.stream_state(failing)
        assert left is None or cursor(left) <= cursor(first.stream_state(failing))

        emulator.configure(faults=None)
        resumed_state = {s["stream"]["stream_descriptor"]["name"]: s for s in first.final_states()}
        resumed_state.update({s["stream"]["stream_descriptor"]["name"]: s for s in broken.final_states()})
        resumed = sync(config, emulator.ca_bundle, incremental=True, state=list(resumed_state.values()))
        assert resumed.returncode == 0 and resumed.errors == [], resumed.stderr[-3000:]
        assert set(edited) <= set(resumed.record_ids(failing))
    finally:
        emulator.stop()


def test_a_save_of_only_dashcards_brings_its_dashboard_again(emulators):
    """Such a save leaves the dashboard's updated_at (Metabase writes the dashcards as rows of
    their own) but is a revision of it: the list's last-edit-info tells the connector."""
    emulator = start_emulator("v0.57", scale=Scale(cards=120, dashboards=30))
    try:
        config = make_config(emulator, "api_key")
        first = sync(config, emulator.ca_bundle, streams=["dashboards"], incremental=True)
        assert first.returncode == 0, first.stderr[-3000:]
        dashboard = next(d for d in first.records("dashboards") if len(d["dashcards"]) >= 2)
        resized, removed = dashboard["dashcards"][0]["id"], dashboard["dashcards"][1]["id"]
        before = emulator.updated_at("dashboards", dashboard["id"])
        emulator.edit("dashboard_cards", [resized])
        emulator.delete("dashboard_cards", [removed])
        assert emulator.updated_at("dashboards", dashboard["id"]) == before
        emulator.clear_requests()

        second = sync(config, emulator.ca_bundle, streams=["dashboards"], incremental=True, state=first.final_states())
        assert second.returncode == 0 and second.errors == [], [(e["message"], e.get("stack_trace", "")[-2500:]) for e in second.errors]
        again = {d["id"]: d for d in second.records("dashboards")}
        assert dashboard["id"] in again
        cards = {dc["id"]: dc for dc in again[dashboard["id"]]["dashcards"]}
        assert removed not in cards
        assert cards[resized]["size_y"] == dashboard["dashcards"][0]["size_y"] + 1
        assert detail_calls(emulator.requests()) == len(again) <= 1 + len(boundary(first, "dashboards"))
    finally:
        emulator.stop()


def test_metabase_052_bumping_updated_at_on_views_resyncs_never_misses():
    """metabase#53687: on 0.52 a view stamps updated_at. Viewed questions come again; dashboards
    are chosen by their last revision, so the views of the connector's own detail calls cost
    nothing (but for dashboards without a revision), while an edit is still seen."""
    emulator = start_emulator("v0.52", scale=Scale(cards=120, dashboards=30))
    try:
        config = make_config(emulator, "api_key")
        first = sync(config, emulator.ca_bundle, incremental=True)
        assert first.returncode == 0 and first.errors == [], first.stderr[-3000:]
        viewed = emulator.view("cards", visible_ids(emulator, "cards", 3, skip=10))
        edited = emulator.edit("dashboards", visible_ids(emulator, "dashboards", 1, skip=3))
        emulator.clear_requests()

        second = sync(config, emulator.ca_bundle, incremental=True, state=first.final_states())
        log = emulator.requests()
        assert second.returncode == 0 and second.errors == [], [(e["message"], e.get("stack_trace", "")[-2500:]) for e in second.errors]
        assert set(viewed) <= set(second.record_ids("cards"))
        assert second.record_ids("cards") == updated_since(emulator, "cards", cursor(first.stream_state("cards")))
        # dashboards with no revision to date them fall back on updated_at: viewed, they come again
        unrevised = {d["id"] for d in current_rows(emulator, "dashboards") if not d.get("last-edit-info")}
        synced = set(second.record_ids("dashboards"))
        assert set(edited) | boundary(first, "dashboards") <= synced <= set(edited) | boundary(first, "dashboards") | unrevised
        assert detail_calls(log) == len(synced) < len(first.records("dashboards"))
    finally:
        emulator.stop()


def test_records_without_a_readable_updated_at_are_always_emitted():
    emulator = start_emulator("v0.50", scale=Scale(cards=60))
    try:
        cards, users = visible_ids(emulator, "cards", 2), visible_ids(emulator, "users", 1)
        dashboards, snippets = visible_ids(emulator, "dashboards", 1), visible_ids(emulator, "native_query_snippets", 1)
        emulator.configure(null_updated_at_ids={"cards": cards[:1], "native_query_snippets": snippets},
                           garbage_updated_at_ids={"cards": cards[1:], "users": users, "dashboards": dashboards})
        streams = ["cards", "users", "dashboards", "native_query_snippets"]
        # a state just after every readable timestamp (a future one would read nothing at all)
        newest = max(instant(r["updated_at"]) for stream in streams for r in current_rows(emulator, stream)
                     if instant(r.get("updated_at")))
        after = (newest + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f%z")
        states = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": {"updated_at": after}}}
                  for name in streams]
        run = sync(make_config(emulator, "api_key"), emulator.ca_bundle, streams=streams, incremental=True, state=states)
        assert run.returncode == 0 and run.errors == [], run.stderr[-3000:]
        assert run.record_ids("cards") == cards and run.record_ids("users") == users
        assert run.record_ids("native_query_snippets") == snippets
        assert {r.get("updated_at") for r in run.records("cards")} == {None, "0000-00-00T00:00:00"}
        # a dashboard's last revision still dates it: only the unreadable updated_at of its row is
        # read past, and it comes if its revision is unreadable too
        assert set(run.record_ids("dashboards")) <= set(dashboards)
    finally:
        emulator.stop()


def test_with_include_archived_an_archived_item_arrives_again_marked_archived():
    """Archiving stamps updated_at and moves the item to Metabase's archived lists: with
    include_archived the incremental read finds it there, so the destination learns it."""
    emulator = start_emulator("v0.57", scale=Scale(cards=120, dashboards=30))
    try:
        config = make_config(emulator, "api_key", include_archived=True)
        streams = ["cards", "dashboards", "native_query_snippets"]
        first = sync(config, emulator.ca_bundle, streams=streams, incremental=True)
        assert first.returncode == 0 and first.errors == [], first.stderr[-3000:]
        archived = {stream: emulator.archive(stream, visible_ids(emulator, stream, 1)) for stream in streams}
        second = sync(config, emulator.ca_bundle, streams=streams, incremental=True, state=first.final_states())
        assert second.returncode == 0 and second.errors == [], second.stderr[-3000:]
        for stream, ids in archived.items():
            assert ids, stream
            again = {r["id"]: r for r in second.records(stream)}
            assert all(again[i]["archived"] is True for i in ids), stream
    finally:
        emulator.stop()
