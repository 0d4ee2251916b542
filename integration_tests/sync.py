"""A full sync with the real connector CLI, printed as a table of records per stream.

    python -m integration_tests.sync                       # against the bundled emulator
    python -m integration_tests.sync --config my.json      # against your Metabase

The records (Airbyte RECORD messages, one JSON per line) are written to --output."""

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from integration_tests.connector import STREAMS, run_connector, sync


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="connector config JSON; default: start the emulator")
    parser.add_argument("--profile", default="v0.50", help="emulator version profile (v0.40, v0.50, v0.57)")
    parser.add_argument("--cards", type=int, default=300, help="emulator size, in cards")
    parser.add_argument("--output", type=Path, default=Path(tempfile.gettempdir()) / "source-metabase-sync.jsonl")
    args = parser.parse_args()

    if args.config:
        return report(json.loads(args.config.read_text()), None, args.output)

    from integration_tests.metabase_emulator import Emulator, Scale

    with Emulator(profile=args.profile, seed=1, scale=Scale(cards=args.cards)) as emulator:
        credentials = emulator.credentials
        config = {"instance_api_url": emulator.base_url + "/api/"}
        if tuple(int(part) for part in args.profile.lstrip("v").split(".")) >= (0, 49):
            config["api_key"] = credentials["admin_api_key"]
        else:  # no API keys before Metabase 0.49
            config.update(username=credentials["admin_email"], password=credentials["admin_password"])
        print(f"Metabase emulator {args.profile} at {emulator.base_url} ({args.cards} cards)")
        return report(config, emulator.ca_bundle, args.output)


def report(config: dict, ca_bundle, output: Path) -> int:
    check = run_connector("check", config, ca_bundle=ca_bundle)
    status = check.connection_status if check.of_type("CONNECTION_STATUS") else {"status": "FAILED"}
    print(f"check: {status['status']} {status.get('message') or ''}".rstrip())
    if status["status"] != "SUCCEEDED":
        return 1
    run = sync(config, ca_bundle)
    counts = Counter(m["record"]["stream"] for m in run.of_type("RECORD"))
    output.write_text("".join(json.dumps(m) + "\n" for m in run.of_type("RECORD")))
    print(f"{'stream':<24}{'records':>10}")
    for stream in STREAMS:
        print(f"{stream:<24}{counts.get(stream, 0):>10}")
    for line in run.log_lines("WARN"):
        print(f"warning: {line}")
    for error in run.errors:
        print(f"error ({error.get('failure_type')}): {error['message']}")
    print(f"records written to {output}")
    return run.returncode or (1 if run.errors else 0)


if __name__ == "__main__":
    sys.exit(main())
