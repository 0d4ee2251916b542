"""Lineage figures (docs/performance.md). Not a test: it prints, it asserts nothing.

    .venv/bin/python -m integration_tests.bench_lineage --cost 30000
    .venv/bin/python -m integration_tests.bench_lineage --cache-variant 3000

--cost: Dependencies per card over the emulator's GET /api/card items (the dicts the decoder
hands over), rendered one at a time so memory stays flat, only the transformation timed; and the
dependency edges by type.
--cache-variant: why there is no card_dependencies stream. Peak RSS of the CLI syncing `cards`
alone, then of a manifest with a second stream on GET /api/card (both requesters use_cache: true,
the CDK's only way to derive two streams from one answer), same emulator, twice each.
"""
import argparse
import copy
import importlib.util
import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson
import yaml

from integration_tests.connector import CLI, ROOT, configured_catalog, connector_env, discover_catalog, wait_with_usage


def cost(cards: int, profiles: list) -> None:
    from integration_tests.metabase_emulator.model import Model, Scale
    from integration_tests.metabase_emulator.profiles import PROFILES, Render

    spec = importlib.util.spec_from_file_location("components", ROOT / "components.py")
    components = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(components)
    transformation = components.Dependencies(parameters={})
    model = Model(seed=1, scale=Scale(cards=cards))
    for name in profiles:
        render = Render(PROFILES[name], model)
        spent, size, edges = 0.0, 0, Counter()
        for card in model.cards.values():
            raw = orjson.dumps(render.card(card))
            size += len(raw)
            record = orjson.loads(raw)
            started = time.perf_counter()
            transformation.transform(record)
            spent += time.perf_counter() - started
            edges.update(d["type"] for d in record["dependencies"])
        print(f"{name}: {cards} cards, {size / 1e6:.0f} MB, {spent:.3f} s in Dependencies = "
              f"{spent / cards * 1e6:.2f} µs/card; edges {dict(sorted(edges.items()))}")


def cache_variant(cards: int) -> None:
    from integration_tests.bench import EmulatorProcess

    tmp = Path(tempfile.mkdtemp())
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    stream = next(s for s in manifest["streams"] if s["name"] == "cards")
    stream["retriever"]["requester"]["use_cache"] = True
    manifest["streams"].append(dict(copy.deepcopy(stream), name="card_dependencies"))
    (tmp / "cached.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    alone = configured_catalog(discover_catalog(), ["cards"])
    both = copy.deepcopy(alone)
    both["streams"].append(copy.deepcopy(alone["streams"][0]))
    both["streams"][1]["stream"]["name"] = "card_dependencies"
    emulator = EmulatorProcess(cards, profile="v0.50")
    (tmp / "config.json").write_text(json.dumps({"instance_api_url": emulator.base_url + "/api/",
                                                 "api_key": emulator.api_key, "num_workers": 4}))
    try:
        for name, manifest_path, catalog in [("cards alone", ROOT / "manifest.yaml", alone),
                                             ("cache variant", tmp / "cached.yaml", both)] * 2:
            (tmp / "catalog.json").write_text(json.dumps(catalog))
            emulator.clear()
            work = Path(tempfile.mkdtemp(dir=tmp))
            started = time.monotonic()
            with open(work / "out", "wb") as out:
                process = subprocess.Popen(
                    [str(CLI), "read", "--manifest-path", str(manifest_path), "--components-path",
                     str(ROOT / "components.py"), "--config", str(tmp / "config.json"), "--catalog",
                     str(tmp / "catalog.json")],
                    stdout=out, stderr=subprocess.DEVNULL, env=connector_env(emulator.ca_bundle), cwd=work)
                _, status, usage = wait_with_usage(process, 1800)
            records = Counter(json.loads(line)["record"]["stream"] for line in open(work / "out", "rb")
                              if b'"RECORD"' in line[:40])
            requests, body = emulator.requests_by_kind()
            print(f"{name:14} exit {os.waitstatus_to_exitcode(status)}  {time.monotonic() - started:5.1f} s  "
                  f"peak RSS {usage.ru_maxrss / 1024:5.0f} MB  records {dict(records)}  "
                  f"GET /api/card x{requests.get('card', 0)} ({body / 1e6:.0f} MB)", flush=True)
    finally:
        emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cost", type=int, metavar="CARDS")
    parser.add_argument("--profile", action="append", help="for --cost (default v0.50 and v0.57)")
    parser.add_argument("--cache-variant", type=int, metavar="CARDS")
    args = parser.parse_args()
    if args.cost:
        cost(args.cost, args.profile or ["v0.50", "v0.57"])
    if args.cache_variant:
        cache_variant(args.cache_variant)


if __name__ == "__main__":
    main()
