"""Benchmark: a full sync with the real connector CLI against the emulator, side by side with a
raw baseline measured in the same run (the same HTTPS requests with `requests`, each answer
parsed whole with orjson, one JSON line per record written to /dev/null).

    python -m integration_tests.bench --cards 3000 --cards 30000
    python -m integration_tests.bench --cards 3000 --json bench.json
    python -m integration_tests.bench --workers 1 --workers 4 --workers 8 --latency-ms 20

Not a test: it prints figures, it asserts nothing. Each side runs in its own process, so peak
RSS is that process's own, from the OS (wait4)."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

from integration_tests.connector import wait_with_usage, configured_catalog, discover_catalog, run_connector

KINDS = [("card", r"^/api/card$"), ("collection", r"^/api/collection$"),
         ("dashboard list", r"^/api/dashboard$"), ("dashboard detail", r"^/api/dashboard/\d+$"),
         ("user", r"^/api/user$"), ("database", r"^/api/database$"),
         ("snippet", r"^/api/native-query-snippet$"), ("table", r"^/api/table$"),
         ("group", r"^/api/permissions/group$"), ("login", r"^/api/session$")]


class EmulatorProcess:
    """The emulator in a process of its own, so that its CPU time is not the benchmark's."""

    def __init__(self, cards: int, latency_ms: int = 0, profile: str = "v0.57"):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "integration_tests.metabase_emulator", "--profile", profile,
             "--cards", str(cards), "--latency-ms", str(latency_ms), "--seed", "1"],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent,
        )
        started = json.loads(self.process.stdout.readline())
        self.base_url = started["base_url"]
        self.ca_bundle = started["ca_bundle"]
        self.api_key = started["credentials"]["admin_api_key"]
        self.control = requests.Session()
        self.control.trust_env = False  # else the machine's REQUESTS_CA_BUNDLE beats `verify`
        self.control.verify = self.ca_bundle

    def requests_by_kind(self) -> dict:
        log = self.control.get(self.base_url + "/__emulator__/requests").json()
        counts = Counter()
        for entry in log:
            kind = next((name for name, pattern in KINDS if re.match(pattern, entry["path"])), "other")
            counts[kind] += 1
        return dict(counts), sum(entry["bytes"] for entry in log)

    def clear(self) -> None:
        self.control.post(self.base_url + "/__emulator__/requests/clear")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def raw_baseline(base_url: str, api_key: str, ca_bundle: str) -> None:
    """The same requests as a sync, sequentially, parsed whole with orjson (runs in a child)."""
    import orjson

    session = requests.Session()
    session.trust_env = False  # else the machine's REQUESTS_CA_BUNDLE beats `verify`
    session.verify = ca_bundle
    session.headers["X-API-Key"] = api_key
    api = base_url + "/api/"
    with open(os.devnull, "wb") as sink:
        def emit(records):
            for record in records:
                sink.write(orjson.dumps(record) + b"\n")

        def get(path, **params):
            response = session.get(api + path, params=params)
            response.raise_for_status()
            return orjson.loads(response.content)

        emit(get("card", f="all"))
        emit(get("collection"))
        for dashboard in get("dashboard", f="all"):
            emit([get(f"dashboard/{dashboard['id']}")])
        offset = 0
        while True:
            page = get("user", status="all", limit=1000, offset=offset)["data"]
            emit(page)
            if len(page) < 1000:
                break
            offset += 1000
        emit(get("database")["data"])
        emit(get("native-query-snippet"))
        emit(get("table"))
        emit(get("permissions/group"))


def measure_raw(emulator: EmulatorProcess) -> dict:
    emulator.clear()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.bench", "--raw", emulator.base_url, emulator.api_key,
         emulator.ca_bundle], cwd=Path(__file__).resolve().parent.parent,
    )
    _, status, usage = wait_with_usage(process, 3600)
    wall = time.monotonic() - started
    assert os.waitstatus_to_exitcode(status) == 0, "the raw baseline failed"
    kinds, body = emulator.requests_by_kind()
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "requests": kinds, "body_mb": body / 1e6}


def measure_connector(emulator: EmulatorProcess, workers: int, streams=None) -> dict:
    config = {"instance_api_url": emulator.base_url + "/api/", "api_key": emulator.api_key,
              "num_workers": workers}
    catalog = configured_catalog(discover_catalog(), streams)
    emulator.clear()
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        started = time.monotonic()
        run = run_connector("read", config, catalog, ca_bundle=emulator.ca_bundle, stdout_path=Path(out.name))
        wall = time.monotonic() - started
        records = Counter()
        with open(out.name, "rb") as lines:
            for line in lines:
                if line.startswith(b'{"type":"RECORD"'):
                    records[json.loads(line)["record"]["stream"]] += 1
    assert run.returncode == 0, run.stderr[-2000:]
    kinds, body = emulator.requests_by_kind()
    return {"wall_s": wall, "peak_rss_mb": run.max_rss_kb / 1024, "requests": kinds, "body_mb": body / 1e6,
            "records": dict(records)}


def full_sync_rows(cards: int, workers: int) -> dict:
    emulator = EmulatorProcess(cards)
    try:
        measure_raw(emulator)  # warm-up: the emulator builds and caches its answers
        ours = measure_connector(emulator, workers)
        raw = measure_raw(emulator)
    finally:
        emulator.stop()
    records = sum(ours["records"].values())
    for side in (ours, raw):
        side["records_per_s"] = records / side["wall_s"]
        side["mb_per_s"] = side["body_mb"] / side["wall_s"]
    return {"cards": cards, "workers": workers, "records": records, "ours": ours, "raw": raw,
            "ratio_wall": ours["wall_s"] / raw["wall_s"], "ratio_rss": ours["peak_rss_mb"] / raw["peak_rss_mb"]}


def print_full_sync(row: dict) -> None:
    print(f"\n{row['cards']} cards, {row['records']} records, num_workers={row['workers']}")
    print(f"{'':10}{'wall s':>9}{'records/s':>11}{'MB/s':>8}{'body MB':>9}{'peak RSS MB':>13}  requests")
    for name in ("ours", "raw"):
        side = row[name]
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(side["requests"].items()))
        print(f"{name:10}{side['wall_s']:>9.2f}{side['records_per_s']:>11.0f}{side['mb_per_s']:>8.1f}"
              f"{side['body_mb']:>9.1f}{side['peak_rss_mb']:>13.0f}  {kinds}")
    print(f"{'ours/raw':10}{row['ratio_wall']:>9.2f}{'':>28}{row['ratio_rss']:>13.2f}")


def workers_rows(cards: int, workers_list: list, latency_ms: int) -> list:
    emulator = EmulatorProcess(cards, latency_ms=latency_ms)
    try:
        measure_connector(emulator, 2, ["dashboards"])  # warm-up
        rows = []
        for workers in workers_list:
            result = measure_connector(emulator, workers, ["dashboards"])
            rows.append({"workers": workers, "wall_s": result["wall_s"],
                         "requests": result["requests"], "records": result["records"].get("dashboards", 0)})
    finally:
        emulator.stop()
    return rows


def print_workers(rows: list, latency_ms: int) -> None:
    print(f"\ndashboards stream only, emulator adding {latency_ms} ms per request")
    print(f"{'workers':>8}{'wall s':>9}{'dashboards':>12}{'requests':>10}{'speed-up':>10}")
    for row in rows:
        print(f"{row['workers']:>8}{row['wall_s']:>9.2f}{row['records']:>12}{sum(row['requests'].values()):>10}"
              f"{rows[0]['wall_s'] / row['wall_s']:>10.2f}")


def main() -> int:
    for flag, mode in (("--incremental", "bench_incremental"), ("--soak", "soak")):  # other modes
        if flag in sys.argv[1:]:
            module = __import__(f"integration_tests.{mode}", fromlist=["main"])
            return module.main([arg for arg in sys.argv[1:] if arg != flag])
    if sys.argv[1:2] == ["--raw"]:
        raw_baseline(*sys.argv[2:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, action="append", help="scale(s) of full syncs (default 3000)")
    parser.add_argument("--num-workers", type=int, default=4, help="connector num_workers for full syncs")
    parser.add_argument("--workers", type=int, action="append", help="measure the dashboards stream at these")
    parser.add_argument("--latency-ms", type=int, default=20, help="emulator latency for --workers")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    report = {"machine": {"cpus": os.cpu_count()}, "full_syncs": [], "workers": []}
    if args.workers:
        report["workers"] = workers_rows(args.cards[0] if args.cards else 3000, args.workers, args.latency_ms)
        print_workers(report["workers"], args.latency_ms)
    else:
        for cards in args.cards or [3000]:
            row = full_sync_rows(cards, args.num_workers)
            report["full_syncs"].append(row)
            print_full_sync(row)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
