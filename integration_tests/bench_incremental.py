"""Benchmark mode `--incremental`: what an incremental sync saves after a full one, and what the
client-side filter costs a full sync. The real connector CLI against the emulator.

    make bench ARGS="--incremental --cards 30000 --latency-ms 20"
    make bench ARGS="--incremental --cards 3000 --latency-ms 0 --filter-runs 3"

Pair: a full sync (incremental catalog, no state); then 1% of cards and 1% of dashboards edited
and as many deleted for good through the emulator's change API; then an incremental sync with
the first one's state. Both side by side: wall, records, requests by kind, peak RSS,
incremental/full; the deletion records; and the size of the state each sync leaves (the ids of
every incremental stream's last complete listing, see components.py).
Filter cost (--filter-runs N): the `cards` stream alone, full refresh vs incremental without
state (the same records, each one also compared with the cursor), N runs each, alternating,
medians. Not a test: it prints figures (integration_tests/test_bench_modes.py checks them)."""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson
import requests

from integration_tests.connector import ROOT, configured_catalog, discover_catalog, key_of, run_connector

KINDS = [("card list", r"^/api/card$"), ("dashboard list", r"^/api/dashboard$"),
         ("dashboard detail", r"^/api/dashboard/\d+$"), ("login", r"^/api/session$")]


class EmulatorProcess:
    """The emulator in a process of its own, driven over its /__emulator__/ routes. Not in this
    process: Linux counts the parent's size at fork in a child's peak RSS (wait4's ru_maxrss),
    and an emulator of 30,000 cards is about a gigabyte."""

    def __init__(self, cards: int, latency_ms: float = 0, profile: str = "v0.57"):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "integration_tests.metabase_emulator", "--profile", profile,
             "--cards", str(cards), "--latency-ms", str(latency_ms), "--seed", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        started = json.loads(self.process.stdout.readline())
        self.base_url, self.ca_bundle = started["base_url"], started["ca_bundle"]
        self.credentials = started["credentials"]
        self.control = requests.Session()
        self.control.trust_env = False  # else the machine's REQUESTS_CA_BUNDLE beats `verify`
        self.control.verify = self.ca_bundle

    def _call(self, method: str, route: str, **kwargs):
        answer = self.control.request(method, f"{self.base_url}/__emulator__/{route}", timeout=600, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def requests(self) -> list:
        return self._call("GET", "requests")

    def clear_requests(self) -> None:
        self._call("POST", "requests/clear")

    def configure(self, **settings) -> None:
        self._call("POST", "settings", json=settings)

    def expected_ids(self, stream: str) -> list:
        return self._call("GET", "expected", params={"stream": stream})

    def edit(self, stream: str, ids: list) -> list:
        return self._call("POST", "changes", json={"action": "edit", "stream": stream, "ids": ids})["ids"]

    def delete(self, stream: str, ids: list) -> list:
        return self._call("POST", "changes", json={"action": "delete", "stream": stream, "ids": ids})["ids"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def start_emulator(cards: int, latency_ms: float = 0) -> EmulatorProcess:
    return EmulatorProcess(cards, latency_ms)


def api_key_config(emulator: EmulatorProcess, num_workers: int = 4, **options) -> dict:
    return {"instance_api_url": emulator.base_url + "/api/", "api_key": emulator.credentials["admin_api_key"],
            "num_workers": num_workers, **options}


def requests_by_kind(log: list) -> dict:
    counts = Counter({name: 0 for name, _ in KINDS})
    counts["other"] = 0
    for entry in log:
        counts[next((name for name, pattern in KINDS if re.match(pattern, entry["path"])), "other")] += 1
    return dict(counts)


def measure(emulator: EmulatorProcess, config: dict, streams=None, incremental: bool = False, state=None,
            digests: bool = False) -> dict:
    """One `read`, its output streamed from a file (at 30,000 cards it is about a gigabyte):
    records per stream, the last state per stream, and with digests=True a digest of every
    record's data by (stream, id)."""
    catalog = configured_catalog(discover_catalog(), streams, incremental)
    emulator.clear_requests()
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        started = time.monotonic()
        run = run_connector("read", config, catalog, ca_bundle=emulator.ca_bundle, stdout_path=Path(out.name),
                            state=state, timeout=3600)
        wall = time.monotonic() - started
        log = emulator.requests()
        records, deletions, states, contents = Counter(), Counter(), {}, {}
        with open(out.name, "rb") as lines:
            for line in lines:
                if line.startswith(b'{"type":"RECORD"'):
                    record = orjson.loads(line)["record"]
                    if "_ab_cdc_deleted_at" in record["data"]:
                        deletions[record["stream"]] += 1
                        continue
                    records[record["stream"]] += 1
                    if digests:
                        key = key_of(record["stream"], record["data"])
                        contents.setdefault(record["stream"], []).append(
                            (key, hash(orjson.dumps(record["data"], option=orjson.OPT_SORT_KEYS))))
                elif line.startswith(b'{"type":"STATE"'):
                    message = orjson.loads(line)["state"]
                    states[message["stream"]["stream_descriptor"]["name"]] = message
                elif line.startswith(b'{"type":"TRACE"') and b'"ERROR"' in line:
                    print(line[:2000].decode(errors="replace"), file=sys.stderr)
    if run.returncode != 0:
        raise RuntimeError(f"the sync failed ({run.returncode}): {run.stderr[-2000:]}")
    details = [e for e in log if re.match(r"^/api/dashboard/\d+$", e["path"])]
    result = {"wall_s": wall, "peak_rss_mb": run.max_rss_kb / 1024, "records": dict(records),
              "records_total": sum(records.values()), "requests": requests_by_kind(log), "requests_total": len(log),
              "detail_ids": len({e["path"] for e in details}), "states": list(states.values()),
              "deletions": dict(deletions), "state_bytes": {name: len(orjson.dumps(message["stream"]["stream_state"]))
                                                           for name, message in states.items()}}
    if digests:
        result["contents"] = contents
    return result


def pair(cards: int, latency_ms: float, fraction: float = 0.01, num_workers: int = 4) -> dict:
    emulator = start_emulator(cards, latency_ms)
    try:
        config = api_key_config(emulator, num_workers)
        full = measure(emulator, config, incremental=True)
        card_ids = emulator.expected_ids("cards")
        dashboard_ids = emulator.expected_ids("dashboards")
        edited_cards = emulator.edit("cards", every(card_ids, fraction))
        edited_dashboards = emulator.edit("dashboards", every(dashboard_ids, fraction))
        # as many others deleted for good
        deleted_cards = emulator.delete("cards", every(others(card_ids, edited_cards), fraction, len(card_ids)))
        deleted_dashboards = emulator.delete(
            "dashboards", every(others(dashboard_ids, edited_dashboards), fraction, len(dashboard_ids)))
        incremental = measure(emulator, config, incremental=True, state=full.pop("states"))
        incremental.pop("states")
    finally:
        emulator.stop()
    return {"cards": cards, "dashboards": len(dashboard_ids), "latency_ms": latency_ms, "num_workers": num_workers,
            "edited": {"cards": len(edited_cards), "dashboards": len(edited_dashboards)},
            "deleted": {"cards": len(deleted_cards), "dashboards": len(deleted_dashboards)},
            "full": full, "incremental": incremental, "ratio_wall": incremental["wall_s"] / full["wall_s"],
            "ratio_requests": incremental["requests_total"] / full["requests_total"],
            "ratio_records": incremental["records_total"] / full["records_total"]}


def every(ids: list, fraction: float, of: int = 0) -> list:
    """That fraction of the ids (or of `of` ids; at least one), spread evenly over them."""
    count = max(1, round((of or len(ids)) * fraction))
    return [ids[i * len(ids) // count] for i in range(count)]


def others(ids: list, taken: list) -> list:
    taken = set(taken)
    return [ident for ident in ids if ident not in taken]


def print_sides(row: dict, names: tuple, width: int) -> None:
    """Two syncs side by side: wall, records, peak RSS and requests by kind."""
    kinds = list(row[names[0]]["requests"])
    print(f"{'':{width}}{'wall s':>9}{'records':>10}{'peak RSS MB':>13}" + "".join(f"{k:>18}" for k in kinds)
          + f"{'requests':>10}")
    for name in names:
        side = row[name]
        print(f"{name:{width}}{side['wall_s']:>9.2f}{side['records_total']:>10}{side['peak_rss_mb']:>13.0f}"
              + "".join(f"{side['requests'][k]:>18}" for k in kinds) + f"{side['requests_total']:>10}")


def print_pair(row: dict) -> None:
    print(f"\n{row['cards']} cards, {row['dashboards']} dashboards, emulator adding {row['latency_ms']} ms per request, "
          f"num_workers={row['num_workers']}; edited between the syncs: {row['edited']['cards']} cards, "
          f"{row['edited']['dashboards']} dashboards")
    print_sides(row, ("full", "incremental"), 13)
    kinds = list(row["full"]["requests"])
    full, inc = row["full"], row["incremental"]
    print(f"{'incr/full':13}{row['ratio_wall']:>9.2f}{row['ratio_records']:>10.3f}"
          f"{inc['peak_rss_mb'] / full['peak_rss_mb']:>13.2f}"
          + "".join(f"{inc['requests'][k] / max(1, full['requests'][k]):>18.3f}" for k in kinds)
          + f"{row['ratio_requests']:>10.3f}")
    # `dashboards` and `dashboard_cards` share each GET /api/dashboard/:id: one per dashboard read.
    details, ids = inc["requests"]["dashboard detail"], inc["detail_ids"]
    print(f"incremental dashboard details: {details} requests for {ids} dashboards "
          f"({details / max(1, ids):.1f} per dashboard); bound 1% of D + 5 = {0.01 * row['dashboards'] + 5:.0f}")
    print("records per stream, full -> incremental: " + ", ".join(
        f"{s} {n} -> {inc['records'].get(s, 0)}" for s, n in sorted(full["records"].items())))
    print(f"deleted between the syncs: {row['deleted']['cards']} cards, {row['deleted']['dashboards']} dashboards; "
          "deletion records: " + (", ".join(f"{s} {n}" for s, n in sorted(inc["deletions"].items())) or "none"))
    for name in ("full", "incremental"):
        sizes = row[name]["state_bytes"]
        print(f"state after the {name} sync: {sum(sizes.values()) / 1024:.1f} KB in all; "
              + ", ".join(f"{s} {n / 1024:.1f}" for s, n in sorted(sizes.items(), key=lambda kv: -kv[1]) if n > 200))


def filter_cost(cards: int, runs: int, num_workers: int = 4) -> dict:
    emulator = start_emulator(cards)
    try:
        config = api_key_config(emulator, num_workers)
        measure(emulator, config, ["cards"])  # warm-up: the emulator builds and caches its answers
        walls = {"full_refresh": [], "incremental_no_state": []}
        records = {}
        for _ in range(runs):
            for name, incremental in (("full_refresh", False), ("incremental_no_state", True)):
                result = measure(emulator, config, ["cards"], incremental=incremental)
                walls[name].append(result["wall_s"])
                records[name] = result["records_total"]
    finally:
        emulator.stop()
    medians = {name: statistics.median(values) for name, values in walls.items()}
    return {"cards": cards, "runs": runs, "walls": walls, "medians": medians, "records": records,
            "overhead": medians["incremental_no_state"] / medians["full_refresh"] - 1}


def print_filter_cost(row: dict) -> None:
    print(f"\n`cards` alone, {row['cards']} cards, {row['runs']} runs each (alternating), no added latency")
    for name, values in row["walls"].items():
        spread = (max(values) - min(values)) / row["medians"][name]
        print(f"{name:22} records {row['records'][name]:>7}  median {row['medians'][name]:7.2f} s  runs "
              + ", ".join(f"{v:.2f}" for v in values) + f"  (spread {spread:.0%} of the median)")
    print(f"client-side filter cost: {row['overhead']:+.1%} (target <= +10%)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, action="append", help="scale(s) (default 3000)")
    parser.add_argument("--latency-ms", type=float, action="append", help="emulator latency(ies), default 20")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--fraction", type=float, default=0.01, help="share of cards and dashboards edited")
    parser.add_argument("--filter-runs", type=int, default=0, help="also measure the filter cost, N runs each")
    parser.add_argument("--no-pair", action="store_true", help="only the filter cost")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)

    report = {"machine": {"cpus": os.cpu_count()}, "pairs": [], "filter_cost": []}
    for cards in args.cards or [3000]:
        if not args.no_pair:
            for latency_ms in args.latency_ms or [20]:
                row = pair(cards, latency_ms, args.fraction, args.num_workers)
                report["pairs"].append(row)
                print_pair(row)
        if args.filter_runs:
            row = filter_cost(cards, args.filter_runs, args.num_workers)
            report["filter_cost"].append(row)
            print_filter_cost(row)
        sys.stdout.flush()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
