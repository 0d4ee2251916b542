"""The benchmark modes `--incremental`, `--soak` and `--compare` at a tiny size: they run through
`bench.py`'s dispatch, and the figures they print agree with the emulator's model and with each
other."""

import json
import subprocess
import sys

from integration_tests.connector import ROOT, STREAMS
from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.metabase_emulator.model import CREDENTIALS

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
    # as many deleted for good, each a deletion record (the dashcards of both with them), none before
    deleted = row["deleted"]
    assert deleted == edited and full["deletions"] == {}
    # (on v0.57 a deleted dashboard takes its own questions with it)
    assert deleted["cards"] <= incremental["deletions"]["cards"] <= deleted["cards"] + 2
    assert incremental["deletions"]["dashboards"] == deleted["dashboards"]
    assert incremental["deletions"]["dashboard_cards"] >= 1
    # the state each sync leaves, measured per stream
    assert set(full["state_bytes"]) >= {"cards", "dashboards", "dashboard_cards"}
    assert f"state after the incremental sync: {sum(incremental['state_bytes'].values()) / 1024:.1f} KB" in done.stdout
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
    # every stream with records (open source 0.57 has no documents, transforms, measures or query log)
    assert set(row["streams"]) == set(STREAMS) - {"documents", "transforms", "measures", "query_executions"}
    for stream in ("cards", "dashboards", "dashboard_cards"):
        assert row["streams"][stream]["clean"] == row["streams"][stream]["faulted"] == expected[stream]
    # the faults and the expiry happened, and cost requests: retries, 401s, a second login
    assert sum(row["faults_served"].values()) > 0
    assert row["sessions_expired_after_requests"] is not None
    assert row["faulted"]["requests"]["login"] >= 2
    assert row["extra_requests"] == row["faulted"]["requests_total"] - row["clean"]["requests_total"] > 0


def test_compare_mode_runs_every_side_on_the_same_data_with_the_requests_each_must_send(tmp_path):
    """Ours, 3.0.0 (fb17d09, extracted with git show), Airbyte's 2.0.13 manifest (its wheel
    cached in .tmp/) and the raw baseline, both scenarios, one round."""
    done, report = run_bench(tmp_path, "--compare", "--cards-only", str(CARDS), "--runs", "1", "--against", "fb17d09")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    emulator = Emulator(profile="v0.57", seed=1, scale=Scale(cards=CARDS))
    seed_streams = ["cards", "collections", "dashboards", "users", "databases", "native_query_snippets"]
    expected = {stream: len(emulator.expected_ids(stream)) for stream in seed_streams}
    dashboards, collections = expected["dashboards"], expected["collections"]
    ours, old, airbyte = "ours", "fb17d09 (3.0.0)", "Airbyte 2.0.13"

    seed = report["compare"]["seed"]
    assert list(seed["sides"]) == [ours, old, airbyte, "raw"]
    assert seed["config_keys"] == {ours: ["api_key", "instance_api_url", "num_workers"],
                                   old: ["api_key", "instance_api_url", "num_workers"],
                                   airbyte: ["instance_api_url", "password", "username"]}
    # ours and 3.0.0: one request per list, users active and deactivated, one detail per dashboard
    for name in (ours, old):
        assert seed["sides"][name]["records"] == expected
        assert seed["sides"][name]["requests"] == {"card": 1, "collection": 1, "dashboard list": 1,
                                                   "dashboard detail": dashboards, "user": 2, "database": 1,
                                                   "snippet": 1, **({"version": 1} if name == ours else {})}
    # Airbyte's: dashboards through every collection's items (its collections read twice: the
    # stream and the dashboards' parent), active users only, logged in with the password
    assert seed["sides"][airbyte]["records"] == dict(expected, users=sum(u.is_active for u in emulator.model.people()))
    requests = dict(seed["sides"][airbyte]["requests"])
    assert requests.pop("login") >= 1
    assert requests == {"card": 1, "collection": 2, "collection items": collections, "dashboard detail": dashboards,
                        "user": 1, "database": 1, "snippet": 1}
    assert seed["sides"]["raw"]["records"] == expected
    assert seed["sides"]["raw"]["requests"] == {"card": 1, "collection": 1, "dashboard list": 1,
                                                "dashboard detail": dashboards, "user": 1, "database": 1, "snippet": 1}
    (round_,) = seed["rounds"]
    for name in (ours, old, airbyte):
        side = round_[name]
        assert abs(side["beyond_s"] - (side["wall_s"] - side["startup_s"])) < 1e-9  # one round: its start-up
        assert abs(side["cpu_beyond_s"] - (side["cpu_s"] - side["startup_cpu_s"])) < 1e-9
        assert abs(side["per_airbyte"] - side["beyond_s"] / round_[airbyte]["beyond_s"]) < 1e-9
        assert seed["sides"][name]["wall_s"]["median"] == side["wall_s"]
    for name in (ours, old, airbyte, "raw"):
        assert round_[name]["cpu_s"] > 0 and round_[name]["peak_rss_mb"] > 0 and round_[name]["body_mb"] > 0
    assert f"ours / Airbyte beyond start-up: {round_[ours]['per_airbyte']:.2f} wall (target <= 0.65)" in done.stdout

    cards = report["compare"]["cards_only"]
    assert list(cards["sides"]) == ["parse", "startup", ours, old, airbyte, "raw", "floor"]
    (round_,) = cards["rounds"]
    floor = round_["parse"]["wall_s"] + round_["startup"]["wall_s"]
    assert round_["floor"]["wall_s"] == floor
    assert round_["parse"]["records"] == expected["cards"]
    for name in (ours, old, airbyte, "raw"):
        assert round_[name]["records"] == {"cards": expected["cards"]}
        assert abs(round_[name]["per_floor"] - round_[name]["wall_s"] / floor) < 1e-9
    for name in (ours, old, "raw"):  # (ours also asks which Metabase it is, once)
        assert round_[name]["requests"] == {"card": 1, **({"version": 1} if name == ours else {})}
    assert round_[airbyte]["requests"] == {"card": 1, "login": 1}
    assert (f"ours / floor: {round_[ours]['per_floor']:.2f} (target <= 1.3); "
            f"ours peak RSS {round_[ours]['peak_rss_mb']:.0f} MB") in done.stdout
    # the emulator's credentials (fake, but credentials) appear in neither the output nor the figures
    figures = (tmp_path / "figures.json").read_text()
    for secret in (CREDENTIALS["admin_password"], CREDENTIALS["admin_api_key"]):
        assert secret not in done.stdout + done.stderr and secret not in figures


def test_query_log_mode_reads_every_row_beside_the_raw_baseline(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "integration_tests.bench", "--query-log", "500", "--runs", "1",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    (pair,) = report["runs"]
    assert pair["ours"]["rows"] == pair["raw"]["rows"] == 500  # the month's rows, on both sides
    assert len(report["months"]) == 3 and pair["ours"]["body_mb"] >= pair["raw"]["body_mb"] > 0
    ratio = report["medians"]["ours"]["peak_rss_mb"] / report["medians"]["raw"]["peak_rss_mb"]
    assert f"{ratio:>13.2f}" in done.stdout.splitlines()[-2]
