"""Per-stream progress of a sync, read from the connector's stdout as it comes: streams started
and done (the STREAM_STATUS traces), records so far, and a line every few seconds while a stream
runs, so that a long sync (30,000 cards) never looks hung.

    python -m integration_tests.progress tee -- read --config c.json --catalog cat.json

runs the real connector CLI (`source-declarative-manifest ... --manifest-path manifest.yaml
--components-path components.py`) with those arguments, copies its stdout unchanged to its own
stdout and writes the progress lines to the file named by SOURCE_METABASE_PROGRESS (or to
stderr), timed from SOURCE_METABASE_PROGRESS_SINCE (a Unix time) if set. integration_tests/bin/source-metabase runs it, for PyAirbyte (`local_executable`)."""

import json
import logging
import os
import re
import subprocess
import sys
import time
from typing import IO, Optional

from integration_tests.connector import CLI, ROOT

RECORD = re.compile(rb'^\{"type":"RECORD","record":\{"stream":"([^"]*)"')
STATUS = b'"STREAM_STATUS"'
WARNING = re.compile(rb'"level":"(WARN|ERROR|FATAL)"')


class Progress:
    """Follows a read's messages line by line and prints what is going on."""

    def __init__(self, out: IO[str], every: float = 3.0, clock=time.time, started_at: Optional[float] = None) -> None:
        self.out = out
        self.every = every
        self.clock = clock
        self.started_at = clock() if started_at is None else started_at
        self.last_print = self.started_at
        self.records: dict = {}
        self.status: dict = {}  # stream -> STARTED / RUNNING / COMPLETE / INCOMPLETE

    def feed(self, line: bytes) -> None:
        match = RECORD.match(line)
        if match:
            stream = match.group(1).decode()
            self.records[stream] = self.records.get(stream, 0) + 1
        elif STATUS in line[:80]:
            self._on_status(json.loads(line)["trace"]["stream_status"])
        elif line.startswith(b'{"type":"LOG"') and WARNING.search(line[:60]):
            self.say("warning: " + json.loads(line)["log"]["message"])
        elif line.startswith(b'{"type":"TRACE"') and b'"type":"ERROR"' in line[:80]:
            error = json.loads(line)["trace"]["error"]
            self.say(f"error ({error.get('failure_type')}): {error['message']}")
        self.tick()

    def _on_status(self, stream_status: dict) -> None:
        name, status = stream_status["stream_descriptor"]["name"], stream_status["status"]
        previous = self.status.get(name)
        self.status[name] = status
        if status == "STARTED":
            self.say(f"started {name}")
        elif status == "COMPLETE":
            self.say(f"done    {name}: {self.records.get(name, 0):,} records")
        elif status == "INCOMPLETE":
            self.say(f"FAILED  {name} after {self.records.get(name, 0):,} records")
        elif status == "RUNNING" and previous == "STARTED":
            pass  # the first record is on its way; tick() reports the count

    def tick(self) -> None:
        """A line every `every` seconds with the streams still running."""
        now = self.clock()
        if now - self.last_print < self.every:
            return
        running = [name for name, status in self.status.items() if status in ("STARTED", "RUNNING")]
        done = sum(status == "COMPLETE" for status in self.status.values())
        if running:
            counts = ", ".join(f"{name} {self.records.get(name, 0):,}" for name in running)
            self.say(f"running {counts} | {done} of {len(self.status)} started streams done, "
                     f"{sum(self.records.values()):,} records")
        elif self.status:
            self.say(f"{done} streams done, {sum(self.records.values()):,} records; finishing")
        else:
            self.say("waiting for the connector to start its streams")

    def say(self, text: str) -> None:
        self.last_print = self.clock()
        self.out.write(f"[{self.last_print - self.started_at:6.1f}s] {text}\n")
        self.out.flush()

    def summary(self) -> str:
        return ", ".join(f"{name} {count:,}" for name, count in sorted(self.records.items()))


def connector_command(args: list) -> list:
    command, rest = args[0], args[1:]
    return [str(CLI), command, "--manifest-path", str(ROOT / "manifest.yaml"),
            "--components-path", str(ROOT / "components.py"), *rest]


def follow(process: subprocess.Popen, on_line, on_idle=None, idle_seconds: float = 1.0) -> None:
    """Reads the process's stdout to its end, line by line as it arrives; `on_idle` runs when the
    connector is quiet for `idle_seconds` (waiting for a big answer), so progress still shows."""
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    fd = process.stdout.fileno()
    pending: list = []
    while True:
        if not selector.select(timeout=idle_seconds):
            if on_idle:
                on_idle()
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        if b"\n" not in chunk:  # a long record: keep its pieces, join once
            pending.append(chunk)
            continue
        lines = (b"".join(pending) + chunk).split(b"\n")
        pending = [lines.pop()]
        for line in lines:
            on_line(line)
    if b"".join(pending):
        on_line(b"".join(pending))
    selector.close()


def print_spec() -> int:
    """`spec` as the connector's image answers it (the manifest's own spec): the CLI, without
    the image's bundled manifest, answers the generic spec of source-declarative-manifest."""
    import yaml
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.models import AirbyteMessage, Type
    from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource

    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    spec = ConcurrentDeclarativeSource(source_config=manifest).spec(logging.getLogger("airbyte"))
    print(AirbyteEntrypoint.airbyte_message_to_string(AirbyteMessage(type=Type.SPEC, spec=spec)))
    return 0


def tee(args: list) -> int:
    """Runs the connector with `args`; stdout copied through, progress to SOURCE_METABASE_PROGRESS."""
    if args[:1] == ["spec"]:
        return print_spec()
    target = os.environ.get("SOURCE_METABASE_PROGRESS")
    since = os.environ.get("SOURCE_METABASE_PROGRESS_SINCE")  # so that times count from the user's start
    out = open(target, "a", buffering=1) if target else sys.stderr
    process = subprocess.Popen(connector_command(args), stdout=subprocess.PIPE)
    progress = Progress(out, started_at=float(since) if since else None) if args[:1] == ["read"] else None
    stdout = sys.stdout.buffer

    def on_line(line: bytes) -> None:
        stdout.write(line + b"\n")
        if progress:
            progress.feed(line)

    try:
        follow(process, on_line, progress.tick if progress else None)
        stdout.flush()
    finally:
        process.wait()
        if progress:
            progress.say(f"connector finished ({progress.summary() or 'no records'})")
        if target:
            out.close()
    return process.returncode


def main() -> int:
    args = sys.argv[1:]
    if args[:1] != ["tee"]:
        print(__doc__, file=sys.stderr)
        return 2
    args = args[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    return tee(args)


if __name__ == "__main__":
    sys.exit(main())
