"""Our Metabase emulator: a faithful HTTPS server of Metabase's REST API, for tests.

    from integration_tests.metabase_emulator import Emulator, Scale, FaultPlan
    with Emulator(profile="v0.50", seed=1, scale=Scale(cards=60)) as emu:
        requests.get(emu.base_url + "/api/card", verify=emu.ca_bundle,
                     headers={"X-API-Key": emu.credentials["admin_api_key"]})

- Profiles "v0.40", "v0.50", "v0.57" differ as those Metabase versions do (profiles.py).
- Content is generated from (seed, Scale): same inputs, byte-identical answers (model.py).
- Auth as Metabase: sessions (header or cookie, UUIDs), API keys (v0.49+), login throttling,
  expiry after `session_max_requests` requests or `session_max_seconds` (auth.py).
- `emu.configure(...)` / POST /__emulator__/settings: faults (FaultPlan or dict), latency_ms,
  session_max_requests, session_max_seconds, html_mode, password_login_disabled,
  login_throttle_threshold (setting it also resets the throttle), vanishing_dashboard_ids,
  vanishing_collection_ids, invalid_json_paths and missing_paths (exact paths, answering
  invalid JSON, or 404 as a removed endpoint), status_paths ({path: status}: every request of
  it answered with that status, e.g. 507, 522, 409), redirect_paths ({path: url}: 307 to that
  URL), body_paths ({path: bytes}: answered 200 with them). Unknown keys raise ValueError.
- `emu.expire_sessions()`: every session minted so far ends (as after 14 days); logins still work.
- `emu.expected_ids(stream, viewer)`: viewer "admin", "analyst" (the users), "admin_key",
  "analyst_key" (the API keys' hidden users: no personal collection), or any user's email.
- Every request except /__emulator__/ ones is in `emu.requests()` before its answer is sent.

Layout: model.py (content), profiles.py (versions), auth.py, faults.py, routes.py,
server.py (HTTPS server, request log, the Emulator object), __main__.py (command line).
"""

from .faults import FaultPlan
from .model import CREDENTIALS, Scale
from .profiles import PROFILES
from .server import Emulator

__all__ = ["Emulator", "Scale", "FaultPlan", "CREDENTIALS", "PROFILES"]
