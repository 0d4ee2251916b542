"""The cost of CardDependencies per card: the emulator's GET /api/card items (the same dicts the
decoder hands over), one at a time so memory stays flat, only the transformation timed; and the
dependency edges by type.

    .venv/bin/python -m integration_tests.bench_lineage 30000 v0.50 v0.57
"""
import importlib.util
import sys
import time
from collections import Counter

import orjson

from integration_tests.connector import ROOT
from integration_tests.metabase_emulator.model import Model, Scale
from integration_tests.metabase_emulator.profiles import PROFILES, Render

spec = importlib.util.spec_from_file_location("components", ROOT / "components.py")
c = importlib.util.module_from_spec(spec)
spec.loader.exec_module(c)
t = c.CardDependencies(parameters={})
n = int(sys.argv[1]) if len(sys.argv) > 1 else 30000
m = Model(seed=1, scale=Scale(cards=n))
for name in sys.argv[2:] or ["v0.50", "v0.57"]:
    r = Render(PROFILES[name], m)
    spent, size, edges = 0.0, 0, Counter()
    for card in m.cards.values():
        raw = orjson.dumps(r.card(card))
        size += len(raw)
        record = orjson.loads(raw)  # plain dicts, as the decoder hands them over
        start = time.perf_counter()
        t.transform(record)
        spent += time.perf_counter() - start
        edges.update(d["type"] for d in record["dependencies"])
    print(f"{name}: {n} cards, {size/1e6:.0f} MB, {spent:.3f} s in CardDependencies = {spent/n*1e6:.2f} us/card; edges {dict(sorted(edges.items()))}")
