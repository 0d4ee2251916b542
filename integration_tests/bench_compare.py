"""Benchmark mode `--compare`: ours, earlier revisions of ours, Airbyte's own manifest and the raw
baseline side by side, on one emulator (v0.57, seed 1), so every side reads the same data.

    make bench ARGS="--compare --cards 3000 --against fb17d09 --runs 3"
    make bench ARGS="--compare --cards-only 30000 --against fb17d09 --runs 2"

Sides, each in its own process, run with this venv's source-declarative-manifest CLI:
- ours: the working tree's manifest.yaml and components.py;
- each --against REV: that revision's manifest.yaml and components.py (`git show`), with a config
  its own spec accepts (the emulator admin's API key where the spec has `api_key`);
- Airbyte 2.0.13: source_metabase/manifest.yaml from the PyPI wheel airbyte-source-metabase
  (downloaded once into .tmp/, never committed), logging in with the admin's username and
  password (it has no API key support);
- raw: the same requests as ours, one after another, each answer parsed whole with orjson.

Scenarios (--cards N, --cards-only N; either or both, default --cards 3000):
- seed six streams, full refresh: each side's own discovered catalog, those six streams; each
  connector side also reads an empty catalog (its start-up), so `beyond` = wall - start-up, and
  the ratio to Airbyte's beyond start-up (target for ours <= 0.65);
- cards only: the floor is a streamed ijson parse of the same GET /api/card answer plus our
  CDK start-up (as in --cards-only); each side's wall / floor (target <= 1.3), peak RSS (target
  < 200 MB).
Every side runs once untimed first (the emulator builds and caches each answer), then --runs
interleaved rounds: medians with min-max; ratios are taken within a round, then their median.
Not a test: it prints figures and asserts nothing (integration_tests/test_bench_modes.py checks
them at 120 cards)."""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from integration_tests.bench import (KINDS, OURS, Connector, EmulatorProcess, measure_connector, measure_parse_alone,
                                     measure_raw, measure_startup)
from integration_tests.connector import ROOT

SEED_STREAMS = ["cards", "collections", "dashboards", "users", "databases", "native_query_snippets"]
AIRBYTE_WHEEL = "airbyte-source-metabase==2.0.13"
CACHE = ROOT / ".tmp" / "airbyte-source-metabase-2.0.13"  # .tmp/ is git-ignored
LABELS = {"parse": "parse (ijson, streamed)", "startup": "start-up (ours)", "floor": "floor: parse + start-up",
          "raw": "raw (orjson)"}


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def revision(rev: str, into: Path) -> Connector:
    """That revision's manifest.yaml and components.py, written into a folder of `into`; named
    by its short hash and the version its metadata.yaml gives."""
    short = git("rev-parse", "--short", f"{rev}^{{commit}}").decode().strip()
    folder = into / short
    folder.mkdir(parents=True, exist_ok=True)
    files = git("ls-tree", "--name-only", short).decode().split()
    (folder / "manifest.yaml").write_bytes(git("show", f"{short}:manifest.yaml"))
    components = None
    if "components.py" in files:
        components = folder / "components.py"
        components.write_bytes(git("show", f"{short}:components.py"))
    version = ""
    if "metadata.yaml" in files:
        tag = re.search(rb"dockerImageTag:\s*(\S+)", git("show", f"{short}:metadata.yaml"))
        version = f" ({tag.group(1).decode()})" if tag else ""
    return Connector(short + version, folder / "manifest.yaml", components, f"git show {short}:manifest.yaml")


def airbyte_manifest() -> Connector:
    """Airbyte's published manifest (and components.py, if the wheel has one), fetched once."""
    if not (CACHE / "manifest.yaml").exists():
        wheels = CACHE / "wheel"
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", AIRBYTE_WHEEL,
                        "-d", str(wheels)], check=True)
        (wheel,) = wheels.glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for name in ("manifest.yaml", "components.py"):
                if f"source_metabase/{name}" in archive.namelist():
                    (CACHE / name).write_bytes(archive.read(f"source_metabase/{name}"))
    components = CACHE / "components.py"
    return Connector("Airbyte 2.0.13", CACHE / "manifest.yaml", components if components.exists() else None,
                     f"PyPI {AIRBYTE_WHEEL}: source_metabase/manifest.yaml")


def seed_scenario(cards: int, connectors: list, runs: int, workers: int) -> dict:
    emulator = EmulatorProcess(cards)
    try:
        for connector in connectors:  # untimed: discover, and one sync that warms the emulator
            measure_connector(emulator, workers, SEED_STREAMS, connector)
        measure_raw(emulator, SEED_STREAMS)
        rounds = []
        for _ in range(runs):
            sides = {}
            for connector in connectors:
                startup = measure_startup(emulator, connector)
                side = measure_connector(emulator, workers, SEED_STREAMS, connector)
                side.update(startup_s=startup["wall_s"], beyond_s=side["wall_s"] - startup["wall_s"])
                sides[connector.name] = side
            sides["raw"] = measure_raw(emulator, SEED_STREAMS)
            rounds.append(sides)
    finally:
        emulator.stop()
    for sides in rounds:
        if "Airbyte 2.0.13" in sides:
            for side in sides.values():
                if "beyond_s" in side:
                    side["per_airbyte"] = side["beyond_s"] / sides["Airbyte 2.0.13"]["beyond_s"]
    return {"cards": cards, "workers": workers, "streams": SEED_STREAMS, "rounds": rounds,
            "config_keys": config_keys(connectors, emulator, workers)}


def cards_scenario(cards: int, connectors: list, runs: int, workers: int) -> dict:
    emulator = EmulatorProcess(cards)
    try:
        measure_parse_alone(emulator)  # untimed: warms the emulator, then each side once
        for connector in connectors:
            measure_connector(emulator, workers, ["cards"], connector)
        measure_raw(emulator, ["cards"])
        rounds = []
        for _ in range(runs):
            sides = {"parse": measure_parse_alone(emulator), "startup": measure_startup(emulator)}
            for connector in connectors:
                sides[connector.name] = measure_connector(emulator, workers, ["cards"], connector)
            sides["raw"] = measure_raw(emulator, ["cards"])
            floor = sides["parse"]["wall_s"] + sides["startup"]["wall_s"]
            for name in [c.name for c in connectors] + ["raw"]:
                sides[name]["per_floor"] = sides[name]["wall_s"] / floor
            sides["floor"] = {"wall_s": floor}
            rounds.append(sides)
    finally:
        emulator.stop()
    return {"cards": cards, "workers": workers, "streams": ["cards"], "rounds": rounds,
            "config_keys": config_keys(connectors, emulator, workers)}


def config_keys(connectors: list, emulator: EmulatorProcess, workers: int) -> dict:
    """Which keys each side's config had (not their values: no secret in the figures)."""
    return {c.name: sorted(c.config(emulator, workers)) for c in connectors}


def summary(rounds: list, name: str, figure: str) -> dict:
    values = [sides[name][figure] for sides in rounds if figure in sides[name]]
    if not values:
        return {}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def spread(figures, digits: int = 2) -> str:
    """median (min-max); the median alone after a single run; '-' without figures."""
    if not figures:
        return "-"
    if figures["min"] == figures["max"]:
        return f"{figures['median']:.{digits}f}"
    return f"{figures['median']:.{digits}f} ({figures['min']:.{digits}f}-{figures['max']:.{digits}f})"


def summarise(scenario: dict) -> None:
    """Medians, min and max of every side's figures, into scenario['sides']."""
    rounds = scenario["rounds"]
    scenario["sides"] = {}
    for name in rounds[0]:
        side = {figure: summary(rounds, name, figure)
                for figure in ("wall_s", "startup_s", "beyond_s", "cpu_s", "peak_rss_mb", "body_mb",
                               "per_airbyte", "per_floor")}
        last = rounds[-1][name]
        for figure in ("requests", "records"):
            if figure in last:
                side[figure] = last[figure]  # the same every round, save for the retries of a noisy machine
                side[figure + "_varied"] = any(sides[name][figure] != last[figure] for sides in rounds)
        scenario["sides"][name] = {key: value for key, value in side.items() if value != {}}


def print_table(scenario: dict, title: str, names: list, columns: list) -> None:
    print(f"\n{title}")
    print(f"{len(scenario['rounds'])} interleaved rounds; median (min-max) per figure, peak RSS the highest")
    print(f"{'side':26}" + "".join(f"{label:>{width}}" for label, _, width in columns))
    for name in names:
        side = scenario["sides"][name]
        print(f"{LABELS.get(name, name):26}" + "".join(f"{show(side):>{width}}" for _, show, width in columns))


def requests_cell(side: dict) -> str:
    return f"{sum(side['requests'].values())}{'*' if side['requests_varied'] else ''}" if "requests" in side else "-"


def rss_cell(side: dict) -> str:
    return f"{side['peak_rss_mb']['max']:.0f}" if "peak_rss_mb" in side else "-"


def print_breakdown(scenario: dict, names: list) -> None:
    """Requests by kind and records by stream, one row per side."""
    sides = scenario["sides"]
    sent = {kind for name in names for kind in sides[name].get("requests", {})}
    kinds = [kind for kind, _ in KINDS + [("other", "")] if kind in sent]
    print("requests by kind" + (" (* varied between rounds: the last round's)" if any(
        sides[name].get("requests_varied") for name in names) else ""))
    print(f"{'side':26}" + "".join(f"{kind:>{len(kind) + 2}}" for kind in kinds))
    for name in names:
        if "requests" in sides[name]:
            print(f"{LABELS.get(name, name):26}" + "".join(f"{sides[name]['requests'].get(kind, 0):>{len(kind) + 2}}"
                                                           for kind in kinds))
    print("records by stream")
    print(f"{'side':26}" + "".join(f"{stream:>{len(stream) + 2}}" for stream in scenario["streams"]))
    for name in names:
        if "records" in sides[name]:
            print(f"{LABELS.get(name, name):26}" + "".join(f"{sides[name]['records'].get(stream, 0):>{len(stream) + 2}}"
                                                           for stream in scenario["streams"]))


def print_seed(scenario: dict) -> None:
    names = list(scenario["sides"])
    columns = [("wall s", lambda s: spread(s["wall_s"]), 18), ("start-up s", lambda s: spread(s.get("startup_s")), 18),
               ("beyond s", lambda s: spread(s.get("beyond_s")), 18),
               ("/Airbyte", lambda s: spread(s.get("per_airbyte")), 18),
               ("cpu s", lambda s: spread(s.get("cpu_s")), 18), ("peak RSS MB", rss_cell, 13),
               ("requests", requests_cell, 10), ("body MB", lambda s: f"{s['body_mb']['median']:.1f}", 9)]
    print_table(scenario, f"seed six streams, full refresh, {scenario['cards']} cards (num_workers "
                          f"{scenario['workers']} where the spec has it); beyond = wall - start-up (an empty "
                          f"catalog read), /Airbyte = beyond / Airbyte's beyond (target for ours <= 0.65)",
                names, columns)
    print_breakdown(scenario, names)
    if "per_airbyte" in scenario["sides"]["ours"]:
        print(f"ours / Airbyte beyond start-up: {spread(scenario['sides']['ours']['per_airbyte'])} (target <= 0.65)")


def print_cards(scenario: dict) -> None:
    names = list(scenario["sides"])
    columns = [("wall s", lambda s: spread(s["wall_s"]), 18), ("/floor", lambda s: spread(s.get("per_floor")), 18),
               ("cpu s", lambda s: spread(s.get("cpu_s")), 18), ("peak RSS MB", rss_cell, 13),
               ("requests", requests_cell, 10),
               ("body MB", lambda s: f"{s['body_mb']['median']:.1f}" if "body_mb" in s else "-", 9),
               ("records", lambda s: str(s["records"].get("cards", 0) if isinstance(s["records"], dict)
                                         else s["records"]) if "records" in s else "-", 9)]
    print_table(scenario, f"cards only, {scenario['cards']} cards (num_workers {scenario['workers']} where the "
                          f"spec has it); floor = parse (streamed ijson, same answer) + start-up (ours, empty "
                          f"catalog) = {spread(scenario['sides']['floor']['wall_s'])} s; /floor = wall / floor "
                          f"(target <= 1.3); peak RSS target < 200 MB", names, columns)
    print_breakdown(scenario, [name for name in names if "requests" in scenario["sides"][name]])
    ours = scenario["sides"]["ours"]
    print(f"ours / floor: {spread(ours['per_floor'])} (target <= 1.3); ours peak RSS {rss_cell(ours)} MB "
          f"(target < 200)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, help="seed six streams at this scale (default 3000)")
    parser.add_argument("--cards-only", type=int, metavar="CARDS", help="cards only at this scale")
    parser.add_argument("--against", action="append", default=[], metavar="REV",
                        help="also an earlier revision of ours (any git revision), repeatable")
    parser.add_argument("--no-airbyte", action="store_true", help="without Airbyte's manifest")
    parser.add_argument("--runs", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)

    report = {"machine": {"cpus": os.cpu_count()}, "compare": {}}
    with tempfile.TemporaryDirectory() as tmp:
        connectors = [OURS]
        for rev in args.against:
            connector = revision(rev, Path(tmp))
            if connector.name not in [c.name for c in connectors]:
                connectors.append(connector)
        if not args.no_airbyte:
            connectors.append(airbyte_manifest())
        report["sides"] = {c.name: {"source": c.source, "components_py": c.components is not None}
                           for c in connectors}
        if args.cards or not args.cards_only:
            scenario = seed_scenario(args.cards or 3000, connectors, args.runs, args.num_workers)
            summarise(scenario)
            report["compare"]["seed"] = scenario
            print_seed(scenario)
            sys.stdout.flush()
        if args.cards_only:
            scenario = cards_scenario(args.cards_only, connectors, args.runs, args.num_workers)
            summarise(scenario)
            report["compare"]["cards_only"] = scenario
            print_cards(scenario)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
