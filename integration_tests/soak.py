"""Benchmark mode `--soak`: a clean full sync, then a full sync of the same content through
faults, compared record by record. The real connector CLI against the emulator.

    make bench ARGS="--soak --cards 30000"
    make bench ARGS="--soak --cards 10000 --max-retries 10"

Faults (FaultPlan rates, per request, every /api/ path, logins included): 5% 5xx (500, 502,
503 in equal parts), 2% 429 with Retry-After: 1, 1% dropped connections; and once the faulted
run's session has served 60% as many requests as the clean run sent, it ends (the emulator's
session_max_requests, as after Metabase's 14 days): the password config logs in again. Both runs use the same password config on
v0.57. Printed: records per stream, whether ids and content are identical (no duplicate, no
loss), wall and requests of both runs. Not a test (integration_tests/test_bench_modes.py)."""

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

from integration_tests.bench_incremental import measure, print_sides, start_emulator
from integration_tests.metabase_emulator import FaultPlan

FAULTS = dict(rate_500=0.05 / 3, rate_502=0.05 / 3, rate_503=0.05 / 3, rate_429=0.02, retry_after=1,
              rate_drop=0.01)


def password_config(emulator, num_workers: int, max_retries: int) -> dict:
    credentials = emulator.credentials
    return {"instance_api_url": emulator.base_url + "/api/", "username": credentials["admin_email"],
            "password": credentials["admin_password"], "num_workers": num_workers, "max_retries": max_retries}


def compare(clean: dict, faulted: dict) -> dict:
    """Per stream: duplicates, ids lost or extra, records whose content differs."""
    streams = {}
    for stream in sorted(set(clean) | set(faulted)):
        a, b = clean.get(stream, []), faulted.get(stream, [])
        ids_a, ids_b = Counter(k for k, _ in a), Counter(k for k, _ in b)
        content_a, content_b = dict(a), dict(b)
        streams[stream] = {
            "clean": len(a), "faulted": len(b),
            "duplicates": sum(n - 1 for n in ids_b.values() if n > 1) + sum(n - 1 for n in ids_a.values() if n > 1),
            "lost": len(set(ids_a) - set(ids_b)), "extra": len(set(ids_b) - set(ids_a)),
            "content_differs": sum(1 for k in set(content_a) & set(content_b) if content_a[k] != content_b[k]),
        }
    identical = all(s["clean"] == s["faulted"] and not (s["duplicates"] or s["lost"] or s["extra"]
                    or s["content_differs"]) for s in streams.values())
    return {"streams": streams, "identical": identical}


def soak(cards: int, num_workers: int = 4, max_retries: int = 10, seed: int = 1) -> dict:
    emulator = start_emulator(cards)
    try:
        config = password_config(emulator, num_workers, max_retries)
        clean = measure(emulator, config, digests=True)
        emulator.configure(faults=FaultPlan(seed=seed, **FAULTS).to_dict())
        # One expiry in the middle: a session serves 60% of the clean run's requests, so the
        # second one (faults add a few percent) outlives the sync.
        expire_after = int(clean["requests_total"] * 0.6)
        emulator.configure(session_max_requests=expire_after)
        faulted = measure(emulator, config, digests=True)
        log = emulator.requests()
        expired = [i for i, e in enumerate(log) if e["status"] == 401 and e["path"] != "/api/session"]
        log_faults = Counter(e["fault"] for e in log if e["fault"])
        statuses = Counter(e["status"] for e in log)
    finally:
        emulator.stop()
    comparison = compare(clean.pop("contents"), faulted.pop("contents"))
    clean.pop("states"), faulted.pop("states")
    return {"cards": cards, "num_workers": num_workers, "max_retries": max_retries, "faults": FAULTS,
            "session_max_requests": expire_after, "rejected_401": len(expired),
            "sessions_expired_after_requests": expired[0] if expired else None,
            "clean": clean, "faulted": faulted, "faults_served": dict(log_faults),
            "statuses_faulted": {str(k): v for k, v in statuses.items()},
            "extra_requests": faulted["requests_total"] - clean["requests_total"],
            "ratio_wall": faulted["wall_s"] / clean["wall_s"], **comparison}


def print_soak(row: dict) -> None:
    print(f"\n{row['cards']} cards, password config, num_workers={row['num_workers']}, "
          f"max_retries={row['max_retries']}; faults {row['faults']}; sessions expired after "
          f"{row['sessions_expired_after_requests']} requests of the faulted run "
          f"(session_max_requests {row['session_max_requests']}, {row['rejected_401']} requests answered 401)")
    print_sides(row, ("clean", "faulted"), 9)
    print(f"faulted/clean wall {row['ratio_wall']:.2f}, extra requests {row['extra_requests']}; "
          f"faults served {row['faults_served']}")
    print(f"{'stream':30}{'clean':>9}{'faulted':>9}{'dupes':>7}{'lost':>6}{'extra':>7}{'differ':>8}")
    for stream, s in row["streams"].items():
        print(f"{stream:30}{s['clean']:>9}{s['faulted']:>9}{s['duplicates']:>7}{s['lost']:>6}{s['extra']:>7}"
              f"{s['content_differs']:>8}")
    print("records identical (ids and content, per stream): " + ("yes" if row["identical"] else "NO"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, action="append", help="scale(s) (default 3000)")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--max-retries", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1, help="fault plan seed")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    report = {"machine": {"cpus": os.cpu_count()}, "soaks": []}
    for cards in args.cards or [3000]:
        row = soak(cards, args.num_workers, args.max_retries, args.seed)
        report["soaks"].append(row)
        print_soak(row)
        sys.stdout.flush()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if all(row["identical"] for row in report["soaks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
