"""Deletion records: after an incremental sync A and a sync B with A's state, on content that was
edited, deleted and archived in between, a destination that applies both syncs as Airbyte's do
(integration_tests/destination.py) holds exactly Metabase's content, for every stream, with and
without faults; only a complete listing deletes; nothing more is read."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from integration_tests.conftest import PROFILES, expected_keys, make_config, start_emulator
from integration_tests.connector import DELETED_AT, discover_catalog, id_order, instant, sync
from integration_tests.destination import Destination
from integration_tests.metabase_emulator import FaultPlan, Scale

DASHBOARD_DETAIL = re.compile(r"^/api/dashboard/\d+$")
FAULTS = dict(rate_503=0.08, rate_429=0.04, retry_after=1, rate_drop=0.03, rate_500=0.02, rate_502=0.02)


def incremental_streams() -> set:
    return {s["name"] for s in discover_catalog()["streams"] if "incremental" in s["supported_sync_modes"]}


def all_streams() -> list:
    return [s["name"] for s in discover_catalog()["streams"]]


@pytest.fixture(params=PROFILES)
def changing_emulator(request):
    emulator = start_emulator(request.param, scale=Scale(cards=120, dashboards=30))
    yield emulator
    emulator.stop()


def auth_for(emulator) -> str:
    return "password" if emulator.profile.name == "v0.40" else "api_key"


def on_dashboards(emulator, cards):
    """Of these cards, those a live dashboard shows."""
    shown = {dc.card_id for d in emulator.model.dashboards.values() if not d.archived for dc in d.dashcards}
    return [c for c in cards if c in shown]


def change_everything(emulator) -> dict:
    """Between two syncs, as Metabase's users do: edits and additions, and content that goes away:
    questions deleted for good and archived (some of them on dashboards, whose dashcards then
    vanish from the dashboards' details without an edit of the dashboard), dashboards deleted,
    dashcards removed from dashboards, an archived segment and snippet, an ended membership; from
    0.60 an archived and a deleted document, a deleted transform, an archived measure."""
    visible = lambda stream: emulator.expected_ids(stream, "admin")  # noqa: E731
    cards = visible("cards")
    shown = on_dashboards(emulator, cards)
    gone = {
        "cards": emulator.delete("cards", shown[:2] + cards[-2:]) + emulator.archive("cards", shown[2:3] + cards[-4:-3]),
        "dashboards": emulator.delete("dashboards", visible("dashboards")[3:5]),
        "dashboard_cards": emulator.delete("dashboard_cards", visible("dashboard_cards")[-3:]),
        "native_query_snippets": emulator.archive("native_query_snippets", visible("native_query_snippets")[:1]),
        "segments": emulator.archive("segments", visible("segments")[-1:]),
        "permission_group_memberships": emulator.delete("permission_group_memberships",
                                                        visible("permission_group_memberships")[-1:]),
    }
    if emulator.profile.since(60):  # documents, transforms and measures: archived or deleted in the app
        gone["documents"] = emulator.archive("documents", visible("documents")[:1]) + \
            emulator.delete("documents", visible("documents")[-1:])
        gone["transforms"] = emulator.delete("transforms", visible("transforms")[:1])
        gone["measures"] = emulator.archive("measures", visible("measures")[:1])
    emulator.edit("cards", visible("cards")[:3])
    emulator.add("cards", 2)
    emulator.edit("dashboards", visible("dashboards")[:1])
    emulator.add("dashboard_cards", 1, dashboard_id=visible("dashboards")[1])
    emulator.edit("native_query_snippets", visible("native_query_snippets")[:1])
    assert all(gone.values()), gone
    return gone


def assert_mirrors(destination: Destination, emulator, viewer: str = "admin"):
    """The destination holds exactly what Metabase shows `viewer`, stream by stream, and each
    row of a list in its current version."""
    for stream in all_streams():
        assert destination.ids(stream) == set(expected_keys(emulator, stream, viewer)), stream
    for stream in ("cards", "dashboards", "native_query_snippets"):
        for key in destination.ids(stream):
            assert destination.row(stream, key)["updated_at"] == emulator.updated_at(stream, key), (stream, key)


def assert_deletion_records(run):
    for record in run.deletions():
        assert set(record) == {"id", DELETED_AT, "updated_at"}, record
        assert record["updated_at"] == record[DELETED_AT] and instant(record[DELETED_AT]) is not None
        assert record[DELETED_AT].endswith("Z")


def reads(log) -> Counter:
    return Counter(e["path"] for e in log if e["method"] == "GET" and not DASHBOARD_DETAIL.match(e["path"]))


def test_the_destination_mirrors_metabase_after_edits_deletes_and_archives(changing_emulator):
    emulator = changing_emulator
    config = make_config(emulator, auth_for(emulator))
    streams = incremental_streams()
    first = sync(config, emulator.ca_bundle, incremental=True)
    assert first.returncode == 0 and first.errors == [], first.stderr[-3000:]
    assert first.deletions() == []  # no state: nothing held before
    first_reads = reads(emulator.requests())

    gone = change_everything(emulator)
    emulator.clear_requests()
    second = sync(config, emulator.ca_bundle, incremental=True, state=first.final_states())
    log = emulator.requests()
    assert second.returncode == 0 and second.errors == [], second.stderr[-3000:]
    assert_deletion_records(second)
    destination = Destination().load(first, streams).load(second, streams)
    assert_mirrors(destination, emulator)
    # What left, and only that, came as deletion records: the deleted and archived questions, the
    # deleted dashboards, the archived snippet and segment, and what went with them: the dashcards
    # of those questions and dashboards and the removed ones, the subscriptions of the deleted
    # dashboards, the alerts of the deleted questions, the documents, transforms and measures that
    # went (memberships: a full refresh stream).
    for stream in streams:
        left = set(first.record_ids(stream)) - set(expected_keys(emulator, stream))
        assert set(second.deleted_ids(stream)) == left, stream
    for stream in set(gone) - {"permission_group_memberships"}:  # (0.53+: a dashboard's questions go with it)
        assert set(gone[stream]) <= set(second.deleted_ids(stream)), stream
    assert set(gone["dashboard_cards"]) < set(second.deleted_ids("dashboard_cards"))
    # Nothing more is read: each list once, as in the first sync, and a detail per dashboard emitted.
    assert reads(log) == first_reads
    assert sum(1 for e in log if DASHBOARD_DETAIL.match(e["path"])) == len(second.records("dashboards"))
    # Deletion records move no cursor: the state is the newest updated_at emitted.
    for stream in streams:
        emitted = [instant(r["updated_at"]) for r in second.records(stream) if instant(r.get("updated_at"))]
        state = second.stream_state(stream)
        if emitted:
            assert instant(state["state"]["updated_at"]) <= max(emitted) or instant(state["state"]["updated_at"]) == \
                instant(first.stream_state(stream)["state"]["updated_at"]), stream

    emulator.clear_requests()
    third = sync(config, emulator.ca_bundle, incremental=True, state=second.final_states())
    assert third.returncode == 0 and third.errors == [], third.stderr[-3000:]
    assert third.deletions() == []  # nothing left since
    assert_mirrors(destination.load(third, streams), emulator)


@pytest.mark.parametrize("profile", ["v0.50"])
def test_a_sync_through_faults_gives_the_destination_a_clean_sync_gives(profile):
    emulator = start_emulator(profile, scale=Scale(cards=120, dashboards=30))
    try:
        config = make_config(emulator, "api_key")
        streams = incremental_streams()
        first = sync(config, emulator.ca_bundle, incremental=True)
        assert first.returncode == 0, first.stderr[-3000:]
        change_everything(emulator)
        emulator.configure(faults=FaultPlan(seed=5, **FAULTS))
        emulator.clear_requests()
        second = sync(config, emulator.ca_bundle, incremental=True, state=first.final_states())
        injected = Counter(e["fault"] for e in emulator.requests() if e["fault"])
        assert second.returncode == 0 and second.errors == [], second.stderr[-3000:]
        assert sum(injected.values()) >= 5, injected
        emulator.configure(faults=None)
        assert_mirrors(Destination().load(first, streams).load(second, streams), emulator)
    finally:
        emulator.stop()


def test_a_listing_that_failed_or_was_skipped_deletes_nothing_and_keeps_the_state():
    emulator = start_emulator("v0.57", scale=Scale(cards=120, dashboards=30))
    try:
        config = make_config(emulator, "api_key", max_retries=0)
        streams = incremental_streams()
        first = sync(config, emulator.ca_bundle, incremental=True)
        assert first.returncode == 0, first.stderr[-3000:]
        gone = change_everything(emulator)
        # The question list fails for good (503) and the segment list answers 404 (an endpoint
        # this Metabase would not have): neither listing is complete.
        emulator.configure(faults=FaultPlan(rate_503=1.0, paths=r"^/api/card$", max_consecutive=1000),
                           missing_paths={"/api/segment"})
        broken = sync(config, emulator.ca_bundle, incremental=True, state=first.final_states())
        assert broken.returncode != 0 and broken.errors
        assert broken.deletions("cards") == [] and broken.deletions("segments") == []
        # dashboard_cards cannot tell which questions left: the dashcards of the archived ones stay
        # on the dashboards it did not read again (on those it read, Metabase no longer shows them)
        deleted_dashcards = set(broken.deleted_ids("dashboard_cards"))
        assert not deleted_dashcards & set(emulator.expected_ids("dashboard_cards"))
        read_again = set(broken.record_ids("dashboards"))
        hidden = {dc.id for d in emulator.model.dashboards.values() if d.id not in read_again
                  for dc in d.dashcards if dc.card_id in gone["cards"]} & set(first.record_ids("dashboard_cards"))
        assert hidden and not deleted_dashcards & hidden
        for stream in ("cards", "segments"):
            kept = broken.stream_state(stream)
            assert kept is None or kept["parent_state"]["listing"] == first.stream_state(stream)["parent_state"]["listing"]
        # the other streams' complete listings still delete
        assert broken.deleted_ids("dashboards") == id_order(gone["dashboards"])
        assert broken.deleted_ids("native_query_snippets") == id_order(gone["native_query_snippets"])

        emulator.configure(faults=None, missing_paths=set())
        repaired = sync(config, emulator.ca_bundle, incremental=True, state=broken.final_states())
        assert repaired.returncode == 0 and repaired.errors == [], repaired.stderr[-3000:]
        assert set(gone["cards"]) <= set(repaired.deleted_ids("cards"))
        assert hidden <= set(repaired.deleted_ids("dashboard_cards"))
        assert repaired.deleted_ids("segments") == id_order(gone["segments"])
        destination = Destination()
        for run in (first, broken, repaired):
            destination.load(run, streams)
        assert_mirrors(destination, emulator)
    finally:
        emulator.stop()


def test_a_non_admin_deletes_what_it_can_list_and_nothing_where_it_is_refused():
    emulator = start_emulator("v0.50", scale=Scale(cards=120, dashboards=30))
    try:
        config = make_config(emulator, "api_key", viewer="analyst")
        streams = incremental_streams()
        first = sync(config, emulator.ca_bundle, incremental=True)
        assert first.returncode == 0, first.stderr[-3000:]
        readable = emulator.expected_ids("cards", "analyst_key")  # the key's hidden user: no personal collection
        emulator.delete("cards", readable[:2])
        emulator.deactivate(emulator.expected_ids("users", "admin")[-1:])
        second = sync(config, emulator.ca_bundle, incremental=True, state=first.final_states())
        assert second.returncode == 0 and second.errors == [], second.stderr[-3000:]
        assert second.deleted_ids("cards") == id_order(readable[:2])
        assert second.deletions("users") == []  # 403: refused, not empty
        assert_mirrors(Destination().load(first, streams).load(second, streams), emulator, viewer="analyst_key")
    finally:
        emulator.stop()


@pytest.mark.parametrize("profile", ["v0.40", "v0.57"])
def test_what_comes_back_is_emitted_again(profile):
    """Restored content comes back as ordinary records, the dashcards of a restored question too
    (its dashboards are read again once: their visible content changed)."""
    emulator = start_emulator(profile, scale=Scale(cards=120, dashboards=30))
    try:
        restore_and_check(emulator)
    finally:
        emulator.stop()


def restore_and_check(emulator):
    config = make_config(emulator, auth_for(emulator))
    streams = incremental_streams()
    first = sync(config, emulator.ca_bundle, incremental=True)
    card = on_dashboards(emulator, emulator.expected_ids("cards", "admin"))[0]
    snippet = emulator.expected_ids("native_query_snippets", "admin")[0]
    emulator.archive("cards", [card])
    emulator.archive("native_query_snippets", [snippet])
    second = sync(config, emulator.ca_bundle, incremental=True, state=first.final_states())
    assert card in second.deleted_ids("cards") and snippet in second.deleted_ids("native_query_snippets")
    assert second.deleted_ids("dashboard_cards")
    emulator.unarchive("cards", [card])
    emulator.unarchive("native_query_snippets", [snippet])
    emulator.clear_requests()
    third = sync(config, emulator.ca_bundle, incremental=True, state=second.final_states())
    assert third.returncode == 0 and third.errors == [], third.stderr[-3000:]
    assert card in third.record_ids("cards") and snippet in third.record_ids("native_query_snippets")
    assert set(second.deleted_ids("dashboard_cards")) <= set(third.record_ids("dashboard_cards"))
    destination = Destination()
    for run in (first, second, third):
        destination.load(run, streams)
    assert_mirrors(destination, emulator)


def test_full_refresh_emits_no_deletion_record(emulators):
    emulator = emulators("v0.57")
    config = make_config(emulator, "api_key")
    first = sync(config, emulator.ca_bundle, incremental=True)
    # a full refresh with the same state: the platform sends none, and nothing is deleted
    full = sync(config, emulator.ca_bundle)
    assert full.returncode == 0 and full.deletions() == []
    assert {s: full.record_ids(s) for s in all_streams()} == {s: first.record_ids(s) for s in all_streams()}


# The final states of 4.1.0 (commit c90c43c) after a first incremental sync of every stream, taken
# from that release's own manifest and components.py against this emulator (v0.57, seed 7, 120
# cards, 30 dashboards): before deletion records, no state held a listing.
STATE_4_1_0 = Path(__file__).parent / "states" / "4.1.0.json"


def test_a_4_1_0_state_keeps_working_with_no_false_deletion():
    emulator = start_emulator("v0.57", scale=Scale(cards=120, dashboards=30))
    try:
        config = make_config(emulator, "api_key")
        states = json.loads(STATE_4_1_0.read_text())
        assert not any("listing" in json.dumps(s) for s in states)
        edited = emulator.edit("dashboards", emulator.expected_ids("dashboards", "admin")[:1])
        emulator.delete("cards", emulator.expected_ids("cards", "admin")[:1])
        upgraded = sync(config, emulator.ca_bundle, incremental=True, state=states)
        assert upgraded.returncode == 0 and upgraded.errors == [], upgraded.stderr[-3000:]
        assert upgraded.deletions() == []  # what the destination holds is not known yet: nothing deleted
        # the dashboards' last revisions in 4.1.0's state still decide: the edited one (and the
        # boundary), not every dashboard again
        read = {int(e["path"].rsplit("/", 1)[1]) for e in emulator.requests() if DASHBOARD_DETAIL.match(e["path"])}
        assert set(edited) <= read and len(read) <= 3, read
        # from now on the state holds the listing: the next deletions come as records
        gone = change_everything(emulator)
        after = sync(config, emulator.ca_bundle, incremental=True, state=upgraded.final_states())
        assert after.returncode == 0 and after.errors == [], after.stderr[-3000:]
        for stream in ("cards", "dashboards", "native_query_snippets", "segments"):
            assert set(gone[stream]) <= set(after.deleted_ids(stream)), stream
    finally:
        emulator.stop()
