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
- raw: the same requests as ours (users in one request, status=all), one after another, each
  answer parsed whole with orjson.

Scenarios (--cards N, --cards-only N; either or both, default --cards 3000):
- seed six streams, full refresh: each side's own discovered catalog, those six streams; each
  connector side also reads an empty catalog (its start-up); `beyond` = wall (and CPU) minus the
  side's quickest start-up of the rounds, and its ratio to Airbyte's beyond start-up in the same
  round (target for ours <= 0.65);
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
AIRBYTE = "Airbyte 2.0.13"  # the side's name
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
    return Connector(AIRBYTE, CACHE / "manifest.yaml", components if components.exists() else None,
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
                side.update(startup_s=startup["wall_s"], startup_cpu_s=startup["cpu_s"])
                sides[connector.name] = side
            sides["raw"] = measure_raw(emulator, SEED_STREAMS)
            rounds.append(sides)
    finally:
        emulator.stop()
    for connector in connectors:  # its start-up, a fixed cost: the quickest of its rounds (noise only adds)
        startup = min(sides[connector.name]["startup_s"] for sides in rounds)
        startup_cpu = min(sides[connector.name]["startup_cpu_s"] for sides in rounds)
        for sides in rounds:
            side = sides[connector.name]
            side.update(beyond_s=side["wall_s"] - startup, cpu_beyond_s=side["cpu_s"] - startup_cpu)
    for sides in rounds:
        if AIRBYTE in sides:
            for side in sides.values():
                if "beyond_s" in side:
                    side["per_airbyte"] = side["beyond_s"] / sides[AIRBYTE]["beyond_s"]
                    side["cpu_per_airbyte"] = side["cpu_beyond_s"] / sides[AIRBYTE]["cpu_beyond_s"]
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
    """median (min-max); the median alone when min and max print alike; '-' without figures."""
    if not figures:
        return "-"
    median, low, high = (f"{figures[key]:.{digits}f}" for key in ("median", "min", "max"))
    return median if low == high else f"{median} ({low}-{high})"


def summarise(scenario: dict) -> None:
    """Medians, min and max of every side's figures, into scenario['sides']."""
    rounds = scenario["rounds"]
    scenario["sides"] = {}
    for name in rounds[0]:
        side = {figure: summary(rounds, name, figure)
                for figure in ("wall_s", "startup_s", "beyond_s", "cpu_s", "cpu_beyond_s", "peak_rss_mb", "body_mb",
                               "per_airbyte", "cpu_per_airbyte", "per_floor")}
        last = rounds[-1][name]
        for figure in ("requests", "records"):
            if figure in last:
                side[figure] = last[figure]  # the same every round, save for the retries of a noisy machine
                side[figure + "_varied"] = any(sides[name][figure] != last[figure] for sides in rounds)
        scenario["sides"][name] = {key: value for key, value in side.items() if value != {}}


def print_rows(rows: list) -> None:
    """Rows of cells, each column as wide as its widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(f"{row[0]:{widths[0]}}" + "".join(f"  {cell:>{width}}" for cell, width in zip(row[1:], widths[1:])))


def print_table(scenario: dict, title: str, names: list, columns: list) -> None:
    print(f"\n{title}")
    print(f"{len(scenario['rounds'])} interleaved rounds; median (min-max) per figure, peak RSS the highest")
    print_rows([["side"] + [label for label, _ in columns]]
               + [[LABELS.get(name, name)] + [show(scenario["sides"][name]) for _, show in columns] for name in names])


def requests_cell(side: dict) -> str:
    return f"{sum(side['requests'].values())}{'*' if side['requests_varied'] else ''}" if "requests" in side else "-"


def body_cell(side: dict) -> str:
    return f"{side['body_mb']['median']:.1f}" if "body_mb" in side else "-"


def rss_cell(side: dict) -> str:
    return f"{side['peak_rss_mb']['max']:.0f}" if "peak_rss_mb" in side else "-"


def print_breakdown(scenario: dict, names: list) -> None:
    """Requests by kind and records by stream, one row per side."""
    sides = scenario["sides"]
    sent = {kind for name in names for kind in sides[name].get("requests", {})}
    varied = any(sides[name].get("requests_varied") for name in names)
    print_counts("requests by kind" + (" (* varied between rounds: the last round's)" if varied else ""),
                 sides, names, "requests", [kind for kind, _ in KINDS + [("other", "")] if kind in sent])
    print_counts("records by stream", sides, names, "records", scenario["streams"])


def print_counts(title: str, sides: dict, names: list, figure: str, columns: list) -> None:
    print(title)
    print_rows([["side"] + columns] + [[LABELS.get(name, name)] + [str(sides[name][figure].get(column, 0))
                                                                   for column in columns]
                                       for name in names if isinstance(sides[name].get(figure), dict)])


def print_seed(scenario: dict) -> None:
    names = list(scenario["sides"])
    columns = [(label, lambda s, figure=figure: spread(s.get(figure)))
               for label, figure in (("wall s", "wall_s"), ("start-up s", "startup_s"), ("beyond s", "beyond_s"),
                                     ("/Airbyte", "per_airbyte"), ("cpu s", "cpu_s"),
                                     ("cpu beyond s", "cpu_beyond_s"))]
    columns += [("peak RSS MB", rss_cell), ("requests", requests_cell),
                ("body MB", body_cell)]
    print_table(scenario, f"seed six streams, full refresh, {scenario['cards']} cards (num_workers "
                          f"{scenario['workers']} where the spec has it); start-up = the side reading an empty "
                          f"catalog; beyond = wall (cpu) - the side's quickest start-up; /Airbyte = beyond / "
                          f"Airbyte's beyond in the same round (target for ours <= 0.65)", names, columns)
    print_breakdown(scenario, names)
    ours = scenario["sides"]["ours"]
    if "per_airbyte" in ours:
        print(f"ours / Airbyte beyond start-up: {spread(ours['per_airbyte'])} wall (target <= 0.65), "
              f"{spread(ours['cpu_per_airbyte'])} cpu")


def print_cards(scenario: dict) -> None:
    names = list(scenario["sides"])
    columns = [(label, lambda s, figure=figure: spread(s.get(figure)))
               for label, figure in (("wall s", "wall_s"), ("/floor", "per_floor"), ("cpu s", "cpu_s"))]
    columns += [("peak RSS MB", rss_cell), ("requests", requests_cell), ("body MB", body_cell),
                ("records", lambda s: str(s["records"].get("cards", 0) if isinstance(s["records"], dict)
                                          else s["records"]) if "records" in s else "-")]
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
