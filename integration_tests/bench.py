"""Benchmark: a full sync with the real connector CLI against the emulator, side by side with a
raw baseline measured in the same run (the same HTTPS requests with `requests`, each answer
parsed whole with orjson, one JSON line per record written to /dev/null).

    python -m integration_tests.bench --cards 3000 --cards 30000
    python -m integration_tests.bench --cards 3000 --json bench.json
    python -m integration_tests.bench --workers 1 --workers 4 --workers 8 --latency-ms 20
    python -m integration_tests.bench --cards-only 30000 --runs 3 [--py-spy profiles/]
    python -m integration_tests.bench --compare --cards 3000 --against fb17d09 --runs 3
    python -m integration_tests.bench --compare --cards-only 30000 --against fb17d09 --runs 2
    python -m integration_tests.bench --query-log 200000 --runs 2

--cards-only measures, in the same run and interleaved: (a) a standalone streamed ijson parse of
the same GET /api/card answer, (b) the CDK's start-up (a read with an empty catalog), (c) the
connector's sync of the cards stream alone, and prints c / (a + b). With --py-spy, one more
cards-only sync runs under py-spy (pip install py-spy) and its top frames are printed.

--compare runs ours, earlier revisions (--against REV), Airbyte's 2.0.13 manifest and the raw
baseline side by side on one emulator (integration_tests/bench_compare.py).

Not a test: it prints figures, it asserts nothing. Each side runs in its own process, so peak
RSS is that process's own, from the OS (wait4)."""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Optional

import requests

from integration_tests.connector import (CLI, ROOT, Run, configured_catalog, connector_env, discover_catalog,
                                        run_connector, wait_with_usage)

KINDS = [("card", r"^/api/card$"), ("collection", r"^/api/collection$"),
         ("dashboard list", r"^/api/dashboard$"), ("dashboard detail", r"^/api/dashboard/\d+$"),
         ("collection items", r"^/api/collection/[^/]+/items$"), ("current user", r"^/api/user/current$"),
         ("user", r"^/api/user$"), ("database", r"^/api/database$"),
         ("snippet", r"^/api/native-query-snippet$"), ("table", r"^/api/table$"),
         ("group", r"^/api/permissions/group$"), ("login", r"^/api/session$"),
         ("version", r"^/api/session/properties$")]


class EmulatorProcess:
    """The emulator in a process of its own, so that its CPU time is not the benchmark's."""

    def __init__(self, cards: int, latency_ms: int = 0, profile: str = "v0.57", settings: Optional[dict] = None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "integration_tests.metabase_emulator", "--profile", profile,
             "--cards", str(cards), "--latency-ms", str(latency_ms), "--seed", "1",
             "--settings", json.dumps(settings or {})],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent,
        )
        started = json.loads(self.process.stdout.readline())
        self.base_url = started["base_url"]
        self.ca_bundle = started["ca_bundle"]
        self.credentials = started["credentials"]
        self.api_key = self.credentials["admin_api_key"]
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


def children_cpu_s() -> float:
    """User + system time of the children that ended: measured before and after one side, its own."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Connector:
    """A manifest, with its components.py if it has one, run by this venv's
    source-declarative-manifest CLI: the working tree's, an earlier revision's, or Airbyte's."""

    def __init__(self, name: str, manifest: Path, components: Optional[Path] = None, source: str = ""):
        self.name, self.manifest, self.components, self.source = name, manifest, components, source
        self.options = None  # the config keys its spec knows, read when first needed (not in the children)
        self.discovered = None

    def config(self, emulator: EmulatorProcess, workers: Optional[int] = None) -> dict:
        """The emulator's admin in a config this spec accepts: its API key where the spec has
        `api_key` (3.0.0 on), else username and password (Airbyte's 2.x)."""
        if self.options is None:
            import yaml  # here, not at the top: the raw and parse children import this module

            spec = yaml.safe_load(self.manifest.read_text())["spec"]["connection_specification"]
            self.options = set(spec.get("properties", {}))
        config = {"instance_api_url": emulator.base_url + "/api/"}
        if "api_key" in self.options:
            config["api_key"] = emulator.api_key
        else:
            config.update(username=emulator.credentials["admin_email"],
                          password=emulator.credentials["admin_password"])
        if workers and "num_workers" in self.options:
            config["num_workers"] = workers
        return config

    def catalog(self, emulator: EmulatorProcess, streams=None) -> dict:
        """Its own discovered streams (discovered once), those named in full refresh."""
        if self.discovered is None:
            run = self.run("discover", self.config(emulator), ca_bundle=emulator.ca_bundle)
            assert run.returncode == 0, f"{self.name}: discover failed: {run.stderr[-2000:]}"
            self.discovered = run.catalog
        return configured_catalog(self.discovered, streams)

    def run(self, command: str, config: dict, catalog: Optional[dict] = None, ca_bundle: Optional[str] = None,
            stdout_path: Optional[Path] = None, timeout: float = 3600) -> Run:
        """One CLI command; with stdout_path the output goes there and is not parsed."""
        return run_connector(command, config, catalog, ca_bundle=ca_bundle, timeout=timeout, stdout_path=stdout_path,
                             manifest=self.manifest, components=self.components)


OURS = Connector("ours", ROOT / "manifest.yaml", ROOT / "components.py", "the working tree's manifest.yaml")
RAW_STREAMS = ["cards", "collections", "dashboards", "users", "databases", "native_query_snippets", "tables",
               "permission_groups"]


def raw_baseline(base_url: str, api_key: str, ca_bundle: str, streams: str = ",".join(RAW_STREAMS)) -> None:
    """The same requests as a sync of those streams (comma-separated), sequentially, parsed whole
    with orjson (runs in a child). Prints the records per stream as JSON."""
    import orjson

    session = requests.Session()
    session.trust_env = False  # else the machine's REQUESTS_CA_BUNDLE beats `verify`
    session.verify = ca_bundle
    session.headers["X-API-Key"] = api_key
    api = base_url + "/api/"
    wanted = streams.split(",")
    records = Counter()
    with open(os.devnull, "wb") as sink:
        def emit(records_of_stream, stream):
            for record in records_of_stream:
                sink.write(orjson.dumps(record) + b"\n")
                records[stream] += 1

        def get(path, **params):
            response = session.get(api + path, params=params)
            response.raise_for_status()
            return orjson.loads(response.content)

        if "cards" in wanted:
            emit(get("card", f="all"), "cards")
        if "collections" in wanted:
            emit(get("collection"), "collections")
        if "dashboards" in wanted:
            for dashboard in get("dashboard", f="all"):
                emit([get(f"dashboard/{dashboard['id']}")], "dashboards")
        offset = 0
        while "users" in wanted:
            page = get("user", status="all", limit=1000, offset=offset)["data"]
            emit(page, "users")
            if len(page) < 1000:
                break
            offset += 1000
        for stream, path, envelope in (("databases", "database", "data"),
                                       ("native_query_snippets", "native-query-snippet", None),
                                       ("tables", "table", None), ("permission_groups", "permissions/group", None)):
            if stream in wanted:
                answer = get(path)
                emit(answer[envelope] if envelope else answer, stream)
    print(json.dumps({"records": records}))


def measure_raw_child(emulator: EmulatorProcess, module: str, what: str) -> dict:
    """A raw baseline (`python -m module --raw <emulator> what`) in a child of its own: wall, CPU,
    peak RSS, requests by kind, body MB, and the JSON it printed (`out`)."""
    emulator.clear()
    cpu = children_cpu_s()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--raw", emulator.base_url, emulator.api_key, emulator.ca_bundle, what],
        cwd=ROOT, stdout=subprocess.PIPE,
    )
    out = process.stdout.read()
    _, status, usage = wait_with_usage(process, 3600)
    wall = time.monotonic() - started
    assert os.waitstatus_to_exitcode(status) == 0, "the raw baseline failed"
    kinds, body = emulator.requests_by_kind()
    return {"wall_s": wall, "cpu_s": children_cpu_s() - cpu, "peak_rss_mb": usage.ru_maxrss / 1024,
            "requests": kinds, "body_mb": body / 1e6, "out": json.loads(out)}


def measure_raw(emulator: EmulatorProcess, streams=RAW_STREAMS) -> dict:
    result = measure_raw_child(emulator, "integration_tests.bench", ",".join(streams))
    result["records"] = result.pop("out")["records"]
    return result


def measure_connector(emulator: EmulatorProcess, workers: int, streams=None, connector: Connector = OURS) -> dict:
    """A sync whose output goes through a pipe, as on the platform, read and counted here as it
    comes (not to a file on disk, whose speed varies on a shared machine)."""
    config = connector.config(emulator, workers)
    catalog = connector.catalog(emulator, streams)
    emulator.clear()
    records = Counter()

    def count_records(pipe: int) -> None:
        with open(pipe, "rb") as lines:
            for line in lines:
                if line.startswith(b'{"type":"RECORD","record":{"stream":"'):
                    records[line[37:].partition(b'"')[0].decode()] += 1

    read_end, write_end = os.pipe()
    reader = threading.Thread(target=count_records, args=(read_end,))
    reader.start()
    cpu = children_cpu_s()
    started = time.monotonic()
    try:
        run = connector.run("read", config, catalog, ca_bundle=emulator.ca_bundle,
                            stdout_path=Path(f"/dev/fd/{write_end}"))
    finally:
        wall = time.monotonic() - started
        os.close(write_end)  # the child's copy is gone too: the reader sees the end
        reader.join()
    assert run.returncode == 0, f"{connector.name}: {run.stderr[-2000:]}"
    kinds, body = emulator.requests_by_kind()
    return {"wall_s": wall, "cpu_s": children_cpu_s() - cpu, "peak_rss_mb": run.max_rss_kb / 1024,
            "requests": kinds, "body_mb": body / 1e6, "records": dict(records)}


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


def parse_cards_alone(base_url: str, api_key: str, ca_bundle: str) -> None:
    """GET /api/card streamed into ijson with ijson's defaults, items counted, not kept (runs in a
    child). Prints its own wall time, from the request to the last item, as JSON."""
    import ijson

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle
    session.headers["X-API-Key"] = api_key
    started = time.monotonic()
    response = session.get(base_url + "/api/card", params={"f": "all"}, stream=True)
    response.raise_for_status()
    response.raw.decode_content = True
    records = sum(1 for _ in ijson.items(response.raw, "item", use_float=True))
    print(json.dumps({"wall_s": time.monotonic() - started, "records": records, "backend": ijson.backend}))


def measure_parse_alone(emulator: EmulatorProcess) -> dict:
    cpu = children_cpu_s()
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.bench", "--parse-cards", emulator.base_url, emulator.api_key,
         emulator.ca_bundle], cwd=ROOT, stdout=subprocess.PIPE,
    )
    out = process.stdout.read()
    _, status, usage = wait_with_usage(process, 3600)
    assert os.waitstatus_to_exitcode(status) == 0, "the standalone parse failed"
    return dict(json.loads(out), cpu_s=children_cpu_s() - cpu, peak_rss_mb=usage.ru_maxrss / 1024)


def measure_startup(emulator: EmulatorProcess, connector: Connector = OURS) -> dict:
    """The CDK's start-up: the connector reading an empty catalog (manifest, components, config)."""
    cpu = children_cpu_s()
    started = time.monotonic()
    run = connector.run("read", connector.config(emulator), {"streams": []}, ca_bundle=emulator.ca_bundle)
    wall = time.monotonic() - started
    assert run.returncode == 0, f"{connector.name}: {run.stderr[-2000:]}"
    return {"wall_s": wall, "cpu_s": children_cpu_s() - cpu, "peak_rss_mb": run.max_rss_kb / 1024, "records": 0}


def profile_cards_sync(emulator: EmulatorProcess, workers: int, out: Path) -> None:
    """One cards-only sync under py-spy (samples of the threads that run, at 200 Hz), raw format."""
    config = {"instance_api_url": emulator.base_url + "/api/", "api_key": emulator.api_key, "num_workers": workers}
    catalog = configured_catalog(discover_catalog(), ["cards"])
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text(json.dumps(config))
        (Path(tmp) / "catalog.json").write_text(json.dumps(catalog))
        command = [str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw", "--rate", "200", "--gil", "-o", str(out), "--", str(CLI), "read", "--manifest-path", str(ROOT / "manifest.yaml"),
                   "--components-path", str(ROOT / "components.py"), "--config", f"{tmp}/config.json",
                   "--catalog", f"{tmp}/catalog.json"]
        with open(os.devnull, "wb") as sink:
            subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, env=connector_env(emulator.ca_bundle),
                           cwd=tmp, check=True)


# Functions whose share of the samples (anywhere in the stack) the profile summary shows.
PROFILE_FUNCTIONS = [
    ("CDK start-up (imports, manifest)", ("_find_and_load", "create_declarative_source")),
    ("decoder, with ijson's C parser", ("JsonArrayStreamDecoder.decode",)),
    ("  its time.sleep(0)", ("time.sleep(0)",)),
    ("reading the socket (TLS)", ("SSLSocket.read",)),
    ("record transformations", ("AddFields.transform", "CardType.transform")),
    ("  Jinja render", ("Template.render",)),
    ("  ast.literal_eval of the result", ("literal_eval",)),
    ("CDK record to protocol message", ("stream_data_to_airbyte_message",)),
    ("message serialisation", ("AirbyteEntrypoint.airbyte_message_to_string",)),
    ("queue between threads: put", ("Queue.put",)),
    ("  waking the main thread", ("Condition.notify",)),
    ("writing stdout", ("PrintBuffer.flush", "PrintBuffer.write")),
]


def summarise_profile(path: Path, top: int = 12) -> dict:
    """Shares of the samples: the functions above anywhere in the stack, and the top frames
    (function and line) that were running."""
    components_lines = (ROOT / "components.py").read_text().splitlines()
    shares, own, total = Counter(), Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:  # a sample without any Python frame
            continue
        frames = [re.sub(r" \((?:.*/)?([^/:]+)(:\d+)?\)$", r" (\1\2)", frame) for frame in stack.split(";")]
        leaf = frames[-1]
        if leaf.startswith("JsonArrayStreamDecoder.decode (components.py:"):  # which line of ours
            number = int(leaf.rpartition(":")[2].rstrip(")"))
            if "time.sleep(0)" in components_lines[number - 1]:
                frames.append("time.sleep(0)")
        total += int(count)
        own[frames[-1]] += int(count)
        names = {frame.partition(" (")[0] for frame in frames}
        for label, functions in PROFILE_FUNCTIONS:
            if names.intersection(functions):
                shares[label] += int(count)
    return {"samples": total, "functions": [(label, shares[label] / total) for label, _ in PROFILE_FUNCTIONS],
            "self": [(frame, n / total) for frame, n in own.most_common(top)]}


def cards_only_rows(cards: int, runs: int, workers: int) -> list:
    sides = {"parse": measure_parse_alone, "startup": measure_startup,
             "sync": lambda emulator: measure_connector(emulator, workers, ["cards"])}
    emulator = EmulatorProcess(cards)
    try:
        measure_parse_alone(emulator)  # warm-up: the emulator builds and caches its answer
        OURS.catalog(emulator)  # discovered before measuring
        rows = []
        for _ in range(runs):  # interleaved, so that the machine's ups and downs reach all three
            row = {name: measure(emulator) for name, measure in sides.items()}
            row["sync"]["records"] = row["sync"]["records"].get("cards", 0)
            row["ratio"] = row["sync"]["wall_s"] / (row["parse"]["wall_s"] + row["startup"]["wall_s"])
            rows.append(row)
    finally:
        emulator.stop()
    return rows


def print_cards_only(cards: int, rows: list) -> None:
    def median(values):
        values = sorted(values)
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2

    print(f"\n{cards} cards, cards stream only, {len(rows)} runs (ijson backend {rows[0]['parse']['backend']})")
    print(f"{'':28}{'wall s':>8}  {'runs':<22}{'cpu s':>7}{'records':>9}{'peak RSS MB':>13}")
    names = [("parse", "(a) ijson parse, streamed"), ("startup", "(b) CDK start-up"), ("sync", "(c) cards-only sync")]
    for key, label in names:
        walls = [row[key]["wall_s"] for row in rows]
        cpu = median([row[key]["cpu_s"] for row in rows])
        rss = max(row[key]["peak_rss_mb"] for row in rows)
        print(f"{label:28}{median(walls):>8.2f}  {' '.join(f'{w:.2f}' for w in walls):<22}{cpu:>7.2f}"
              f"{rows[0][key]['records']:>9}{rss:>13.0f}")
    ratios = [row["ratio"] for row in rows]
    print(f"{'c / (a + b)':28}{median(ratios):>8.2f}  {' '.join(f'{r:.2f}' for r in ratios)}")
    print("(wall s and cpu s: medians; peak RSS: the highest of the runs)")


def print_profile(summary: dict) -> None:
    print(f"\npy-spy, {summary['samples']} samples of running threads; share of samples in")
    for label, share in summary["functions"]:
        print(f"  {share:6.1%}  {label}")
    print("frames running (self):")
    for frame, share in summary["self"]:
        print(f"  {share:6.1%}  {frame}")


def main() -> int:
    for flag, mode in (("--incremental", "bench_incremental"), ("--soak", "soak"), ("--compare", "bench_compare")):
        if flag in sys.argv[1:]:
            module = __import__(f"integration_tests.{mode}", fromlist=["main"])
            return module.main([arg for arg in sys.argv[1:] if arg != flag])
    if "--query-log" in sys.argv[1:]:  # (its flag takes a value: handed on whole)
        from integration_tests import bench_query_log

        return bench_query_log.main(sys.argv[1:])
    if sys.argv[1:2] == ["--raw"]:
        raw_baseline(*sys.argv[2:6])
        return 0
    if sys.argv[1:2] == ["--parse-cards"]:
        parse_cards_alone(*sys.argv[2:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, action="append", help="scale(s) of full syncs (default 3000)")
    parser.add_argument("--num-workers", type=int, default=4, help="connector num_workers for full syncs")
    parser.add_argument("--workers", type=int, action="append", help="measure the dashboards stream at these")
    parser.add_argument("--latency-ms", type=int, default=20, help="emulator latency for --workers")
    parser.add_argument("--cards-only", type=int, metavar="CARDS",
                        help="parse alone, CDK start-up and cards-only sync side by side at this scale")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side for --cards-only")
    parser.add_argument("--py-spy", type=Path, metavar="DIR",
                        help="with --cards-only: one more sync under py-spy, raw profile written here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    report = {"machine": {"cpus": os.cpu_count()}, "full_syncs": [], "workers": [], "cards_only": []}
    if args.cards_only:
        report["cards_only"] = cards_only_rows(args.cards_only, args.runs, args.num_workers)
        print_cards_only(args.cards_only, report["cards_only"])
        if args.py_spy:
            args.py_spy.mkdir(parents=True, exist_ok=True)
            out = args.py_spy / f"cards-{args.cards_only}.txt"
            emulator = EmulatorProcess(args.cards_only)
            try:
                measure_parse_alone(emulator)  # warm-up
                profile_cards_sync(emulator, args.num_workers, out)
            finally:
                emulator.stop()
            report["profile"] = summarise_profile(out)
            print_profile(report["profile"])
    elif args.workers:
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
