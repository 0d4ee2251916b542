"""Benchmark mode `--query-log`: the Enterprise query log (`query_executions`), whose months come
as one unpaged JSON array each (millions of rows on a busy Metabase), read by the connector beside
a raw baseline in the same run: the same requests with `requests`, each answer parsed whole with
orjson, one JSON line per row written to /dev/null.

    make bench ARGS="--query-log 200000 --runs 2"

The emulator (v0.64, Enterprise with the audit app, in a process of its own) holds ROWS rows in
the current month; both sides ask the months a first sync asks (the current one and the two
before). Printed per side: wall, CPU, rows, body MB, peak RSS (the process's own, from wait4),
and ours/raw. Not a test: it prints figures (integration_tests/test_bench_modes.py checks them)."""

import argparse
import json
import os
import statistics
import sys
from datetime import datetime, timezone

import requests

from integration_tests.bench import EmulatorProcess, measure_connector, measure_raw_child

LOG = "ee/logs/query_execution/"


def first_sync_months(now: datetime) -> list:
    """The months a first sync reads by default: the current one and the two before."""
    months = []
    year, month = now.year, now.month
    for _ in range(3):
        months.insert(0, f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


def raw_log(base_url: str, api_key: str, ca_bundle: str, months: str) -> None:
    """Each month asked and parsed whole with orjson, one line per row to /dev/null (in a child)."""
    import orjson

    session = requests.Session()
    session.trust_env = False  # else the machine's REQUESTS_CA_BUNDLE beats `verify`
    session.verify = ca_bundle
    session.headers["X-API-Key"] = api_key
    rows = 0
    with open(os.devnull, "wb") as sink:
        for month in months.split(","):
            answer = session.get(f"{base_url}/api/{LOG}{month}")
            answer.raise_for_status()
            for row in orjson.loads(answer.content):
                sink.write(orjson.dumps(row) + b"\n")
                rows += 1
    print(json.dumps({"rows": rows}))


def measure_raw_log(emulator: EmulatorProcess, months: list) -> dict:
    result = measure_raw_child(emulator, "integration_tests.bench_query_log", ",".join(months))
    result["rows"] = result.pop("out")["rows"]
    return result


def query_log_rows(rows: int, runs: int) -> dict:
    settings = {"edition": "ee", "query_log_rows_per_month": rows, "query_log_months": 1}
    emulator = EmulatorProcess(60, profile="v0.64", settings=settings)
    months = first_sync_months(datetime.now(timezone.utc))
    try:
        measure_raw_log(emulator, months)  # warm-up
        pairs = []
        for _ in range(runs):  # interleaved, so that both sides see the same machine
            ours = measure_connector(emulator, 4, ["query_executions"])
            ours["rows"] = ours["records"].get("query_executions", 0)
            pairs.append({"ours": ours, "raw": measure_raw_log(emulator, months)})
    finally:
        emulator.stop()
    return {"rows": rows, "months": months, "runs": pairs}


def print_query_log(report: dict) -> None:
    runs = report["runs"]
    print(f"\nquery_executions: {report['rows']} rows in {report['months'][-1]}, months asked "
          f"{', '.join(report['months'])}, {len(runs)} runs each, interleaved")
    print(f"{'':10}{'wall s':>9}{'cpu s':>8}{'rows':>9}{'body MB':>9}{'peak RSS MB':>13}  runs (wall s)")
    medians = {}
    for name in ("ours", "raw"):
        sides = [pair[name] for pair in runs]
        medians[name] = {key: statistics.median(side[key] for side in sides) for key in ("wall_s", "cpu_s")}
        medians[name]["peak_rss_mb"] = max(side["peak_rss_mb"] for side in sides)
        print(f"{name:10}{medians[name]['wall_s']:>9.2f}{medians[name]['cpu_s']:>8.2f}{sides[0]['rows']:>9}"
              f"{sides[0]['body_mb']:>9.1f}{medians[name]['peak_rss_mb']:>13.0f}  "
              + " ".join(f"{side['wall_s']:.2f}" for side in sides))
    print(f"{'ours/raw':10}{medians['ours']['wall_s'] / medians['raw']['wall_s']:>9.2f}"
          f"{medians['ours']['cpu_s'] / medians['raw']['cpu_s']:>8.2f}{'':>18}"
          f"{medians['ours']['peak_rss_mb'] / medians['raw']['peak_rss_mb']:>13.2f}")
    print("(wall s and cpu s: medians; peak RSS: the highest of the runs)")
    report["medians"] = medians


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--raw"]:
        raw_log(*argv[1:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--query-log", type=int, default=200_000, metavar="ROWS", help="rows in the current month")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=argparse.FileType("w"), help="also write the figures as JSON")
    parser.add_argument("--cards", type=int, help=argparse.SUPPRESS)  # (the modes' common option: unused here)
    args = parser.parse_args(argv)
    report = query_log_rows(args.query_log, args.runs)
    print_query_log(report)
    if args.json:
        json.dump(report, args.json, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
