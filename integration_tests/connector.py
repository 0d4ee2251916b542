"""Runs the real connector, `source-declarative-manifest --manifest-path manifest.yaml
--components-path components.py`, as a subprocess, and reads back the messages it printed."""

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "source-declarative-manifest"
STREAMS = ["cards", "collections", "dashboards", "users", "databases", "native_query_snippets", "tables",
           "permission_groups", "dashboard_cards", "fields", "permission_group_memberships", "segments",
           "timelines", "timeline_events", "dashboard_subscriptions", "alerts", "documents", "transforms", "measures",
           "collection_permissions", "data_permissions", "query_executions"]
# Every stream's primary key is `id`, except these.
PRIMARY_KEYS = {"permission_group_memberships": ["membership_id"], "collection_permissions": ["group_id", "collection_id"],
                "data_permissions": ["group_id", "database_id", "permission", "schema_name", "table_id"]}
DELETED_AT = "_ab_cdc_deleted_at"  # set on deletion records only


def primary_key(stream: str) -> list:
    return PRIMARY_KEYS.get(stream, ["id"])


def key_of(stream: str, record: dict):
    """A record's primary key: its value, or a tuple of them (a null part is left out of the JSON)."""
    fields = primary_key(stream)
    return record.get(fields[0]) if len(fields) == 1 else tuple(record.get(field) for field in fields)


@dataclass
class Run:
    command: str
    returncode: int
    stdout: str
    stderr: str
    max_rss_kb: int = 0
    messages: list = field(default_factory=list)
    configured_catalog: Optional[dict] = None

    def __post_init__(self) -> None:
        for line in self.stdout.splitlines():
            if line.startswith("{"):
                try:
                    self.messages.append(json.loads(line))
                except ValueError:
                    pass

    def of_type(self, kind: str) -> list:
        return [m for m in self.messages if m.get("type") == kind]

    def records(self, stream: Optional[str] = None) -> list:
        """The records, deletion records left out (see deletions)."""
        return [r for r in self.all_records(stream) if DELETED_AT not in r]

    def all_records(self, stream: Optional[str] = None) -> list:
        return [
            m["record"]["data"]
            for m in self.of_type("RECORD")
            if stream is None or m["record"]["stream"] == stream
        ]

    def deletions(self, stream: Optional[str] = None) -> list:
        """The deletion records: a primary key, `_ab_cdc_deleted_at` and the cursor field."""
        return [r for r in self.all_records(stream) if DELETED_AT in r]

    def record_ids(self, stream: str) -> list:
        return id_order(key_of(stream, r) for r in self.records(stream))

    def deleted_ids(self, stream: str) -> list:
        return id_order(key_of(stream, r) for r in self.deletions(stream))

    @property
    def logs(self) -> list:
        return [m["log"] for m in self.of_type("LOG")]

    def log_lines(self, level: str) -> list:
        return [log["message"] for log in self.logs if log["level"] == level]

    @property
    def errors(self) -> list:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    @property
    def connection_status(self) -> dict:
        return self.of_type("CONNECTION_STATUS")[-1]["connectionStatus"]

    @property
    def catalog(self) -> dict:
        return self.of_type("CATALOG")[-1]["catalog"]

    def final_states(self) -> list:
        """The last STATE message of each stream, as a --state file for the next sync."""
        last = {}
        for message in self.of_type("STATE"):
            last[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]
        return list(last.values())

    def stream_state(self, stream: str) -> Optional[dict]:
        for state in self.final_states():
            if state["stream"]["stream_descriptor"]["name"] == stream:
                return state["stream"]["stream_state"]
        return None

    def stream_statuses(self, stream: str) -> list:
        return [
            m["trace"]["stream_status"]["status"]
            for m in self.of_type("TRACE")
            if m["trace"]["type"] == "STREAM_STATUS"
            and m["trace"]["stream_status"]["stream_descriptor"]["name"] == stream
        ]


def id_order(ids) -> list:
    """Ids in one order whatever their types (collections mix "root" with integers; composite keys)."""
    return sorted(ids, key=lambda value: (isinstance(value, (str, tuple)), repr(value) if isinstance(value, tuple) else value))


def connector_env(ca_bundle: Optional[str] = None, **extra: str) -> dict:
    env = dict(os.environ, AIRBYTE_ENABLE_UNSAFE_CODE="true", **extra)
    if ca_bundle:  # the emulator's throw-away CA, the way a real deployment trusts its own
        env.update(REQUESTS_CA_BUNDLE=ca_bundle, SSL_CERT_FILE=ca_bundle, CURL_CA_BUNDLE=ca_bundle)
    return env


def run_connector(
    command: str,
    config: Optional[dict] = None,
    catalog: Optional[dict] = None,
    ca_bundle: Optional[str] = None,
    debug: bool = False,
    timeout: float = 600,
    stdout_path: Optional[Path] = None,
    state: Optional[list] = None,
    manifest: Path = ROOT / "manifest.yaml",
    components: Optional[Path] = ROOT / "components.py",
) -> Run:
    """Runs one connector command (ours, or another manifest with its components.py if it has
    one); with stdout_path the output goes there and is not parsed."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(CLI), command, "--manifest-path", str(manifest)]
        if components:
            args += ["--components-path", str(components)]
        for option, value in (("config", config), ("catalog", catalog), ("state", state)):
            if value is not None:
                (Path(tmp) / f"{option}.json").write_text(json.dumps(value))
                args += [f"--{option}", str(Path(tmp) / f"{option}.json")]
        if debug:
            args.append("--debug")
        out_path = stdout_path or Path(tmp) / "stdout"
        with open(out_path, "wb") as out, open(Path(tmp) / "stderr", "wb") as err:
            process = subprocess.Popen(args, stdout=out, stderr=err, env=connector_env(ca_bundle), cwd=tmp)
            try:
                _, status, usage = wait_with_usage(process, timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
        stderr = (Path(tmp) / "stderr").read_text(errors="replace")
        stdout = "" if stdout_path else out_path.read_text(errors="replace")
        return Run(command, os.waitstatus_to_exitcode(status), stdout, stderr, usage.ru_maxrss)


def wait_with_usage(process: subprocess.Popen, timeout: float):
    """Waits for the child and returns its own resource usage (peak RSS from the OS)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return pid, status, usage
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(process.args, timeout)
        time.sleep(0.02)


def configured_catalog(catalog: dict, streams: Optional[list] = None, incremental: bool = False) -> dict:
    """Every stream (or those named) in full refresh; with incremental=True, the streams that
    offer it as Incremental | Append + Deduped on their source-defined cursor and key."""

    def configured(stream: dict) -> dict:
        if incremental and "incremental" in stream["supported_sync_modes"]:
            return {"stream": stream, "sync_mode": "incremental", "destination_sync_mode": "append_dedup",
                    "cursor_field": stream["default_cursor_field"],
                    "primary_key": stream["source_defined_primary_key"]}
        return {"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}

    return {"streams": [configured(s) for s in catalog["streams"] if streams is None or s["name"] in streams]}


_DISCOVERED: dict = {}


def discover_catalog() -> dict:
    """The catalog, discovered once per process: it depends on the manifest, not on the config."""
    if "catalog" not in _DISCOVERED:
        discovered = run_connector("discover", {"instance_api_url": "https://metabase.example.com"})
        assert discovered.returncode == 0, discovered.stdout[-2000:] + discovered.stderr[-2000:]
        _DISCOVERED["catalog"] = discovered.catalog
    return _DISCOVERED["catalog"]


def sync(config: dict, ca_bundle: Optional[str] = None, streams: Optional[list] = None,
         incremental: bool = False, **kwargs: Any) -> Run:
    """Read every stream (or those named) with the discovered catalog: in full refresh, or with
    incremental=True incrementally where a stream offers it (pass state=... to resume)."""
    catalog = configured_catalog(discover_catalog(), streams, incremental)
    run = run_connector("read", config, catalog, ca_bundle=ca_bundle, **kwargs)
    run.configured_catalog = catalog  # with the discovered schemas, to validate records against
    return run


def instant(value):
    """A Metabase timestamp as an aware datetime (zone-less H2 values are UTC); None if it is
    not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def cursor(stream_state):
    """The cursor value in a stream's state (partitioned streams keep it under `state`)."""
    if stream_state is None:
        return None
    return instant((stream_state.get("state") or stream_state).get("updated_at"))
