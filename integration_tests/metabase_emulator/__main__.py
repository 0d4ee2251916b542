"""Command line: serve an emulated Metabase until SIGINT/SIGTERM.

    python -m integration_tests.metabase_emulator --profile v0.50 --cards 3000 --config-out /tmp/config.json

The first line on stdout is JSON (base_url, instance_api_url, ca_bundle, credentials) for
scripts; a short human-readable summary follows.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time

from . import Emulator, FaultPlan, Scale
from .profiles import PROFILES, get_profile


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m integration_tests.metabase_emulator",
                                 description="Serve an emulated Metabase REST API over HTTPS on 127.0.0.1.")
    ap.add_argument("--profile", default="v0.50", choices=sorted(PROFILES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cards", type=int, default=60)
    for name in ("dashboards", "collections", "users", "databases", "snippets", "dashcards-per-dashboard",
                 "segments", "timelines", "subscriptions"):
        ap.add_argument("--" + name, type=int, default=None, help="default: scaled from --cards")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port")
    ap.add_argument("--latency-ms", type=float, default=0)
    ap.add_argument("--auth", choices=["api_key", "password", "session"], default=None,
                    help="kind of connector config for --config-out (default: api_key on v0.49+, else password)")
    ap.add_argument("--viewer", choices=["admin", "analyst"], default="admin",
                    help="whose credentials --config-out uses")
    ap.add_argument("--config-out", default=None, help="write a connector config JSON here")
    ap.add_argument("--faults", default=None, help='a FaultPlan as JSON, e.g. \'{"rate_429": 0.1}\'')
    ap.add_argument("--settings", default=None, help="other emulator settings as JSON (see Emulator.configure)")
    args = ap.parse_args(argv)

    scale = Scale(cards=args.cards, dashboards=args.dashboards, collections=args.collections, users=args.users,
                  databases=args.databases, snippets=args.snippets,
                  dashcards_per_dashboard=args.dashcards_per_dashboard, segments=args.segments,
                  timelines=args.timelines, subscriptions=args.subscriptions)
    settings = json.loads(args.settings) if args.settings else {}
    if args.faults:
        settings["faults"] = FaultPlan.from_dict(json.loads(args.faults))
    t0 = time.monotonic()
    emu = Emulator(profile=args.profile, seed=args.seed, scale=scale, port=args.port,
                   latency_ms=args.latency_ms, **settings).start()
    started = time.monotonic() - t0
    creds = emu.credentials
    done = threading.Event()  # handlers first, so a SIGTERM right after the JSON line is clean
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    auth = args.auth or ("api_key" if get_profile(args.profile).api_keys else "password")
    if args.config_out:
        config = {"instance_api_url": emu.base_url + "/api/"}
        if auth == "api_key":
            config["api_key"] = creds["%s_api_key" % args.viewer]
        elif auth == "password":
            config.update(username=creds["%s_email" % args.viewer], password=creds["%s_password" % args.viewer])
        else:
            config["session_token"] = emu.mint_session(creds["%s_email" % args.viewer])
        with open(args.config_out, "w") as fh:
            json.dump(config, fh, indent=2)

    print(json.dumps({"base_url": emu.base_url, "instance_api_url": emu.base_url + "/api/",
                      "ca_bundle": emu.ca_bundle, "credentials": creds}), flush=True)

    key = creds["admin_api_key"]
    try:
        print("Metabase emulator %s (seed %d, %s) ready in %.1fs\n"
              "  API:       %s/api/\n"
              "  CA bundle: %s\n"
              "  admin:     %s / %s%s\n"
              "  try:       curl --cacert %s %s %s/api/card | head -c 300\n"
              "  log:       curl --cacert %s %s/__emulator__/requests\n"
              "  change:    curl --cacert %s -X POST %s/__emulator__/changes -d '{\"action\": \"edit\", "
              "\"stream\": \"cards\", \"ids\": [1]}'\n"
              "%s"
              "Stop with Ctrl-C." % (
                  args.profile, args.seed, scale, started, emu.base_url, emu.ca_bundle, creds["admin_email"],
                  creds["admin_password"], "\n  API key:   " + key if emu.profile.api_keys else "",
                  emu.ca_bundle, "-H 'X-API-Key: %s'" % key if emu.profile.api_keys else
                  "-H \"X-Metabase-Session: %s\"" % emu.mint_session(creds["admin_email"]), emu.base_url,
                  emu.ca_bundle, emu.base_url, emu.ca_bundle, emu.base_url,
                  "  config:    %s (%s)\n" % (args.config_out, auth) if args.config_out else ""), flush=True)
    except OSError:  # whoever started us stopped reading stdout: keep serving
        pass

    while not done.wait(0.5):
        pass
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
