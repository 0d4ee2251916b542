"""The Connector Builder on a big instance: the CDK's real manifest server runs `test_read` for
every stream against the emulator, with the Builder's default limits (100 records, 5 pages,
5 slices), and this prints, per stream, the answer's size, its time, the records and response
bodies it holds, and the manifest server's peak memory.

    python -m integration_tests.builder_scale --cards 30000
    python -m integration_tests.builder_scale --cards 3000 --stream cards --json out.json

Not a test (integration_tests/test_connector_builder_scale.py asserts the bound at 3,000 cards).
Each stream gets a fresh manifest server, so its peak RSS (VmHWM, from the OS) is that
stream's alone; the emulator runs in a process of its own."""

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Optional

import requests
import yaml

from integration_tests.bench import EmulatorProcess
from integration_tests.connector import ROOT, STREAMS, connector_env

MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text())
COMPONENTS = (ROOT / "components.py").read_text()
# StreamTestReadRequest's defaults, what the Builder sends unless the user changes them.
LIMITS = {"record_limit": 100, "page_limit": 5, "slice_limit": 5}


def rss_mb(pid: int, key: str = "VmHWM") -> float:
    """The process's peak (VmHWM) or current (VmRSS) resident memory, in MB, from the OS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """Makes VmHWM start again from the current RSS (Linux 4.0+), so a peak is one request's."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@contextmanager
def manifest_server(ca_bundle: str, workdir: Optional[Path] = None):
    """`manifest-server start` on a free port, trusting the emulator's CA and allowed to run custom
    components, as the Builder's deployment is; its output goes to `workdir`/server.log (a
    temporary folder unless given). Yields (base URL, pid)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = connector_env(ca_bundle)
    env.pop("AB_JWT_SIGNATURE_SECRET", None)  # no bearer token needed
    with (nullcontext(str(workdir)) if workdir else tempfile.TemporaryDirectory(prefix="manifest-server-")) as workdir, \
            open(Path(workdir) / "server.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "airbyte_cdk.manifest_server.cli.run", "start",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if server.poll() is not None:
                    raise RuntimeError((Path(workdir) / "server.log").read_text()[-3000:])
                try:
                    if requests.get(url + "/health/", timeout=2).json() == {"status": "ok"}:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the manifest server did not start in 120 s")
                time.sleep(0.2)
            yield url, server.pid
        finally:
            server.terminate()
            server.wait(timeout=60)


def summarise(path: Path) -> dict:
    """Counts in a test_read answer (orjson: ijson takes minutes over a 400 MB body string)."""
    import orjson

    read = orjson.loads(path.read_bytes())
    pages = [page for slice_ in read["slices"] for page in slice_["pages"]]
    return {"records": sum(len(page["records"]) for page in pages), "pages": len(pages),
            "slices": len(read["slices"]), "max_page_records": max((len(p["records"]) for p in pages), default=0),
            "response_body_bytes": sum(len(((page.get("response") or {}).get("body") or "").encode())
                                       for page in pages),
            "limit_reached": read["test_read_limit_reached"],
            "errors": [log["message"][:300] for log in read["logs"] if log["level"] in ("ERROR", "FATAL")]}


def test_read(url: str, config: dict, stream: str, limits: dict = LIMITS, timeout: float = 3600,
              components: str = COMPONENTS) -> dict:
    """One test_read; the answer is streamed to a file, so this process holds none of it."""
    body = {"manifest": MANIFEST, "config": config, "stream_name": stream,
            "custom_components_code": components, **limits}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        started = time.monotonic()
        with requests.post(f"{url}/v1/manifest/test_read", json=body, stream=True, timeout=timeout) as answer:
            size = 0
            for chunk in answer.iter_content(1 << 20):
                out.write(chunk)
                size += len(chunk)
        seconds = time.monotonic() - started
        out.flush()
        result = {"status": answer.status_code, "answer_bytes": size, "seconds": seconds}
        if answer.status_code == 200:
            result.update(summarise(Path(out.name)))
        else:
            out.seek(0)
            result["error"] = out.read(2000).decode(errors="replace")
    return result


def measure(emulator: EmulatorProcess, streams: list, limits: dict = LIMITS, components: str = COMPONENTS,
            fresh_server: bool = True, quiet: bool = False) -> list:
    """test_read of each stream; with fresh_server, a new manifest server for each (no memory
    kept from the stream before), else one server, its peak reset before each read."""
    if not fresh_server:
        with manifest_server(emulator.ca_bundle) as (url, pid):
            return [read_one(emulator, url, pid, stream, limits, components, quiet) for stream in streams]
    rows = []
    for stream in streams:
        with manifest_server(emulator.ca_bundle) as (url, pid):
            rows.append(read_one(emulator, url, pid, stream, limits, components, quiet))
    return rows


def read_one(emulator: EmulatorProcess, url: str, pid: int, stream: str, limits: dict, components: str,
             quiet: bool) -> dict:
    config = {"instance_api_url": emulator.base_url + "/api/", "api_key": emulator.api_key}
    emulator.clear()
    reset_peak(pid)
    idle_mb = rss_mb(pid, "VmRSS")
    row = {"stream": stream, **test_read(url, config, stream, limits, components=components)}
    row["server_idle_rss_mb"] = idle_mb
    row["server_peak_rss_mb"] = rss_mb(pid)
    _, row["metabase_body_bytes"] = emulator.requests_by_kind()
    if not quiet:
        print_row(row)
    return row


def print_header() -> None:
    print(f"{'stream':<24}{'answer MB':>10}{'s':>8}{'records':>9}{'pages':>7}{'bodies MB':>10}"
          f"{'Metabase MB':>12}{'peak RSS MB':>12}{'idle MB':>8}  limit flag")


def print_row(row: dict) -> None:
    if row["status"] != 200:
        print(f"{row['stream']:<24} HTTP {row['status']}: {row['error'][:200]}")
        return
    print(f"{row['stream']:<24}{row['answer_bytes'] / 1e6:>10.2f}{row['seconds']:>8.1f}{row['records']:>9}"
          f"{row['pages']:>7}{row['response_body_bytes'] / 1e6:>10.2f}{row['metabase_body_bytes'] / 1e6:>12.2f}"
          f"{row['server_peak_rss_mb']:>12.0f}{row['server_idle_rss_mb']:>8.0f}  {row['limit_reached']}",
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=30000, help="emulator size, in cards")
    parser.add_argument("--profile", default="v0.57")
    parser.add_argument("--stream", action="append", help="only these streams (default: every stream)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--components", type=Path, default=ROOT / "components.py",
                        help="the custom code sent with each test_read (to compare a variant)")
    args = parser.parse_args()

    emulator = EmulatorProcess(args.cards, profile=args.profile)
    try:
        print(f"manifest server test_read, emulator {args.profile} with {args.cards} cards, limits {LIMITS}")
        print_header()
        rows = measure(emulator, args.stream or STREAMS, components=args.components.read_text())
    finally:
        emulator.stop()
    if args.json:
        args.json.write_text(json.dumps({"cards": args.cards, "limits": LIMITS, "rows": rows}, indent=2))
    return 0 if all(row["status"] == 200 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
