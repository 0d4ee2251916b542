"""Fault injection: 429/500/502/503, slow answers, dropped connections, truncated bodies.

Every decision is a pure function of (seed, method, path+query, n), n being how many times
that same request was seen before, so a run is reproducible however threads interleave.
A request is never faulted more than `max_consecutive` times in a row, so a client that
retries always gets through.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import asdict, dataclass, fields

FAILURES = ("429", "500", "502", "503", "drop", "truncate")  # the client must retry these


@dataclass
class FaultPlan:
    seed: int = 0
    rate_429: float = 0
    retry_after: int = 1
    rate_500: float = 0
    rate_502: float = 0
    rate_503: float = 0
    rate_slow: float = 0
    slow_seconds: float = 0.5
    rate_drop: float = 0
    rate_truncate: float = 0
    paths: str | None = None  # regex searched in the path; default: every /api/ path
    max_consecutive: int = 3

    def __post_init__(self):
        total = sum(self.rates().values())
        if total > 1.0 + 1e-9 or min(self.rates().values()) < 0:
            raise ValueError("fault rates must be >= 0 and sum to at most 1 (got %.3f)" % total)
        if self.paths is not None:
            re.compile(self.paths)

    def rates(self) -> dict:
        return {"429": self.rate_429, "500": self.rate_500, "502": self.rate_502, "503": self.rate_503,
                "drop": self.rate_drop, "truncate": self.rate_truncate, "slow": self.rate_slow}

    @classmethod
    def from_dict(cls, d: dict) -> "FaultPlan":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError("unknown fault plan keys: %s" % ", ".join(sorted(unknown)))
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


class FaultInjector:
    def __init__(self, plan: FaultPlan | None = None):
        self.plan = plan
        self.regex = re.compile(plan.paths) if plan and plan.paths is not None else None
        self.lock = threading.Lock()
        self.seen: dict[tuple, list] = {}  # request key -> [times seen, consecutive failures]

    def applies(self, path: str) -> bool:
        if self.regex is not None:
            return bool(self.regex.search(path))
        return path.startswith("/api/")

    def decide(self, method: str, path: str, query: str) -> str | None:
        plan = self.plan
        if plan is None or not self.applies(path):
            return None
        target = path + ("?" + query if query else "")
        with self.lock:
            state = self.seen.setdefault((method, target), [0, 0])
            n = state[0]
            state[0] += 1
            key = ("%s|%s|%s|%d" % (plan.seed, method, target, n)).encode()
            u = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2.0 ** 64
            fault, acc = None, 0.0
            for name, rate in plan.rates().items():
                acc += rate
                if u < acc:
                    fault = name
                    break
            if fault in FAILURES:
                if state[1] >= plan.max_consecutive:
                    fault = None  # let the retry through
                else:
                    state[1] += 1
            if fault not in FAILURES:
                state[1] = 0
            return fault
