"""Deterministic draws shared by every generator (generate*.py, alerts.py, changes.py).

Each kind of thing draws from its own random stream (seeded by `seed` and the kind), so the
same seed and Scale always give the same instance, whatever order things are asked for in.
"""

from __future__ import annotations

import base64
import random

from .rows import T0, T1


def seeded(seed, kind: str) -> random.Random:
    """The random stream of one kind of thing."""
    return random.Random("%s/%s" % (seed, kind))


def nano(rng: random.Random) -> str:
    # NanoID's alphabet is the URL-safe base64 one, so 126 random bits encode to 21 chars
    return base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode()[:21]


def ts(rng: random.Random, lo: int = T0, hi: int = T1) -> int:
    """A timestamp in microseconds; never on a whole second so it has 1-6 digits."""
    return rng.randint(lo, max(lo, hi)) * 1_000_000 + rng.randint(1, 999_999)


def ts_around(rng, frac: float, spread: float = 0.04) -> int:
    """A timestamp at `frac` of the instance's history, so ids grow with time."""
    f = min(1.0, max(0.0, frac + rng.uniform(-spread, spread)))
    return int(T0 + f * (T1 - T0)) * 1_000_000 + rng.randint(1, 999_999)
