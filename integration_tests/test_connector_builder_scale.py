"""The Connector Builder on a bigger instance (3,000 cards, Metabase 0.64 Enterprise): the real manifest server's test_read
of every stream with the Builder's default limits (100 records, 5 pages, 5 slices), its answer's
size, time and the server's peak memory (integration_tests/builder_scale.py measures 30,000).

What CDK 7.39.1 gives: a page is Metabase's whole answer, body included, whatever the record
limit; GET /api/card answers every card in one page (docs/metabase.md, "Connector Builder").
The first test holds that bound (it fails if an answer grows beyond it); the second is the bound
the Builder needs, at most `record_limit` records a page in bounded size, time and memory, which
this worktree's components.py does not meet: a strict xfail, so it fails (XPASS) the day it is
met, and its marker must go."""

import pytest

from integration_tests.bench import EmulatorProcess
from integration_tests.builder_scale import LIMITS, measure
from integration_tests.connector import STREAMS

MB = 1e6
# Big answers last: one server serves every stream, and memory a read took stays with it.
ORDER = [s for s in STREAMS if s not in ("cards", "collections")] + ["collections", "cards"]


@pytest.fixture(scope="module")
def reads():
    emulator = EmulatorProcess(3000, profile="v0.64", settings={"edition": "ee"})  # every stream has records
    try:
        rows = measure(emulator, ORDER, fresh_server=False, quiet=True)
    finally:
        emulator.stop()
    return {row["stream"]: row for row in rows}


@pytest.mark.parametrize("stream", ORDER)
def test_test_read_answers_at_most_metabases_pages(reads, stream):
    """Today's bound: an answer is at most the pages Metabase sent (bodies, and their records
    once more), in time and memory proportional to them."""
    row = reads[stream]
    assert row["status"] == 200, row.get("error")
    assert row["errors"] == []
    body = row["metabase_body_bytes"]
    assert 0 < row["records"] and row["pages"] <= LIMITS["page_limit"] * LIMITS["slice_limit"]
    assert row["answer_bytes"] <= 2.5 * body + 2 * MB
    assert row["server_peak_rss_mb"] - row["server_idle_rss_mb"] <= 25 * body / MB + 150
    assert row["seconds"] <= 0.6 * body / MB + 15


@pytest.mark.xfail(strict=True, reason="CDK 7.39.1's test_read shows whole pages: GET /api/card is one page "
                   "of every card (see the report for the components.py change that bounds it)")
def test_test_read_stays_within_the_record_limit_for_every_stream(reads):
    over = {stream: (row["max_page_records"], round(row["answer_bytes"] / MB, 1),
                     round(row["server_peak_rss_mb"] - row["server_idle_rss_mb"]), round(row["seconds"], 1))
            for stream, row in reads.items()
            if row["max_page_records"] > LIMITS["record_limit"] or row["answer_bytes"] > 5 * MB
            or row["server_peak_rss_mb"] - row["server_idle_rss_mb"] > 200 or row["seconds"] > 10}
    assert over == {}, "stream: (records in a page, answer MB, server MB, s)"
