"""The benchmark modes `--incremental` and `--soak` at a tiny size: they run through
`bench.py`'s dispatch, and the figures they print agree with the emulator's model and with each
other."""

import json
import subprocess
import sys

from integration_tests.connector import ROOT, STREAMS
from integration_tests.metabase_emulator import Emulator, Scale

CARDS = 120


def run_bench(tmp_path, *args) -> tuple:
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "integration_tests.bench", *args, "--cards", str(CARDS),
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return done, json.loads(out.read_text()) if out.exists() else None


def model_counts() -> dict:
    """What the benchmark's emulator (v0.57, seed 1) holds, from the model itself."""
    emulator = Emulator(profile="v0.57", seed=1, scale=Scale(cards=CARDS))
    return {stream: len(emulator.expected_ids(stream)) for stream in ("cards", "dashboards", "dashboard_cards")}


def test_incremental_mode_reads_what_was_edited_and_prints_consistent_ratios(tmp_path):
    done, report = run_bench(tmp_path, "--incremental", "--latency-ms", "0", "--filter-runs", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    expected = model_counts()
    (row,) = report["pairs"]
    full, incremental = row["full"], row["incremental"]
    assert full["records"]["cards"] == expected["cards"]
    assert full["records"]["dashboards"] == expected["dashboards"] == row["dashboards"]
    assert full["records"]["dashboard_cards"] == expected["dashboard_cards"]
    # the full sync asks every dashboard's details once, for both dashboard streams
    assert full["requests"]["dashboard detail"] == expected["dashboards"]
    assert full["requests"]["card list"] == incremental["requests"]["card list"] == 1
    # 1% edited (at least one of each): read again, with at most the boundary records besides
    edited = row["edited"]
    assert edited == {"cards": max(1, round(expected["cards"] / 100)),
                      "dashboards": max(1, round(expected["dashboards"] / 100))}
    assert edited["cards"] <= incremental["records"]["cards"] <= edited["cards"] + 2
    assert edited["dashboards"] <= incremental["records"]["dashboards"] <= edited["dashboards"] + 2
    assert incremental["requests"]["dashboard detail"] == incremental["records"]["dashboards"]
    for name in ("full", "incremental"):
        side = row[name]
        assert side["requests_total"] == sum(side["requests"].values())
        assert side["records_total"] == sum(side["records"].values())
        assert side["peak_rss_mb"] > 0
    assert abs(row["ratio_wall"] - incremental["wall_s"] / full["wall_s"]) < 1e-9
    assert abs(row["ratio_records"] - incremental["records_total"] / full["records_total"]) < 1e-9
    assert f"{row['ratio_wall']:.2f}" in done.stdout
    (cost,) = report["filter_cost"]
    assert cost["records"] == {"full_refresh": expected["cards"], "incremental_no_state": expected["cards"]}
    medians = cost["medians"]
    assert abs(cost["overhead"] - (medians["incremental_no_state"] / medians["full_refresh"] - 1)) < 1e-9


def test_soak_mode_finds_the_faulted_sync_identical_to_the_clean_one(tmp_path):
    done, report = run_bench(tmp_path, "--soak")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    expected = model_counts()
    (row,) = report["soaks"]
    assert row["identical"] is True and "records identical (ids and content, per stream): yes" in done.stdout
    assert set(row["streams"]) == set(STREAMS)
    for stream in ("cards", "dashboards", "dashboard_cards"):
        assert row["streams"][stream]["clean"] == row["streams"][stream]["faulted"] == expected[stream]
    # the faults and the expiry happened, and cost requests: retries, 401s, a second login
    assert sum(row["faults_served"].values()) > 0
    assert row["sessions_expired_after_requests"] is not None
    assert row["faulted"]["requests"]["login"] >= 2
    assert row["extra_requests"] == row["faulted"]["requests_total"] - row["clean"]["requests_total"] > 0
