"""A full sync with the real connector CLI, with per-stream progress while it runs, loaded into
a DuckDB file through PyAirbyte, then the day-one report (integration_tests/report/*.sql).

    python -m integration_tests.sync                       # the bundled emulator
    python -m integration_tests.sync --config my.json      # your Metabase
    python -m integration_tests.sync --jsonl-only          # no PyAirbyte: records to --output

PyAirbyte runs in .venv-pyairbyte (built from requirements-pyairbyte.lock on first use, about
two minutes), as its pins conflict with the project's."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from integration_tests.connector import (ROOT, STREAMS, configured_catalog, connector_env, discover_catalog,
                                         run_connector)
from integration_tests.progress import Progress, connector_command, follow

# The newest Metabase, on Enterprise: every stream has records (the query log too).
EMULATOR_PROFILE, EMULATOR_EDITION, EMULATOR_SEED, EMULATOR_CARDS = "v0.64", "ee", 1, 300
DEFAULT_DUCKDB = ROOT / "source-metabase.duckdb"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="connector config JSON; default: start the emulator")
    parser.add_argument("--ca-bundle", help="CA certificate(s) to trust, for a Metabase with a private CA")
    parser.add_argument("--profile", default=EMULATOR_PROFILE, help="emulator version profile (v0.40 to v0.64)")
    parser.add_argument("--edition", default=EMULATOR_EDITION, choices=["oss", "ee", "ee-unlicensed"],
                        help="emulator edition (ee: Enterprise with the audit app)")
    parser.add_argument("--cards", type=int, default=EMULATOR_CARDS, help="emulator size, in cards")
    parser.add_argument("--duckdb", type=Path, default=DEFAULT_DUCKDB, help="the DuckDB file to write")
    parser.add_argument("--as-of", help="the report's date (default: now); e.g. 2025-09-30")
    parser.add_argument("--report-json", type=Path, help="also write the report's figures as JSON")
    parser.add_argument("--jsonl-only", action="store_true", help="no PyAirbyte/DuckDB: write records to --output")
    parser.add_argument("--output", type=Path, default=Path(tempfile.gettempdir()) / "source-metabase-sync.jsonl")
    args = parser.parse_args()

    if args.config:
        return run(json.loads(args.config.read_text()), args.ca_bundle, args)

    from integration_tests.metabase_emulator import Emulator, Scale
    from integration_tests.metabase_emulator.model import T1

    # The emulator's history ends at its own "now": the report is as of that day.
    args.as_of = args.as_of or time.strftime("%Y-%m-%d", time.gmtime(T1))
    with Emulator(profile=args.profile, seed=EMULATOR_SEED, scale=Scale(cards=args.cards), edition=args.edition) as emulator:
        credentials = emulator.credentials
        config = {"instance_api_url": emulator.base_url + "/api/"}
        if tuple(int(part) for part in args.profile.lstrip("v").split(".")) >= (0, 49):
            config["api_key"] = credentials["admin_api_key"]
        else:  # no API keys before Metabase 0.49
            config.update(username=credentials["admin_email"], password=credentials["admin_password"])
        print(f"Metabase emulator {args.profile} ({args.edition}) at {emulator.base_url} ({args.cards} cards)")
        return run(config, emulator.ca_bundle, args)


def run(config: dict, ca_bundle, args) -> int:
    check = run_connector("check", config, ca_bundle=ca_bundle)
    status = check.connection_status if check.of_type("CONNECTION_STATUS") else {"status": "FAILED"}
    print(f"check: {status['status']} {status.get('message') or ''}".rstrip(), flush=True)
    if status["status"] != "SUCCEEDED":
        for error in check.errors:
            print(f"error ({error.get('failure_type')}): {error['message']}")
        return 1
    if args.jsonl_only:
        return sync_to_jsonl(config, ca_bundle, args.output)
    counts = load_into_duckdb(config, ca_bundle, args.duckdb)
    if counts is None:
        return 1
    print_counts(counts)
    print(f"DuckDB file: {args.duckdb.resolve()}\n", flush=True)
    report = [str(pyairbyte_python()), "-m", "integration_tests.report.run", "--db", str(args.duckdb)]
    report += ["--as-of", args.as_of] if args.as_of else []
    report += ["--json", str(args.report_json)] if args.report_json else []
    return subprocess.run(report, env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT).returncode


def sync_to_jsonl(config: dict, ca_bundle, output: Path) -> int:
    """The CLI's read, its records written to `output` while the progress is printed."""
    catalog = configured_catalog(discover_catalog())
    counts, errors = Counter(), []
    with tempfile.TemporaryDirectory() as tmp, open(output, "wb") as records:
        (Path(tmp) / "config.json").write_text(json.dumps(config))
        (Path(tmp) / "catalog.json").write_text(json.dumps(catalog))
        command = connector_command(["read", "--config", f"{tmp}/config.json", "--catalog", f"{tmp}/catalog.json"])
        process = subprocess.Popen(command, stdout=subprocess.PIPE, env=connector_env(ca_bundle), cwd=tmp)
        progress = Progress(sys.stdout)

        def on_line(line: bytes) -> None:
            progress.feed(line)
            if line.startswith(b'{"type":"RECORD"'):
                records.write(line + b"\n")
            elif b'"type":"ERROR"' in line[:80]:
                errors.append(json.loads(line)["trace"]["error"])

        follow(process, on_line, progress.tick)
        process.wait()
    counts.update(progress.records)
    print_counts(counts)
    print(f"records written to {output}")
    return process.returncode or (1 if errors else 0)


def load_into_duckdb(config: dict, ca_bundle, db: Path):
    """PyAirbyte reads every stream into `db`; the connector's progress is shown meanwhile.
    Returns the records per stream, or None when the load failed."""
    from integration_tests.test_pyairbyte import LOCK, VENV

    if not (VENV / "lock.sha256").exists():
        print(f"Building {VENV.name}/ for PyAirbyte from {LOCK.name} (first time only, about two minutes)...",
              flush=True)
    python = pyairbyte_python()
    db.parent.mkdir(parents=True, exist_ok=True)
    print(f"Loading into {db} through PyAirbyte", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        progress_file, result, log = Path(tmp) / "progress.txt", Path(tmp) / "result.json", Path(tmp) / "pyairbyte.log"
        progress_file.touch()
        started = time.time()
        env = connector_env(ca_bundle, PYTHONPATH=str(ROOT), SOURCE_METABASE_PROGRESS=str(progress_file),
                            SOURCE_METABASE_PROGRESS_SINCE=repr(started),
                            AIRBYTE_OFFLINE_MODE="1", NO_LIVE_PROGRESS="1", DO_NOT_TRACK="1", HOME=tmp,
                            AIRBYTE_LOGGING_ROOT=str(Path(tmp) / "logs"))
        with open(log, "wb") as log_out:
            loader = subprocess.Popen(
                [str(python), "-m", "integration_tests.report.load", "--db", str(db.resolve()),
                 "--cache-dir", str(Path(tmp) / "cache"), "--result", str(result)],
                stdin=subprocess.PIPE, stdout=log_out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
            loader.stdin.write(json.dumps(config).encode())
            loader.stdin.close()
            show_progress(loader, progress_file, started)
        if loader.returncode != 0 or not result.exists():
            print(f"PyAirbyte failed (exit {loader.returncode}):\n" + log.read_text(errors="replace")[-4000:])
            return None
        return json.loads(result.read_text())["counts"]


def show_progress(loader: subprocess.Popen, progress_file: Path, started: float, heartbeat: float = 5.0) -> None:
    """Prints the connector's progress lines as they arrive; while PyAirbyte works on its own
    (starting the connector, writing DuckDB), a line every `heartbeat` seconds."""
    last_output, connector_seen, connector_done = time.time(), False, False
    with open(progress_file) as lines:
        while True:
            text = lines.read()
            if text:
                sys.stdout.write(text)
                sys.stdout.flush()
                last_output, connector_seen = time.time(), True
                connector_done = connector_done or "connector finished" in text
            if loader.poll() is not None and not text:
                return
            if time.time() - last_output > heartbeat:
                doing = ("writing the records into DuckDB" if connector_done else "reading" if connector_seen
                         else "starting the connector (spec, discover)")
                print(f"[{time.time() - started:6.1f}s] PyAirbyte: {doing}", flush=True)
                last_output = time.time()
            time.sleep(0.3)


def pyairbyte_python() -> Path:
    from integration_tests.test_pyairbyte import pyairbyte_python as build

    return build()


def print_counts(counts: dict) -> None:
    print(f"{'stream':<32}{'records':>10}")
    for stream in sorted(set(STREAMS) | set(counts)):
        print(f"{stream:<32}{counts.get(stream, 0):>10,}")


if __name__ == "__main__":
    sys.exit(main())
